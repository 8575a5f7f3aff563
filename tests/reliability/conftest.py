"""Fixtures for the reliability suite: the bad-book corpus, built once per session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # corpus.py, crash_worker.py, rel_helpers.py

from corpus import Case, build_corpus  # noqa: E402


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> list[Case]:
    """Every bad input, built once per test session."""
    return build_corpus(tmp_path_factory.mktemp("bad-books"))
