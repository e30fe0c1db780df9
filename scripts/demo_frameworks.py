"""Four main models behind one preprocessor: serve the pipelines side by side, classify the same held-out rows
with each through boto3, show each pipeline's hops and timings, then the XGBoost charset pitfall and its fix,
and the TensorFlow container refusing the preprocessor's CSV and its fix."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from emulator import Emulator
from emulator.invocation.chain import InvocationFailed
from emulator.definition import load_file
from emulator.trace import format_hops

EXAMPLES = Path(__file__).resolve().parent.parent / "example_containers"
DATA = EXAMPLES / "artifacts" / "data"
# Endpoint -> (definition, what its model is)
PIPELINES = {
    "penguins": ("pipeline.yaml", "scikit-learn"),
    "penguins-xgboost": ("pipeline-xgboost.yaml", "XGBoost"),
    "penguins-pytorch": ("pipeline-pytorch.yaml", "PyTorch"),
    "penguins-tensorflow": ("pipeline-tensorflow.yaml", "TensorFlow"),
}
CHARSET = "penguins-xgboost-charset"
TENSORFLOW_CSV = "penguins-tensorflow-csv"
SHOWN = 6


def main() -> int:
    rows = (DATA / "holdout-features.csv").read_text().splitlines()
    labels = (DATA / "holdout-labels.csv").read_text().splitlines()
    species = sorted(set(labels))  # XGBoost answers class indices in this order, as the built-in algorithm does
    files = [file for file, _ in PIPELINES.values()] + ["pipeline-xgboost-charset.yaml", "pipeline-tensorflow-csv.yaml"]
    definitions = [endpoint for file in files for endpoint in load_file(EXAMPLES / file)]
    with Emulator(definitions, progress=lambda m: print(f"  {m}", file=sys.stderr)) as emulator:
        url = emulator.serve()
        client = emulator.boto3_client()
        print(f"\nOne preprocessor, four main models, served side by side on {url}:")
        for endpoint, (file, framework) in PIPELINES.items():
            print(f"  {endpoint:20} preprocessor -> {framework:12} ({file})")

        answers, traces = {}, {}
        for endpoint in PIPELINES:
            answer = client.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Accept=accept(endpoint),
                                            Body="\n".join(rows).encode())
            answers[endpoint] = species_of(endpoint, answer["Body"].read().decode(), species)
            traces[endpoint] = json.loads(answer["ResponseMetadata"]["HTTPHeaders"]["x-emulator-trace"])

        print("\nThe same held-out rows (no model trained on them), classified by each\n"
              "(XGBoost's class index -> name, TensorFlow's {\"predictions\": [{\"species\": ..}]} -> the species):")
        header = f"  {'row':38} " + " ".join(f"{PIPELINES[e][1]:12}" for e in PIPELINES) + " true species"
        print(header)
        for number in (round(i * (len(rows) - 1) / (SHOWN - 1)) for i in range(SHOWN)):  # first to last: all species
            print(f"  {rows[number]:38} " + " ".join(f"{answers[e][number]:12}" for e in PIPELINES) + f" {labels[number]}")
        print(f"  accuracy on all {len(rows)} held-out rows: " + ", ".join(
            f"{PIPELINES[e][1]} {sum(map(str.__eq__, answers[e], labels)) / len(labels):.1%}" for e in PIPELINES))

        for endpoint in PIPELINES:
            print(f"\n{endpoint}: each hop of that request ({len(rows)} rows)")
            print(format_hops(traces[endpoint]))

        print(f"\nThe pitfall: {CHARSET} is the XGBoost pipeline without the fix.")
        try:
            client.invoke_endpoint(EndpointName=CHARSET, ContentType="text/csv", Body=rows[0].encode())
        except client.exceptions.ModelError as error:
            print(f"  boto3: ModelError: {error.response['Error']['Message']}")
        try:
            emulator[CHARSET].invoke(rows[0], content_type="text/csv")
        except InvocationFailed as failed:
            print("  The same request, hop by hop (Emulator.invoke):")
            print(format_hops([hop.to_dict() for hop in failed.hops]))
        print("  The preprocessor (Flask, `mimetype=`) answers 'text/csv; charset=utf-8'; SageMaker hands that header\n"
              "  verbatim to the next container, and XGBoost compares it whole. The fix, in pipeline-xgboost.yaml:\n"
              "  the preprocessor answers the bare type (BARE_CONTENT_TYPE: \"true\", i.e. Flask's `content_type=`).")

        print(f"\nThe TensorFlow mismatch: {TENSORFLOW_CSV} hands the TensorFlow model the preprocessor's CSV.")
        try:
            client.invoke_endpoint(EndpointName=TENSORFLOW_CSV, ContentType="text/csv", Body=rows[0].encode())
        except client.exceptions.ModelError as error:
            print(f"  boto3: ModelError: {error.response['Error']['Message']}")
        print("  SageMaker's TensorFlow Serving container accepts exactly application/json, application/jsonlines,\n"
              "  application/jsons or text/csv. The fix, in pipeline-tensorflow.yaml: the preprocessor answers JSON\n"
              "  instances (SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT: application/json),\n"
              "  {\"instances\": [{\"features\": [..]}]}, which TF Serving maps to the SavedModel's input\n"
              "  named `features`.")
    print("\nStopped; no container is left.")
    return 0


def accept(endpoint: str) -> str:
    """TensorFlow Serving answers JSON whatever the Accept; the others answer CSV, one species a line."""
    return "application/json" if "tensorflow" in endpoint else "text/csv"


def species_of(endpoint: str, body: str, species: list[str]) -> list[str]:
    if "tensorflow" in endpoint:
        return [prediction["species"] for prediction in json.loads(body)["predictions"]]
    return [species[int(float(line))] if "xgboost" in endpoint else line for line in body.split()]


if __name__ == "__main__":
    sys.exit(main())
