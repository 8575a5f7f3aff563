"""torch.compile for long memorize runs: each decoder layer compiled once, the same code reused.

Compiling fuses the elementwise work around the matmuls (norms in fp32, rotary
embeddings, activations, LoRA's scale-and-add).  On the embedded model on a
2-core CPU a step went from ~1.27 s to ~1.0 s, after a warm-up of ~95 s the
first time (~35 s once torch's on-disk cache holds the kernels).  So it is
worth it only for long runs: by default it is used when a run has at least
``AUTO_MIN_TOKENS`` tokens left to train.  ``MemorizeSettings.compile`` ("on",
"off"; ``--compile``) or ``LIFT_READER_COMPILE=1``/``0`` force it on or off (the
environment wins: benchmarks set it).  A compile failure (no C compiler, an unsupported model)
falls back to the plain model with a notice: compiling is never why a run fails.
"""

from __future__ import annotations

import os
import shutil
from typing import Callable

import torch

from lift_reader.core.switches import switch

AUTO_MIN_TOKENS = 300_000  # ~20 minutes of training on a 2-core CPU: the warm-up is then < 10%
ENV = "LIFT_READER_COMPILE"


def should_compile(device: torch.device, tokens_left: int, choice: str = "auto", *, shapes_vary: bool = False) -> bool:
    """Whether to compile a run with ``tokens_left`` tokens to train; ``choice`` is the run's setting.

    ``shapes_vary``: the steps' inputs have many lengths (study questions). Layers are compiled for
    fixed shapes, so each new length compiles again; on a study run torch gave up after 8 lengths
    within the first 10 steps (its recompile limit), having spent ~20 s a step compiling. Auto says no.
    """
    forced = switch(os.environ.get(ENV, "").strip() or choice)
    if forced is not None:
        return forced
    if not hasattr(torch, "compile"):
        return False
    if device.type == "cpu" and not (shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")):
        return False  # inductor writes C++ for the CPU
    if device.type == "cuda":
        try:
            import triton  # noqa: F401
        except ImportError:
            return False
    return tokens_left >= AUTO_MIN_TOKENS and not shapes_vary


def _decoder_layers(model) -> list[torch.nn.Module]:
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    inner = getattr(base, "model", None)
    layers = getattr(inner, "layers", None)
    return list(layers) if layers is not None else []


def compile_decoder_layers(model) -> Callable[[], None] | None:
    """Compile every decoder layer in place; returns the function that undoes it (None: nothing to compile).

    Undo after training: generation feeds ever-changing shapes that would recompile.
    """
    layers = _decoder_layers(model)
    if not layers:
        return None
    for layer in layers:
        layer.compile(dynamic=False)

    def undo() -> None:
        for layer in layers:
            layer._compiled_call_impl = None  # what nn.Module.compile sets; None restores the eager call

    return undo
