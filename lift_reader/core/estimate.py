"""Before Memorize starts: how many tokens and steps, how long, how much memory.

Time comes from throughput measured on this machine: every finished run
records its tokens/s per (model, placement, segment length), and a model
never trained here gets a two-step probe.  Memory is computed from the
model's sizes; ``bench/`` checks both against measurements.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import numpy as np
import torch

from lift_reader.core.formatting import format_duration
from lift_reader.core.models import LoadedModel
from lift_reader.core.segments import SegmentPlan
from lift_reader.core.settings import MemorizeSettings
from lift_reader.store.atomic import atomic_write_json
from lift_reader.store.paths import data_home


@dataclass(frozen=True)
class MemorizeEstimate:
    book_tokens: int
    segments: int
    steps: int
    tokens_to_train: int  # all epochs, overlaps included
    tokens_per_s: float
    seconds: float
    peak_memory_bytes: int
    throughput_source: str  # "measured earlier", "probe", or "guess"

    def lines(self) -> list[str]:
        return [
            f"book: {self.book_tokens:,} tokens -> {self.segments:,} segments",
            f"training: {self.steps:,} steps, {self.tokens_to_train:,} tokens",
            f"time: about {format_duration(self.seconds)} at {self.tokens_per_s:,.0f} tokens/s ({self.throughput_source})",
            f"peak memory: about {self.peak_memory_bytes / 2**30:.1f} GiB",
        ]


def _throughput_file():
    return data_home() / "throughput.json"


def _throughput_key(lm: LoadedModel, settings: MemorizeSettings) -> str:
    return f"{lm.identity.fingerprint}|{lm.placement.device}|{lm.placement.precision}|{settings.segment_length}"


def record_throughput(lm: LoadedModel, settings: MemorizeSettings, tokens_per_s: float) -> None:
    """Remember a run's speed so the next estimate for this setup is measured, not guessed."""
    if tokens_per_s <= 0:
        return
    path = _throughput_file()
    try:
        table = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except ValueError:
        table = {}
    table[_throughput_key(lm, settings)] = round(tokens_per_s, 2)
    atomic_write_json(path, table)


def known_throughput(lm: LoadedModel, settings: MemorizeSettings) -> float | None:
    path = _throughput_file()
    try:
        table = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except ValueError:
        return None
    return table.get(_throughput_key(lm, settings))


def probe_throughput(lm: LoadedModel, settings: MemorizeSettings, vocab_ids: np.ndarray) -> float:
    """Time forward+backward of two micro-batches on a throwaway adapter (tokens/s)."""
    from lift_reader.core.fused_loss import causal_lm_loss
    from lift_reader.core.lora import add_training_adapter, drop_training_adapter

    name = "lift-probe"
    model = add_training_adapter(lm, name, settings)
    model.train()
    n = settings.segment_length
    ids = torch.from_numpy(np.resize(vocab_ids, (settings.micro_batch_size, n)).astype(np.int64)).to(lm.device)
    try:
        causal_lm_loss(model, ids, ids).backward()  # warm-up (allocations, kernels)
        model.zero_grad(set_to_none=True)
        t0 = time.perf_counter()
        causal_lm_loss(model, ids, ids).backward()
        took = time.perf_counter() - t0
    finally:
        model.zero_grad(set_to_none=True)
        model.eval()
        drop_training_adapter(lm, name)
    return ids.numel() / max(took, 1e-6)


def estimate_peak_memory(lm: LoadedModel, settings: MemorizeSettings) -> int:
    """Bytes: base weights + LoRA state + activations and logits of one micro-batch."""
    config = lm.base_config
    hidden = getattr(config, "hidden_size", 1024)
    layers = getattr(config, "num_hidden_layers", 12)
    vocab = getattr(config, "vocab_size", 32000)
    inter = getattr(config, "intermediate_size", 4 * hidden)
    weight_bytes = sum(p.numel() * p.element_size() for p in lm.model.parameters())
    act_bytes = 2 if lm.placement.precision != "fp32" else 4
    tokens = settings.micro_batch_size * settings.segment_length
    # Per layer and token: attention/MLP inputs and outputs kept for backward
    # (~8 hidden-sized and 3 intermediate-sized vectors).
    activations = layers * tokens * (8 * hidden + 3 * inter) * act_bytes
    # Logits in the model's dtype, their fp32 copy for the loss, and its gradient.
    logits = tokens * vocab * (act_bytes + 4 + 4)
    lora = layers * 7 * 2 * settings.lora_rank * (hidden + inter) // 2 * 4 * 4
    return int(weight_bytes + activations + logits + lora)


def estimate_memorize(lm: LoadedModel, n_tokens: int, settings: MemorizeSettings,
                      *, probe_ids: np.ndarray | None = None) -> MemorizeEstimate:
    plan = SegmentPlan.for_book(n_tokens, settings.segment_length, settings.stride)
    units = -(-len(plan) // settings.micro_batch_size)
    steps = -(-units // settings.grad_accum_steps) * settings.epochs
    tokens_to_train = plan.tokens_per_epoch() * settings.epochs
    speed = known_throughput(lm, settings)
    source = "measured earlier"
    if speed is None and probe_ids is not None:
        speed, source = probe_throughput(lm, settings, probe_ids), "probe"
    if speed is None:
        # ~4N FLOPs a token with a frozen base, at an assumed 100 GFLOP/s.
        n_params = sum(p.numel() for p in lm.model.parameters())
        speed, source = 100e9 / (4 * max(n_params, 1)), "guess"
    return MemorizeEstimate(
        book_tokens=n_tokens,
        segments=len(plan),
        steps=steps,
        tokens_to_train=tokens_to_train,
        tokens_per_s=speed,
        seconds=tokens_to_train / speed,
        peak_memory_bytes=estimate_peak_memory(lm, settings),
        throughput_source=source,
    )
