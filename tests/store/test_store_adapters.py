from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lift_reader import __version__
from lift_reader.errors import AdapterError, BadInputError
from lift_reader.store.adapters import (
    AdapterMeta,
    adapter_folder_for,
    folder_size,
    folder_slug,
    read_meta,
    remove_adapter_folder,
    update_meta_name,
    validate_adapter_folder,
    write_meta,
)
from lift_reader.store.records import validate_adapter_name


def test_meta_round_trip(adapter_folder) -> None:
    folder = adapter_folder()
    meta = read_meta(folder)
    assert meta.name == "Moby"
    assert meta.base_model_id == "google/gemma-3-270m" and meta.base_fingerprint.startswith("fp-gemma")
    assert meta.settings == {"lr": 1e-4, "rank": 4, "epochs": 2}
    # Written without a final loss (as adapters were before it was saved): the mean of the last 10 losses,
    # the value the library showed for them.
    assert meta.loss_curve == [[1, 3.25], [2, 2.5]] and meta.final_loss == 2.875
    assert meta.app_version == __version__ and meta.format_version == 1
    raw = json.loads((folder / "lift_adapter.json").read_text())
    assert set(raw) >= {"name", "base_model", "book_hash", "book_title", "settings", "loss_curve", "steps",
                        "tokens_seen", "duration_s", "final_loss", "created_at", "app_version", "format_version"}


def test_write_meta_makes_strict_json(tmp_path: Path) -> None:
    meta = AdapterMeta(name="N", base_model={"id": "m", "fingerprint": "f"}, book_hash="ab",
                       settings={"path": tmp_path, "warmup": float("inf"), "dims": (1, 2)},
                       loss_curve=[[1, float("nan")], [2, 1.0]])
    write_meta(tmp_path, meta)
    text = (tmp_path / "lift_adapter.json").read_text()
    assert "NaN" not in text and "Infinity" not in text
    back = read_meta(tmp_path)
    assert back.settings == {"path": str(tmp_path), "warmup": None, "dims": [1, 2]}
    assert back.loss_curve == [[1, None], [2, 1.0]]


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (None, "no lift_adapter.json"),
        ("{not json", "broken"),
        ('["a list"]', "broken"),
        ('{"base_model": {"id": "m", "fingerprint": "f"}, "book_hash": "x"}', "missing 'name'"),
        ('{"name": "a/b", "base_model": {"id": "m", "fingerprint": "f"}, "book_hash": "x"}', "broken"),
        ('{"name": "n", "base_model": "m", "book_hash": "x"}', "broken"),
        ('{"name": "n", "base_model": {"id": "m", "fingerprint": "f"}, "book_hash": "x", "format_version": 9}',
         "newer LIFT Reader"),
    ],
)
def test_read_meta_errors(tmp_path: Path, content: str | None, match: str) -> None:
    if content is not None:
        (tmp_path / "lift_adapter.json").write_text(content)
    with pytest.raises(AdapterError, match=match):
        read_meta(tmp_path)


def test_validate_good_folder(adapter_folder) -> None:
    folder = adapter_folder()
    assert validate_adapter_folder(folder) == folder
    # a plain peft folder without our metadata is still valid weights
    (folder / "lift_adapter.json").unlink()
    validate_adapter_folder(folder)


@pytest.mark.parametrize("pickle_name", ["adapter_model.bin", "training_args.bin", "x.pt", "x.PTH", "sub/x.pkl",
                                         "x.ckpt"])
def test_validate_refuses_pickles(adapter_folder, pickle_name: str) -> None:
    folder = adapter_folder()
    (folder / pickle_name).parent.mkdir(exist_ok=True)
    (folder / pickle_name).write_bytes(b"\x80\x04pickle")
    with pytest.raises(AdapterError, match="pickle-based weights are refused"):
        validate_adapter_folder(folder)


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda f: (f / "adapter_config.json").unlink(), "adapter_config.json is missing"),
        (lambda f: (f / "adapter_config.json").write_text("[]"), "adapter_config.json is broken"),
        (lambda f: (f / "adapter_model.safetensors").unlink(), "adapter_model.safetensors is missing"),
        (lambda f: (f / "adapter_model.safetensors").write_bytes(b"\xff" * 100), "damaged"),
        (lambda f: (f / "adapter_model.safetensors").write_bytes(b""), "damaged"),
    ],
)
def test_validate_refuses_broken_folders(adapter_folder, damage, match: str) -> None:
    folder = adapter_folder()
    damage(folder)
    with pytest.raises(AdapterError, match=match):
        validate_adapter_folder(folder)


def test_validate_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(AdapterError, match="not found"):
        validate_adapter_folder(tmp_path / "nope")


def test_folder_size(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"x" * 100)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b").write_bytes(b"y" * 23)
    (tmp_path / "link").symlink_to(tmp_path / "a")
    assert folder_size(tmp_path) == 123


def test_adapter_folder_for_is_safe_and_unique(home: Path) -> None:
    moby = adapter_folder_for("Moby Dick: 1st try!")
    assert moby.parent == home.resolve() / "adapters"
    assert moby.name.startswith("moby-dick-1st-try-")
    assert adapter_folder_for("Moby Dick: 1st try!") == moby  # deterministic
    names = ["Moby Dick: 1st try?", "moby dick 1st try", "Ünïcödé ✓", "日本語", "CON", "..a.."]
    folders = {adapter_folder_for(n).name for n in names} | {moby.name}
    assert len(folders) == len(names) + 1
    for name in folders:
        assert all(c.isascii() and (c.isalnum() or c in "-._") for c in name)
        assert not name.startswith(".") and len(name) <= 60
    with pytest.raises(BadInputError):
        adapter_folder_for("../escape")


def test_update_meta_name(adapter_folder) -> None:
    folder = adapter_folder()
    update_meta_name(folder, "White Whale")
    assert read_meta(folder).name == "White Whale"


def test_remove_adapter_folder(adapter_folder, tmp_path: Path) -> None:
    folder = adapter_folder()
    remove_adapter_folder(folder)
    assert not folder.exists() and list(folder.parent.iterdir()) == []
    remove_adapter_folder(folder)  # already gone: fine
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.txt").write_text("years of work")
    with pytest.raises(AdapterError, match="does not look like an adapter"):
        remove_adapter_folder(precious)
    assert (precious / "thesis.txt").exists()


@settings(max_examples=150, deadline=None)
@given(st.text(min_size=1, max_size=90))
def test_any_accepted_name_gets_a_safe_folder(name: str) -> None:
    try:
        cleaned = validate_adapter_name(name)
    except BadInputError:
        return
    slug = folder_slug(cleaned)
    assert re.fullmatch(r"[a-z0-9][a-z0-9._-]*-[0-9a-f]{8}", slug) or re.fullmatch(r"adapter-[0-9a-f]{8}", slug)
    assert adapter_folder_for(cleaned, "/adapters").parent == Path("/adapters")
