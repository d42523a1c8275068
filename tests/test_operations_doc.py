"""docs/operations.md names the tests that prove each promise: every test it names exists."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PAGE = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
NAMED = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")


def _named() -> list[tuple[str, str]]:
    return sorted(set(NAMED.findall(PAGE)))


def _tests_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


def test_the_page_names_tests() -> None:
    assert len(_named()) >= 30


@pytest.mark.parametrize(("file", "test"), _named(), ids=lambda value: value)
def test_every_test_the_page_names_exists(file: str, test: str) -> None:
    path = REPO / file
    assert path.is_file(), f"docs/operations.md names {file}, which does not exist"
    assert test in _tests_of(path), f"docs/operations.md names {file}::{test}, which does not exist"


def test_a_test_that_does_not_exist_is_found(tmp_path: Path) -> None:
    sample = tmp_path / "test_sample.py"
    sample.write_text("def test_real() -> None:\n    pass\n")
    assert "test_real" in _tests_of(sample) and "test_gone" not in _tests_of(sample)
