"""LoRA on the upper layers only: the lower layers build no graph, and the run trains and saves."""

import pytest
import torch

from lift_reader.core.memorize.fused_loss import causal_lm_loss
from lift_reader.core.model.lora import adapted_layers, add_training_adapter
from lift_reader.core.model.models import wrap_loaded
from lift_reader.core.memorize.settings import MemorizeSettings
from lift_reader.core.model.tiny_model import tiny_model
from lift_reader.errors import BadInputError


def test_the_share_counts_layers_from_the_top():
    assert adapted_layers(MemorizeSettings(), 18) is None
    assert adapted_layers(MemorizeSettings(lora_layers=0.5), 18) == list(range(9, 18))
    assert adapted_layers(MemorizeSettings(lora_layers=0.01), 18) == [17]
    with pytest.raises(BadInputError):
        MemorizeSettings(lora_layers=0)


def test_lower_layers_run_without_a_graph_and_get_no_lora(tiny_parts):
    tok, _ = tiny_parts
    lm = wrap_loaded(tiny_model(tok, arch="gemma3", layers=4), tok, label="t", fingerprint="f")
    model = add_training_adapter(lm, "m", MemorizeSettings(lora_rank=4, lora_layers=0.5))
    adapted = {int(n.split(".layers.")[1].split(".")[0]) for n, p in model.named_parameters() if p.requires_grad}
    assert adapted == {2, 3}
    graph = {}
    layers = model.get_base_model().model.layers
    hooks = [layer.register_forward_hook(lambda mod, args, out, i=i: graph.__setitem__(
        i, (out[0] if isinstance(out, tuple) else out).grad_fn is not None)) for i, layer in enumerate(layers)]
    model.train()
    ids = torch.randint(3, len(tok), (1, 24))
    loss = causal_lm_loss(model, ids, ids)
    for hook in hooks:
        hook.remove()
    assert graph == {0: False, 1: False, 2: True, 3: True}  # nothing recorded below layer 2
    loss.backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)


def test_settings_without_lora_layers_keep_their_training_key():
    old = MemorizeSettings().as_dict()
    old.pop("lora_layers")
    assert MemorizeSettings.from_dict(old).training_key() == MemorizeSettings().training_key()
    assert MemorizeSettings(lora_layers=0.5).training_key() != MemorizeSettings().training_key()


def test_the_cli_flag_sets_the_share_and_the_eval_command_repeats_it():
    from lift_reader.cli import build_parser
    from lift_reader.cli.recipe import memorize_settings as _memorize_settings
    from lift_reader.cli.recipe import recipe_flags

    args = build_parser().parse_args(["memorize", "book.txt", "--lora-layers", "0.5"])
    settings = _memorize_settings(args, "cpu")
    assert settings.lora_layers == 0.5
    assert "--lora-layers" in recipe_flags(settings) and "--lora-layers" not in recipe_flags(MemorizeSettings())
