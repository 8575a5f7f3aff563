"""LoadedModel details that decide speed: the output layer's input strides."""

import torch

from lift_reader.core.model.models import wrap_loaded


def test_the_output_layer_sees_foldable_strides_with_logits_to_keep(tiny_parts):
    """A frozen head fed hidden[:, -1:, :] made matmul copy the whole weight; the pre-hook prevents it."""
    import copy

    tok, model = tiny_parts
    lm = wrap_loaded(copy.deepcopy(model), tok, label="t", fingerprint="f")
    head = lm.model.get_output_embeddings()
    head.weight.requires_grad_(False)
    seen = []
    head.register_forward_pre_hook(lambda module, args: seen.append((args[0].shape, args[0].stride())))
    ids = torch.randint(3, len(tok), (1, 30))
    with torch.inference_mode():
        last = lm.model(input_ids=ids, logits_to_keep=1).logits
        full = lm.model(input_ids=ids).logits
    (shape, stride), _ = seen
    assert shape == (1, 1, head.in_features) and stride[0] == stride[1] * shape[1]
    torch.testing.assert_close(last[:, -1], full[:, -1])
    # Installing twice (a second LoadedModel around the same model) adds no second hook.
    wrap_loaded(lm.model, tok, label="t", fingerprint="f")
    assert len(head._forward_pre_hooks) == 2
