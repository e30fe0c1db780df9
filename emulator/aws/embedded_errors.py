"""The errors the embedded S3, STS, CloudWatch Logs and CloudWatch answer where moto does not, each in its service's
protocol: S3's REST-XML `<Error>`, STS's query `<ErrorResponse>`, CloudWatch Logs' JSON 1.1, CloudWatch's JSON 1.0
(or its query `<ErrorResponse>` to an older client), as botocore parses each."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from xml.sax.saxutils import escape

from emulator.seam.wire_errors import JSON_1_1, MESSAGE_LIMIT, REQUEST_ID, S3_REQUEST_ID

QUERY_NAMESPACES = {"sts": "https://sts.amazonaws.com/doc/2011-06-15/",
                    "monitoring": "http://monitoring.amazonaws.com/doc/2010-08-01/"}
JSON_1_0 = "application/x-amz-json-1.0"
# Characters XML 1.0 cannot hold (controls, lone surrogates): a message quoting the request may carry them.
NOT_XML = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
STATUS_TEXT = {400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}


@dataclass(frozen=True)
class AwsError:
    service: str  # s3, sts, logs, monitoring, application-autoscaling
    status: int
    code: str
    message: str
    query: bool = False  # CloudWatch called with the query protocol (older clients): answered in XML

    def render(self, request_id: str) -> tuple[str, list[tuple[str, str]], bytes]:
        """The status line, headers and body of this error as `service` sends it."""
        message = NOT_XML.sub("?", self.message[:MESSAGE_LIMIT])
        if self.service in ("logs", "application-autoscaling"):  # JSON 1.1
            body = json.dumps({"__type": self.code, "message": message}).encode()
            headers = [("Content-Type", JSON_1_1), ("x-amzn-ErrorType", self.code), (REQUEST_ID, request_id)]
        elif self.service == "monitoring" and not self.query:
            body = json.dumps({"__type": self.code, "message": message}).encode()
            headers = [("Content-Type", JSON_1_0), ("x-amzn-query-error", f"{self.code};Sender"), (REQUEST_ID, request_id)]
        elif self.service in QUERY_NAMESPACES:
            body = (f'<ErrorResponse xmlns="{QUERY_NAMESPACES[self.service]}"><Error><Type>Sender</Type><Code>{escape(self.code)}</Code>'
                    f"<Message>{escape(message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>").encode()
            headers = [("Content-Type", "text/xml"), (REQUEST_ID, request_id)]
        else:
            body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{escape(self.code)}</Code>'
                    f"<Message>{escape(message)}</Message><RequestId>{request_id}</RequestId></Error>").encode()
            headers = [("Content-Type", "application/xml"), (S3_REQUEST_ID, request_id)]
        headers.append(("Content-Length", str(len(body))))
        return f"{self.status} {STATUS_TEXT.get(self.status, 'Error')}", headers, body
