from __future__ import annotations

from pathlib import Path

import platformdirs
import pytest

from lift_reader.errors import StoreError
from lift_reader.store import paths


def test_env_var_decides_data_home_and_everything_under_it(home: Path) -> None:
    assert not home.exists()
    assert paths.data_home() == home.resolve()
    assert home.is_dir()
    for folder in (paths.models_dir(), paths.adapters_dir(), paths.checkpoints_dir(), paths.logs_dir()):
        assert folder.is_dir()
        assert folder.parent == home.resolve()
    assert paths.library_db_path() == home.resolve() / "library.sqlite3"
    assert not paths.library_db_path().exists()  # the Library creates it, not paths


def test_platformdirs_used_without_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIFT_READER_HOME", raising=False)
    calls = []

    def fake(kind: str):
        def dirs(appname: str, appauthor: object = None) -> str:
            calls.append((kind, appname, appauthor))
            return str(tmp_path / kind)

        return dirs

    monkeypatch.setattr(platformdirs, "user_data_dir", fake("data"))
    monkeypatch.setattr(platformdirs, "user_log_dir", fake("log"))
    assert paths.data_home() == tmp_path / "data"
    assert paths.logs_dir() == tmp_path / "log"
    assert calls == [("data", "lift-reader", False), ("log", "lift-reader", False)]


def test_blank_env_var_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIFT_READER_HOME", "  ")
    monkeypatch.setattr(platformdirs, "user_data_dir", lambda *a, **k: str(tmp_path / "data"))
    assert paths.data_home() == tmp_path / "data"


def test_file_in_the_way_is_a_store_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "home"
    blocker.write_text("not a folder")
    monkeypatch.setenv("LIFT_READER_HOME", str(blocker))
    with pytest.raises(StoreError, match="in the way"):
        paths.data_home()
