"""The SageMaker SDK v3's virtualenv: v3 cannot be installed beside the v2 the other tests use.

It lives in the user's cache, one per content of tests/sdk3/requirements.txt, so that every clone after the
first (each clean CI run) reuses it instead of installing v3's hundred packages again. `.ci/run` makes it
beside the image builds (`python3 tests/sdk3/venv.py`); tests/test_sagemaker_sdk_v3.py asks for it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

REQUIREMENTS = Path(__file__).with_name("requirements.txt")
COMPLETE = ".complete"  # written once pip succeeded: a half-made virtualenv is made again


def location() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    digest = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:12]
    return cache / "sagemaker-emulator" / f"venv-sdk3-{digest}"


def ensure() -> Path:
    """The virtualenv's interpreter, made first when missing or half made. RuntimeError says what failed."""
    venv = location()
    python = venv / "bin" / "python"
    if (venv / COMPLETE).exists():
        return python
    shutil.rmtree(venv, ignore_errors=True)
    steps = [[sys.executable, "-m", "venv", str(venv)],
             [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", str(REQUIREMENTS)]]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=900)
        if done.returncode:
            raise RuntimeError(f"making the SDK v3's virtualenv failed: {' '.join(step)}\n{done.stdout}\n{done.stderr}")
    (venv / COMPLETE).touch()
    return python


if __name__ == "__main__":
    print(f"the SageMaker SDK v3's virtualenv: {ensure().parent.parent}")
