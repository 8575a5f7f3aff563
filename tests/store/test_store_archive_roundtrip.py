"""Export -> delete -> import gives back the very adapter: every metadata field, and the library's row."""

from __future__ import annotations

import shutil
from dataclasses import asdict
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lift_reader.core.workspace import Workspace
from lift_reader.store.adapters import AdapterMeta, read_meta, write_meta
from lift_reader.store.library import Library

names = st.text(st.characters(whitelist_categories=("Lu", "Ll", "Nd"), whitelist_characters=" -_.,'"),
                min_size=1, max_size=40).map(str.strip).filter(lambda n: n and not n.startswith("."))
losses = st.floats(min_value=0, max_value=20, allow_nan=False, allow_infinity=False)
metas = st.builds(
    AdapterMeta,
    name=names,
    base_model=st.fixed_dictionaries({"id": st.sampled_from(["embedded", "org/model"]),
                                      "fingerprint": st.text("0123456789abcdef", min_size=8, max_size=16)},
                                     optional={"revision": st.text("abc", max_size=5)}),
    book_hash=st.text("0123456789abcdef", min_size=64, max_size=64),
    book_title=st.text(max_size=60),
    settings=st.fixed_dictionaries({"learning_rate": st.floats(1e-6, 0.5), "epochs": st.integers(1, 9),
                                    "up_to_page": st.none() | st.integers(1, 900)}),
    loss_curve=st.lists(losses, max_size=30).map(lambda ls: [[i + 1, loss] for i, loss in enumerate(ls)]),
    steps=st.integers(0, 10**6),
    tokens_seen=st.integers(0, 10**9),
    duration_s=st.floats(0, 1e6, allow_nan=False),
    final_loss=st.none() | losses,
    created_at=st.datetimes().map(lambda d: d.isoformat(timespec="seconds") + "Z"),
    app_version=st.sampled_from(["0.1.0", "0.0.9"]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(meta=metas)
def test_export_then_import_gives_back_every_field(tmp_path: Path, adapter_folder, meta: AdapterMeta):
    folder = adapter_folder(name=meta.name)
    work = folder.with_name(folder.name + "-work")
    work.mkdir()
    write_meta(folder, meta)
    saved = read_meta(folder)
    with Library(work / "library.sqlite3") as lib:
        ws = Workspace(lib)
        lib.record_adapter(saved.name, saved.book_hash, saved.base_model_id, folder, steps=saved.steps,
                           final_loss=saved.final_loss, settings=saved.settings, created_at=saved.created_at)
        before = lib.get_adapter(saved.name)
        zip_path = ws.export_adapter(saved.name, work / "out.zip")
        ws.remove_adapter(saved.name)
        shutil.rmtree(folder, ignore_errors=True)
        imported = ws.import_adapter(zip_path, check_base=False)
        after = read_meta(imported.path)
        assert asdict(after) == asdict(saved)  # name, base model, book, settings, curve, loss, dates, versions
        for field in ("name", "book_hash", "base_model", "created_at", "steps", "final_loss", "settings"):
            assert getattr(imported, field) == getattr(before, field), field
        ws.remove_adapter(imported.name)  # the data folder is shared by the examples
