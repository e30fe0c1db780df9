"""The multi-model contract (developer guide, mms-container-apis), checked on images that carry the
multi-models label, started as SageMaker starts them for a multi-model endpoint (SAGEMAKER_MULTI_MODEL=true,
models under /opt/ml/models): load, list, invoke, unload, and 404 for a model not loaded. The model given
with --sagemaker-model-data is the one loaded. Images without the label are skipped."""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from contract_tests import calls
from contract_tests.launch import Launched, launch
from contract_tests.plan import Plan, Target
from contract_tests.verdicts import NEEDS_SAMPLE, violation
from emulator.artifacts import model_folder
from emulator.artifacts import MODELS_MOUNT
from emulator.containers.docker_backend import MULTI_MODEL_LABEL, DockerBackend
from emulator.errors import EmulatorError
from emulator.containers.sagemaker_env import SINGLE_CONTAINER_PORT

NOT_MULTI_MODEL = f"the image does not carry {MULTI_MODEL_LABEL}=true: no multi-model checks"
NEEDS_MODEL = "needs a model to load: pass --sagemaker-model-data PATH (a model.tar.gz or its folder)"
NOT_STARTED = "the container did not start in multi-model mode; test_multi_model_container_starts says why"
SHARED = "model-under-test"  # the one copy of the model; each name loaded links to it
ON_SAGEMAKER = "SageMaker drives a multi-model container through this API alone ({what})."


@dataclass
class MultiModel:
    launched: Launched
    folder: Path  # mounted at /opt/ml/models

    @property
    def url(self) -> str:
        return self.launched.url

    def load(self, name: str) -> calls.Answer:
        """POST /models as SageMaker sends it, for the model under a fresh folder name."""
        link = self.folder / name
        if not link.is_symlink():
            link.symlink_to(SHARED)  # relative: it resolves inside the container too
        body = json.dumps({"model_name": name, "url": f"{MODELS_MOUNT}/{name}/model"}).encode()
        return calls.request("POST", self.url + "/models", body=body, headers={"Content-Type": "application/json"})


@pytest.fixture(scope="session")
def multi_model(target: Target, backend: DockerBackend, plan: Plan,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[MultiModel]:
    try:
        if backend.image_labels(target.image).get(MULTI_MODEL_LABEL) != "true":
            pytest.skip(NOT_MULTI_MODEL)
        if not target.model_data:
            pytest.skip(NEEDS_MODEL)
        folder = tmp_path_factory.mktemp("models")
        shutil.copytree(model_folder(target.model_data), folder / SHARED / "model")
    except EmulatorError as exc:  # the image is missing, or the model artifact unusable: the user's input
        pytest.fail(str(exc), pytrace=False)
    folder.chmod(0o755)
    launched = launch(backend, target.image, role="multi-model", port=SINGLE_CONTAINER_PORT,
                      environment={**target.environment, "SAGEMAKER_MULTI_MODEL": "true"}, model=None, models=folder,
                      timeout=plan.startup_timeout)
    try:
        yield MultiModel(launched, folder)
    finally:
        if launched.container_id:
            backend.remove(launched.container_id, timeout=0)


@pytest.fixture
def models(multi_model: MultiModel) -> MultiModel:
    if not multi_model.launched.serving:
        pytest.skip(NOT_STARTED)
    return multi_model


def fresh() -> str:
    return f"check-{uuid.uuid4().hex[:8]}"


def test_multi_model_container_starts(target: Target, multi_model: MultiModel) -> None:
    if not multi_model.launched.serving:
        violation(f"Started with SAGEMAKER_MULTI_MODEL=true, {target.image} {multi_model.launched.problem}",
                  "SageMaker would fail CreateEndpoint for a multi-model endpoint with this image.",
                  "when SAGEMAKER_MULTI_MODEL=true, start the server with no model at /opt/ml/model and load models "
                  "only when POST /models asks.")


def test_loads_and_lists_a_model(models: MultiModel) -> None:
    name = fresh()
    answer = models.load(name)
    if not answer.ok:
        violation(f"POST /models for a model in {MODELS_MOUNT}/{name}/model got {answer}.",
                  "SageMaker would answer the caller's first invocation of the model with a ModelError.",
                  'answer POST /models {"model_name": ..., "url": ...} with 200 once the model in `url` is loaded.')
    listed = calls.request("GET", models.url + "/models")
    try:
        names = [model["modelName"] for model in json.loads(listed.body)["models"]]
    except (ValueError, KeyError, TypeError):
        names = None
    if names is None or name not in names:
        violation(f"GET /models after loading {name} got {listed}.", ON_SAGEMAKER.format(what="GET /models lists"),
                  'answer GET /models with {"models": [{"modelName": ..., "modelUrl": ...}]}.')


def test_a_second_load_of_a_loaded_model_answers_409(models: MultiModel) -> None:
    name = fresh()
    models.load(name)
    answer = models.load(name)
    if answer.status != 409:
        violation(f"Loading {name} twice got {answer} the second time.",
                  ON_SAGEMAKER.format(what="409 tells it the model is loaded already"),
                  "answer 409 Conflict to POST /models for a model_name that is loaded.")


def test_invokes_a_loaded_model(models: MultiModel, plan: Plan) -> None:
    if not plan.samples:
        pytest.skip(NEEDS_SAMPLE)
    name = fresh()
    models.load(name)
    for sample in plan.samples:
        answer = calls.request("POST", f"{models.url}/models/{name}/invoke", body=sample.body,
                               headers={"Content-Type": sample.content_type} if sample.content_type else {})
        if not answer.ok:
            violation(f"POST /models/{name}/invoke with {sample} got {answer}.",
                      "SageMaker would return ModelError (424) to every InvokeEndpoint naming this model.",
                      "answer POST /models/<model_name>/invoke as /invocations answers, with the model loaded "
                      "under that name.")


def test_unloads_a_model(models: MultiModel) -> None:
    name = fresh()
    models.load(name)
    unloaded = calls.request("DELETE", f"{models.url}/models/{name}")
    after = calls.request("GET", f"{models.url}/models/{name}")
    if not unloaded.ok or after.status != 404:
        violation(f"DELETE /models/{name} got {unloaded}; GET /models/{name} then got {after}.",
                  ON_SAGEMAKER.format(what="it unloads idle models with DELETE when memory runs short"),
                  "answer DELETE /models/<model_name> with 200 and forget the model: GET and invoke then answer 404.")


def test_a_model_not_loaded_answers_404(models: MultiModel) -> None:
    name = fresh()
    answers = {f"{method} /models/{name}{tail}": calls.request(method, f"{models.url}/models/{name}{tail}", body=body)
               for method, tail, body in (("GET", "", None), ("DELETE", "", None), ("POST", "/invoke", b"1"))}
    wrong = {call: answer for call, answer in answers.items() if answer.status != 404}
    if wrong:
        call, answer = next(iter(wrong.items()))
        violation(f"{call} for a model never loaded got {answer}.",
                  ON_SAGEMAKER.format(what="404 tells it to load the model first"),
                  "answer 404 for GET, DELETE and POST .../invoke of a model_name that is not loaded.")
