"""The examples of docs/deploy-scripts.md and docs/pytest-plugin.md are real tests: this folder's files read
exactly as a user's would."""

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.docker)


@pytest.fixture(autouse=True)
def _example_images_built(example_images):
    """The images a user would have built in CI before running pytest."""
