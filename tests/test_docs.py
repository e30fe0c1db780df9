"""The documentation site (docs/, mkdocs.yml) builds with no warning, and what its pages and the README point at
exists: the tests that back each page, the files they name, the pages the README links."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
# A repository path a page names in backticks, e.g. `tests/test_cli.py` or `example_containers/pipeline.yaml`.
REPOSITORY_PATH = re.compile(r"`((?:tests|example_containers|bench|scripts|emulator|contract_tests|docs)/[\w./-]*)`")
TEST_FILE = re.compile(r"`(tests/[\w/]*test_\w+\.py)`")
RELATIVE_LINK = re.compile(r"\]\((?!https?:|#|mailto:)([^)#\s]+)")
# Made by example_containers/build, not kept in the repository.
BUILT = "example_containers/artifacts/"


def pages() -> list[Path]:
    return sorted(DOCS.glob("*.md"))


def nav_pages() -> set[str]:
    def walk(entries):
        for entry in entries:
            for value in entry.values() if isinstance(entry, dict) else [entry]:
                yield from walk(value) if isinstance(value, list) else [value]

    # The theme's own tags (!!python/name:...) need not resolve to read the nav.
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("", lambda loader, suffix, node: None)
    return set(walk(yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=Loader)["nav"]))


def test_the_site_builds_strict_a_broken_link_or_an_unlisted_page_fails_it(tmp_path):
    built = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                           cwd=ROOT, capture_output=True, text=True, timeout=120,
                           env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})  # no notice about MkDocs 2 in stderr
    assert built.returncode == 0, built.stdout + built.stderr
    assert "WARNING" not in built.stderr, built.stderr
    assert (tmp_path / "site" / "deploy-scripts" / "index.html").is_file()


def test_a_broken_link_fails_the_build(tmp_path):
    """The strict build is only worth running if it refuses what it should: a copy of the site with one bad link."""
    copy = tmp_path / "copy"
    (copy / "docs").mkdir(parents=True)
    for page in DOCS.iterdir():
        (copy / "docs" / page.name).write_bytes(page.read_bytes())
    (copy / "mkdocs.yml").write_text((ROOT / "mkdocs.yml").read_text())
    boto3_page = copy / "docs" / "boto3.md"
    boto3_page.write_text(boto3_page.read_text() + "\n[gone](no-such-page.md) and [here](sdks.md#no-such-heading)\n")
    built = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                           cwd=copy, capture_output=True, text=True, timeout=120)
    assert built.returncode != 0
    assert "no-such-page.md" in built.stderr and "no-such-heading" in built.stderr


@pytest.mark.parametrize("page", pages(), ids=lambda page: page.name)
def test_each_page_names_the_tests_that_back_it_and_they_exist(page):
    text = page.read_text()
    named = TEST_FILE.findall(text)
    assert named, f"{page.name} names no test file (`tests/...py`): name the tests that back its examples"
    missing = [path for path in REPOSITORY_PATH.findall(text)
               if not path.startswith(BUILT) and not any(ROOT.glob(path.rstrip("/")))]
    assert not missing, f"{page.name} names files that do not exist: {missing}"


def test_the_readme_is_short_and_links_every_page_of_the_site():
    text = README.read_text()
    assert len(text.splitlines()) < 200, "the README keeps what a newcomer needs; the manual is docs/"
    linked = set(RELATIVE_LINK.findall(text))
    broken = [target for target in linked if not (ROOT / target).exists()]
    assert not broken, f"the README links files that do not exist: {broken}"
    unlinked = {f"docs/{page}" for page in nav_pages()} - linked - {"docs/index.md"}
    assert not unlinked, f"the README links no {sorted(unlinked)}: add them to its Documentation list"
