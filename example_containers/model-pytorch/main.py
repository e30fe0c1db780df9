"""The penguins species classifier as a small PyTorch network on the preprocessor's features, CPU only.

`train` fits a one-hidden-layer network on the headerless CSV rows `species,feature...` of the `train`
channel and saves it as TorchScript, the species names and the feature count inside the same file.
`serve` loads that file once per server process and answers as the scikit-learn model does
(CSV: the species a line; JSON: species and probabilities).
"""
import json

import numpy as np
import torch

import sagemaker_serving as serving

MODEL_FILE = serving.MODEL_DIR / "model.pt"
METADATA_ENTRY = "penguins.json"  # an extra file inside the TorchScript archive
HIDDEN = 16
EPOCHS = 300

torch.set_num_threads(1)  # tiny batches: threads would only contend with the other containers


def train() -> None:
    torch.manual_seed(0)
    rows = np.concatenate([np.loadtxt(path, delimiter=",", dtype=str, ndmin=2) for path in serving.training_files()])
    classes, labels = np.unique(rows[:, 0], return_inverse=True)
    features = torch.tensor(rows[:, 1:].astype(np.float32))
    targets = torch.tensor(labels)
    network = torch.nn.Sequential(
        torch.nn.Linear(features.shape[1], HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, len(classes)))
    optimizer = torch.optim.Adam(network.parameters(), lr=0.01)
    for _ in range(EPOCHS):  # the whole data set is one batch
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(network(features), targets)
        loss.backward()
        optimizer.step()
    network.eval()
    torch.jit.save(torch.jit.script(network), str(MODEL_FILE),
                   _extra_files={METADATA_ENTRY: json.dumps({"classes": classes.tolist(), "features": features.shape[1]})})
    print(f"saved {MODEL_FILE} ({len(rows)} rows, loss {loss.item():.4f}, classes {', '.join(classes)})")


def create_app():
    """The model server, with the TorchScript network in /opt/ml/model loaded once, here."""
    extra_files = {METADATA_ENTRY: ""}
    network = torch.jit.load(str(MODEL_FILE), map_location="cpu", _extra_files=extra_files)
    metadata = json.loads(extra_files[METADATA_ENTRY])

    def predict_proba(features: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            return torch.softmax(network(torch.tensor(features, dtype=torch.float32)), dim=1).numpy()

    return serving.create_classifier_app(__name__, metadata["classes"], predict_proba, metadata["features"])


if __name__ == "__main__":
    serving.run(train=train)
