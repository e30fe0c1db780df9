"""The front of SageMaker's TensorFlow Serving container (nginx + `tensorflowServing.js` in
aws/sagemaker-tensorflow-serving-container): what it makes of an /invocations request before
TensorFlow Serving's REST predict API sees it, and the Content-Type of its answer.

- The Content-Type header is compared whole: `application/json`, `application/jsonlines`,
  `application/jsons` or `text/csv`; anything else, `text/csv; charset=utf-8` included, is
  415 `{"error": "Unsupported Media Type: <header>"}`.
- JSON naming `instances`, `inputs` or `examples` goes as it is; JSON Lines become one
  `{"instances": [line, ...]}`; any other JSON is wrapped as `{"instances": [value]}`
  (a list of lists as `{"instances": value}`).
- CSV rows become instances: a row of several columns a list, one column a value; rows whose first
  field is not a number are read as strings (the real script quotes only the first comma, a bug we
  do not copy).
- The answer is TF Serving's JSON; its Content-Type is the first Accept entry when any entry is
  `application/json` or `application/jsonlines`, else `application/json`.
"""
from __future__ import annotations

import json
import re

JSON_TYPES = ("application/json", "application/jsonlines", "application/jsons")
CSV = "text/csv"
TFS_JSON = re.compile(r'"(instances|inputs|examples)"\s*:')
JSON_LINES = re.compile(r"[}\]]\s*[\[{]")  # values separated only by whitespace
LIST_OF_LISTS = re.compile(r"^\s*\[\s*\[")
NUMERIC_FIRST_FIELD = re.compile(r'^\s*("|[\d.Ee+\-]+.*)')


class UnsupportedMediaType(Exception):
    status = 415

    def __init__(self, content_type: str | None):
        super().__init__(f"Unsupported Media Type: {content_type or 'Unknown'}")


def tfs_request(body: str, content_type: str | None) -> str:
    """The body TF Serving's predict API receives for this /invocations request."""
    if content_type in JSON_TYPES:
        return json_request(body)
    if content_type == CSV:
        return csv_request(body)
    raise UnsupportedMediaType(content_type)


def json_request(body: str) -> str:
    if TFS_JSON.search(body):
        return body
    if JSON_LINES.search(body):
        lines = [line.strip() for line in body.strip().splitlines() if line.strip()]
        return '{"instances":' + ("[" + ",".join(lines) + "]" if len(lines) != 1 else lines[0]) + "}"
    return '{"instances":' + (body if LIST_OF_LISTS.match(body) else "[" + body + "]") + "}"


def csv_request(body: str) -> str:
    quoted = not NUMERIC_FIRST_FIELD.match(body)
    instances = []
    for line in (line.strip() for line in body.strip().splitlines()):
        if not line:
            continue
        fields = [json.dumps(field) for field in line.split(",")] if quoted else line.split(",")
        instances.append(f"[{','.join(fields)}]" if len(fields) > 1 else fields[0])
    return '{"instances":[' + ",".join(instances) + "]}"


def answer_content_type(accept: str | None) -> str:
    entries = re.sub(r"\s", "", accept or "").split(",")
    if "application/jsonlines" in entries or "application/json" in entries:
        return entries[0]
    return "application/json"
