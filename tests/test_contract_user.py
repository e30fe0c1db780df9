"""The contract suite reports an image whose non-root USER cannot read the model as SageMaker lays it out (root's
files, the archive's modes), and one whose USER names nobody; a model readable by all passes. The images are made
offline (tests.conftest.load_image): the check reads them, it starts nothing."""

from __future__ import annotations

import io
import tarfile

import pytest

from tests.conftest import load_image

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.docker

CHECK = "test_user_can_read_the_model"
PASSWD = b"root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n"
GROUP = b"root:x:0:\napp:x:1000:\n"


def model_archive(folder, modes: dict[str, int]):
    """A model.tar.gz whose files have these modes (what `tar` keeps of a laptop's files)."""
    path = folder / "model.tar.gz"
    with tarfile.open(path, "w:gz") as archive:
        for name, mode in modes.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = 5, mode
            archive.addfile(info, io.BytesIO(b"model"))
    return path


@pytest.fixture(scope="module")
def app_image(docker_engine) -> str:
    return load_image(docker_engine, "sagemaker-emulator/test-user-app:1", user="app",
                      files={"etc/passwd": PASSWD, "etc/group": GROUP})


def run_check(pytester, image: str, model) -> pytest.RunResult:
    return pytester.runpytest("--pyargs", "contract_tests", "--sagemaker-image", image, "--sagemaker-model-data",
                              str(model), "-k", CHECK, "-p", "no:cacheprovider")


def test_a_non_root_user_that_cannot_read_the_model_is_reported(pytester, app_image, tmp_path):
    result = run_check(pytester, app_image, model_archive(tmp_path, {"weights.bin": 0o600, "config.json": 0o644}))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        f"*{app_image} runs as USER app (uid 1000, groups 1000), which cannot read 1 of the model's files at "
        "/opt/ml/model: weights.bin (mode 0600).",
        "*SageMaker starts the container as its USER*Permission denied*",
        "Fix: make the model readable by all before packing it (`chmod -R a+rX model_dir*"])


def test_a_model_readable_by_all_passes(pytester, app_image, tmp_path):
    run_check(pytester, app_image, model_archive(tmp_path, {"weights.bin": 0o644})).assert_outcomes(passed=1)


def test_a_user_the_image_does_not_list_is_reported(pytester, docker_engine, tmp_path):
    image = load_image(docker_engine, "sagemaker-emulator/test-user-ghost:1", user="ghost",
                       files={"etc/passwd": PASSWD})
    result = run_check(pytester, image, model_archive(tmp_path, {"weights.bin": 0o644}))
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([f"*{image}: USER ghost: the image's /etc/passwd has no user 'ghost'.",
                                 "*unable to find user*", "Fix: create the user in the Dockerfile*"])


def test_an_image_run_as_root_passes_without_reading_anything(pytester, tmp_path):
    result = run_check(pytester, "sagemaker-emulator/example-preprocessor:1",
                       model_archive(tmp_path, {"weights.bin": 0o600}))
    result.assert_outcomes(passed=1)
