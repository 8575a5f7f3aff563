"""Tools > Adapters: Export GGUF… (a folder for llama.cpp and Ollama, or one readable refusal) and
Import folder… (a peft adapter made elsewhere, for a book the reader picks)."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QFileDialog

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "interop"))  # gguf_fakes.py


def _wait_idle(qtbot, dialog):
    qtbot.waitUntil(lambda: not dialog._busy, timeout=30_000)


def test_export_gguf_writes_the_lora_and_modelfile_or_says_why_not(qtbot, session, tiny_parts, memorized_story,
                                                                   monkeypatch, tmp_path, dialogs):
    from gguf_fakes import write_base_gguf

    from lift_reader.gui.adapters_dialog import AdaptersDialog
    from lift_reader.store.adapters import read_meta, write_meta

    dialog = AdaptersDialog(session)
    qtbot.addWidget(dialog)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path))
    dialog.select_name("Ledger v1")
    dialog.export_gguf()  # trained on an in-memory model: there is no GGUF of it
    _wait_idle(qtbot, dialog)
    warning = dialogs["warnings"].pop()
    assert "has no GGUF form" in warning and "Traceback" not in warning
    assert not list(tmp_path.glob("*-gguf"))

    # The same adapter, as if memorized with --model tiny.gguf (the app records the file's path).
    base = write_base_gguf(tmp_path / "tiny.gguf", tiny_parts[1], "llama")  # the weights tiny_lm copied
    folder = Path(session.library.get_adapter("Ledger v1").path)
    meta = read_meta(folder)
    meta.base_model = {**meta.base_model, "id": str(base)}
    write_meta(folder, meta)
    dialog.select_name("Ledger v1")
    dialog.export_gguf()
    _wait_idle(qtbot, dialog)
    (out,) = tmp_path.glob("*-gguf")
    assert {p.name for p in out.iterdir()} == {"Modelfile", "README.md", f"{out.name[:-5]}-lora.gguf"}
    assert f"FROM {base}" in (out / "Modelfile").read_text()
    assert dialogs["infos"].pop().startswith("Exported “Ledger v1” for llama.cpp and Ollama")


def test_import_folder_takes_a_peft_adapter_made_elsewhere_for_a_chosen_book(qtbot, session, workspace, tiny_parts,
                                                                             monkeypatch, tmp_path, dialogs):
    import copy

    from peft import LoraConfig, get_peft_model
    from PySide6.QtWidgets import QInputDialog

    from lift_reader.gui.adapters_dialog import AdaptersDialog

    story = tmp_path / "story.txt"
    story.write_text("The Ferry\n\n" + "The ferry Marigold sailed to Orrin Isle every morning. " * 40)
    book = workspace.add_book(story)
    elsewhere = get_peft_model(copy.deepcopy(tiny_parts[1]), LoraConfig(r=4, target_modules=["q_proj", "v_proj"]))
    elsewhere.save_pretrained(tmp_path / "ferry-lora")

    dialog = AdaptersDialog(session)
    qtbot.addWidget(dialog)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(tmp_path / "ferry-lora"))
    asked = []
    monkeypatch.setattr(QInputDialog, "getItem",
                        lambda _parent, _title, label, items, *a: (asked.append(label), (items[0], True))[1])
    dialog.import_folder()
    _wait_idle(qtbot, dialog)
    assert asked == ["Which book did it memorize?"]
    (adapter,) = session.library.list_adapters()
    assert adapter.name == "ferry-lora" and adapter.book_hash == book.content_hash
    assert dialog.table.rowCount() == 1
