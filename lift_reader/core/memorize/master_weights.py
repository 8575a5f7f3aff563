"""The weights a memorize run trains, with fp32 masters when the model computes in bf16.

On a bf16 base the LoRA layers compute in bf16 (see ``lora.add_training_adapter``),
but AdamW's small updates would vanish when rounded to bf16's 8-bit mantissa.
So the optimizer steps fp32 master copies: after each backward pass the bf16
gradients are added onto the masters' fp32 gradients, and after each step the
masters are copied down into the model.  Checkpoints hold the masters, so a resumed run
continues bit for bit, and the finished adapter is saved from them in fp32.
For a model that already trains in fp32 the masters are the parameters themselves.
"""

from __future__ import annotations

import torch


class TrainableWeights:
    """The trainable parameters of a model and the tensors the optimizer steps."""

    def __init__(self, model: torch.nn.Module):
        self.named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
        self.mixed = any(p.dtype != torch.float32 for _, p in self.named)
        if self.mixed:
            self.masters = [torch.nn.Parameter(p.detach().float().clone()) for _, p in self.named]
        else:
            self.masters = [p for _, p in self.named]

    @property
    def params(self) -> list[torch.nn.Parameter]:
        """What the optimizer, the gradient clipping and the all-reduce work on."""
        return self.masters

    def gradients_to_masters(self) -> None:
        """Add the model's gradients onto the masters' in fp32, after each backward pass.

        Micro-batches of a step then sum their gradients in fp32, not in bf16 (where
        each addition rounds to 8 bits of mantissa).
        """
        if not self.mixed:
            return
        for master, (_, p) in zip(self.masters, self.named):
            if p.grad is None:
                continue
            if master.grad is None:
                master.grad = p.grad.float()
            else:
                master.grad.add_(p.grad)
            p.grad = None

    @torch.no_grad()
    def masters_to_model(self) -> None:
        if self.mixed:
            for master, (_, p) in zip(self.masters, self.named):
                p.copy_(master)

    def zero_grad(self) -> None:
        for master, (_, p) in zip(self.masters, self.named):
            master.grad = None
            p.grad = None

    def state(self) -> dict[str, torch.Tensor]:
        """Name -> fp32 master tensor (what a checkpoint stores)."""
        return {name: master.detach() for (name, _), master in zip(self.named, self.masters)}

    @torch.no_grad()
    def load_state(self, weights: dict[str, torch.Tensor]) -> None:
        by_name = {name: master for (name, _), master in zip(self.named, self.masters)}
        for name, tensor in weights.items():
            by_name[name].copy_(tensor.to(by_name[name].device, by_name[name].dtype))
        self.masters_to_model()

    def finish(self) -> None:
        """Give the model the fp32 masters: the adapter is saved and used at full precision."""
        if self.mixed:
            for master, (_, p) in zip(self.masters, self.named):
                p.data = master.detach()
