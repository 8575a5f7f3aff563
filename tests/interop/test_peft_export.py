"""`lift-reader adapters export` (peft, the default) gives an adapter that plain peft loads."""

from __future__ import annotations

import zipfile

import torch

from interop_helpers import load_app_model, save_app_adapter
from lift_reader.cli import main


def test_plain_peft_loads_the_exported_adapter_and_gives_the_apps_logits(tiny_base, tmp_path, capsys):
    lm = load_app_model(tiny_base.folder, label="tiny base")
    folder = save_app_adapter(lm, "Ledger")
    archive = tmp_path / "ledger.zip"
    assert main(["adapters", "export", "Ledger", str(archive)]) == 0  # no --format: peft
    assert "wrote" in capsys.readouterr().out
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(archive).extractall(unpacked)
    (exported,) = unpacked.iterdir()

    ids = torch.tensor([[2, 17, 40, 99, 5, 230, 31, 8]])
    # The app: the base as it loads it, the saved adapter attached by name.
    app = load_app_model(tiny_base.folder, label="tiny base")
    with torch.no_grad():
        bare = app.model(ids).logits
        app.attach_adapter("Ledger", folder)
        ours = app.model(ids).logits

    # Elsewhere: transformers and peft only, from the base folder and the exported archive.
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    plain = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_base.folder), exported)
    plain.eval()
    with torch.no_grad():
        theirs = plain(ids).logits
    assert (ours - bare).abs().max() > 0.1  # the adapter matters, so equal logits mean something
    torch.testing.assert_close(theirs, ours, rtol=1e-5, atol=1e-5)

