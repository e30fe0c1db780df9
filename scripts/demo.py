"""The example pipeline end to end: serve it, call it with an unchanged boto3 client, show each hop,
then prove that real-time preprocessing equals the batch transform the model was trained on."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from emulator import Emulator
from emulator.hosting.batch import load_model
from emulator.hosting.parity import check_parity
from emulator.trace import format_hops

EXAMPLES = Path(__file__).resolve().parent.parent / "example_containers"
ROWS = 5


def main() -> int:
    rows = (EXAMPLES / "artifacts/data/penguins-features.csv").read_text().splitlines()[::70][:ROWS]
    labels = (EXAMPLES / "artifacts/data/penguins-labels.csv").read_text().splitlines()[::70][:ROWS]
    with Emulator(EXAMPLES / "pipeline.yaml", progress=lambda m: print(f"  {m}", file=sys.stderr)) as emulator:
        url = emulator.serve()
        print(f"\nThe penguins pipeline (preprocessor -> model) serves the sagemaker-runtime API on {url}")
        client = emulator.boto3_client()
        answer = client.invoke_endpoint(EndpointName="penguins", ContentType="text/csv", Accept="application/json",
                                        Body="\n".join(rows).encode())
        predictions = json.loads(answer["Body"].read())["predictions"]
        print("\nboto3 invoke_endpoint, real penguin rows -> predicted species (true species):")
        for row, prediction, label in zip(rows, predictions, labels):
            print(f"  {row:40} -> {prediction['species']:10} ({label})")
        print("\nWhat each container received and returned:")
        print(format_hops(json.loads(answer["ResponseMetadata"]["HTTPHeaders"]["x-emulator-trace"])))
    print("\nStopped; no container is left.")
    print("\nParity: each raw row alone through the preprocessor, against one batch transform of them all ...")
    preprocessor = load_model(EXAMPLES / "pipeline.yaml", "penguins").containers[0]
    model = load_model({"PrimaryContainer": {"Image": preprocessor.image, "ModelDataUrl": preprocessor.model_data}}, None)
    report = check_parity(model, EXAMPLES / "artifacts/data/penguins-features.csv")
    print(report.explain())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
