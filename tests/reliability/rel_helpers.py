"""Helpers for the reliability suite: CLI runs (in-process and real), library checks.

A module of its own (not conftest.py): several test folders have a conftest,
so ``from conftest import ...`` would pick whichever was imported first.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SAMPLE_STORY = REPO / "resources" / "samples" / "the-lighthouse-keepers-ledger.txt"


def integrity_check(db_path: Path) -> str:
    """SQLite's own verdict on the library file ("ok" when intact), from a separate connection."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return "; ".join(row[0] for row in conn.execute("PRAGMA integrity_check"))
    finally:
        conn.close()


@dataclass
class CliResult:
    code: int
    out: str
    err: str


def run_cli_in_process(argv: list[str], capsys, monkeypatch) -> CliResult:
    """``lift_reader.cli.main(argv)`` in this process, as the command would run it.

    The CLI configures logging and quietens libraries for the whole process;
    those global changes are undone by monkeypatch after the test.
    """
    from lift_reader import cli

    monkeypatch.setattr(logging, "basicConfig", lambda **kwargs: None)
    monkeypatch.setenv("TRANSFORMERS_VERBOSITY", os.environ.get("TRANSFORMERS_VERBOSITY", "error"))
    capsys.readouterr()
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse refusing the arguments
        code = exc.code if isinstance(exc.code, int) else 2
    captured = capsys.readouterr()
    return CliResult(code, captured.out, captured.err)


def run_cli(*args: str, home: Path, timeout: float = 240, env: dict | None = None) -> subprocess.CompletedProcess:
    """``python -m lift_reader ARGS`` in a subprocess with its own data folder."""
    full_env = dict(os.environ, LIFT_READER_HOME=str(home), **(env or {}))
    return subprocess.run([sys.executable, "-m", "lift_reader", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout, cwd=REPO)


def assert_one_line_error(err: str, *, code: int, expected_code: int = 2) -> None:
    assert code == expected_code, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
