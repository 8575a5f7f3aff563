"""`lift-reader adapters import FOLDER --book BOOK`: a peft adapter made elsewhere, checked against the base."""

from __future__ import annotations

import pytest
import torch

from interop_helpers import SAMPLE_STORY, load_app_model
from lift_reader.cli import main


def _peft_made_elsewhere(base_folder, dest, seed=3, **model_kwargs):
    """What another trainer leaves: peft's own save_pretrained of a LoRA on q and v."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(base_folder),
                           LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                      init_lora_weights=False))  # random B: the adapter changes the logits
    model.save_pretrained(dest)
    return dest


@pytest.mark.parametrize("tiny_base", ["llama"], indirect=True)
def test_a_peft_folder_for_the_same_base_imports_for_its_book_and_answers_as_peft_does(tiny_base, tmp_path,
                                                                                        capsys):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from lift_reader.store.adapters import read_meta
    from lift_reader.store.library import Library

    folder = _peft_made_elsewhere(tiny_base.folder, tmp_path / "ledger-lora")
    model = ["--model", str(tiny_base.folder)]
    assert main([*model, "adapters", "import", str(folder)]) == 2  # which book? it cannot say
    assert "--book" in capsys.readouterr().err
    assert main([*model, "adapters", "import", str(folder), "--book", str(SAMPLE_STORY), "--name", "From elsewhere"]) == 0
    assert "imported adapter 'From elsewhere'" in capsys.readouterr().out

    library = Library()
    (record,) = library.list_adapters()
    book = library.list_books()[0]
    assert record.book_hash == book.content_hash and book.active_adapter == "From elsewhere"
    meta = read_meta(record.path)
    assert meta.base_model["made_for"] == str(tiny_base.folder) and meta.settings == {}

    ids = torch.tensor([[2, 17, 40, 99, 5, 230, 31, 8]])
    app = load_app_model(tiny_base.folder, label=str(tiny_base.folder))
    plain = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_base.folder), folder).eval()
    with torch.no_grad():
        bare = app.model(ids).logits
        app.attach_adapter(record.name, record.path)
        ours, theirs = app.model(ids).logits, plain(ids).logits
    assert (ours - bare).abs().max() > 0.1
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("tiny_base", ["llama"], indirect=True)
def test_a_peft_folder_for_another_base_is_refused_and_nothing_is_added(tiny_base, tmp_path, capsys):
    from lift_reader.core.model.tiny_model import save_tiny_model_folder
    from lift_reader.store.library import Library

    other = save_tiny_model_folder(tmp_path / "wider", SAMPLE_STORY.read_text(encoding="utf-8"), hidden=64)
    folder = _peft_made_elsewhere(other, tmp_path / "other-lora")
    code = main(["--model", str(tiny_base.folder), "adapters", "import", str(folder), "--book", str(SAMPLE_STORY)])
    err = capsys.readouterr().err.splitlines()[-1]
    assert code == 2 and "made for another base model" in err and "q_proj" in err
    assert Library().list_adapters() == []
