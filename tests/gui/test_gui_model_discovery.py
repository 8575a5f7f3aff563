"""Settings > Model > Find models on this machine: found models listed, unusable ones greyed out, one chosen."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from PySide6.QtCore import Qt

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "interop"))  # gguf_fakes.py


def test_find_models_lists_them_and_choosing_one_sets_the_model(qtbot, prefs, tmp_path, monkeypatch, dialogs):
    from gguf_fakes import write_model_gguf

    from lift_reader.gui.settings_dialog import SettingsDialog

    store = tmp_path / "ollama"
    blob = write_model_gguf(store / "blobs" / ("sha256-" + "a" * 64), "gemma3")
    manifest = store / "manifests" / "registry.ollama.ai" / "library" / "gemma3" / "270m"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(json.dumps({"layers": [{"mediaType": "application/vnd.ollama.image.model",
                                                "digest": "sha256:" + "a" * 64}]}))
    write_model_gguf(tmp_path / "lmstudio" / "x" / "y" / "odd.gguf", "rwkv6")
    monkeypatch.setattr("lift_reader.core.model.model_discovery.default_places",
                        lambda *a, **k: [("Ollama", store), ("LM Studio", tmp_path / "lmstudio")])

    dialog = SettingsDialog(prefs)
    qtbot.addWidget(dialog)
    assert not dialog.found_list.isVisibleTo(dialog)
    dialog.find_models.click()
    assert dialog.found_list.isVisibleTo(dialog) and dialog.found_list.count() == 2
    usable, odd = dialog.found_list.item(0), dialog.found_list.item(1)
    assert usable.text().startswith("gemma3:270m (Ollama, gguf, gemma3") and "memorizing needs about" in usable.text()
    assert "cannot load rwkv6" in odd.text() and not odd.flags() & Qt.ItemFlag.ItemIsEnabled

    dialog.found_list.setCurrentRow(0)
    assert dialog.model_kind == "gguf" and Path(dialog.location.text()).resolve() == blob
    dialog.accept()
    assert prefs.model_ref == dialog.location.text() and prefs.model_ref.endswith(".gguf")
