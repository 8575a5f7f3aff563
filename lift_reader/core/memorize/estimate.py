"""Before Memorize starts: how many tokens and steps, how long, how much memory.

Time comes from throughput measured on this machine: every finished run
records its tokens/s per (model, placement, segment length), and a model
never trained here gets a two-step probe.  Memory is computed from the
model's sizes; ``bench/`` checks both against measurements.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass

import numpy as np
import torch

from lift_reader.core.memorize.auxiliary import aux_item_count
from lift_reader.core.memorize.contextualized import prefix_tokens
from lift_reader.core.formatting import format_duration
from lift_reader.core.model.models import LoadedModel
from lift_reader.core.text.segments import SegmentPlan
from lift_reader.core.memorize.settings import MemorizeSettings
from lift_reader.store.atomic import atomic_write_json
from lift_reader.store.paths import throughput_file


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
    study_items: int = 0
    reading_seconds: float = 0.0
    """The study stage's teacher pass (included in ``seconds``)."""

    def lines(self) -> list[str]:
        lines = [f"book: {self.book_tokens:,} tokens -> {self.segments:,} segments"]
        if self.study_items:
            lines.append(f"study: {self.study_items:,} items; reading them with the book open takes about "
                         f"{format_duration(self.reading_seconds)}")
        return lines + [
            f"training: {self.steps:,} steps, {self.tokens_to_train:,} tokens",
            f"time: about {format_duration(self.seconds)} at {self.tokens_per_s:,.0f} tokens/s ({self.throughput_source})",
            f"peak memory: about {self.peak_memory_bytes / 2**30:.1f} GiB",
        ]


def _throughput_key(lm: LoadedModel, settings: MemorizeSettings) -> str:
    key = f"{lm.identity.fingerprint}|{lm.placement.device}|{lm.placement.precision}|{settings.segment_length}"
    # LoRA on the upper layers only makes steps cheaper: its runs' speeds are kept apart.
    return key if settings.lora_layers >= 1 else f"{key}|layers {settings.lora_layers:g}"


AUX_ITEM_TOKENS = 60
"""About how long an auxiliary item is (title, question and answer) with the embedded model's tokenizer."""
STUDY_ITEM_TOKENS = 45
"""About how long a study item is (title, question and answer; padding in its batch included)."""
STUDY_READING_TOKENS = 340
"""About how long a study reading item is: a study item plus its ~1,200-character passage."""
FORWARD_SHARE = 1 / 3
"""A forward pass alone costs about a third of a training step's forward + backward per token."""


def study_costs(n_tokens: int, settings: MemorizeSettings) -> tuple[int, int, float, float]:
    """(study items, their micro-batches per epoch, their training tokens per epoch, the teacher pass
    in training-token equivalents).

    The teacher reads every window once (windows overlap by half: ~2x the book) plus each question
    and answer, forward only; reading items share their question's targets.
    """
    from lift_reader.core.memorize.study import needs_teacher, reading_count, study_batch_count, study_question_count

    questions = study_question_count(n_tokens, settings)
    if not questions:
        return 0, 0, 0.0, 0.0
    reading_items = reading_count(questions, settings)
    tokens = questions * STUDY_ITEM_TOKENS + reading_items * STUDY_READING_TOKENS
    teacher = (2 * n_tokens + questions * STUDY_ITEM_TOKENS) * FORWARD_SHARE if needs_teacher(settings) else 0.0
    return questions + reading_items, study_batch_count(questions, reading_items, settings), tokens, teacher

# Estimates use the median speed of the last few finished runs of a setup: one run slowed by
# other work on the machine should not make every later estimate pessimistic.
_RUNS_REMEMBERED = 5


def _read_throughputs() -> dict:
    path = throughput_file()
    try:
        table = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except ValueError:
        return {}
    return table if isinstance(table, dict) else {}


def _speeds(entry) -> list[float]:
    """A setup's remembered speeds (older files kept one number)."""
    values = entry if isinstance(entry, list) else [entry]
    return [float(v) for v in values if isinstance(v, (int, float)) and v > 0]


def record_throughput(lm: LoadedModel, settings: MemorizeSettings, tokens_per_s: float) -> None:
    """Remember a run's speed so the next estimate for this setup is measured, not guessed."""
    if tokens_per_s <= 0:
        return
    table = _read_throughputs()
    key = _throughput_key(lm, settings)
    table[key] = (_speeds(table.get(key, [])) + [round(tokens_per_s, 2)])[-_RUNS_REMEMBERED:]
    atomic_write_json(throughput_file(), table)


def known_throughput(lm: LoadedModel, settings: MemorizeSettings) -> float | None:
    """The median speed of the last finished runs of this setup, or None if there was none."""
    speeds = _speeds(_read_throughputs().get(_throughput_key(lm, settings), []))
    return statistics.median(speeds) if speeds else None


_probed: dict[str, float] = {}
"""Probed speeds of this process, by setup: re-estimating as a form changes need not time the model again."""


def probe_throughput(lm: LoadedModel, settings: MemorizeSettings, vocab_ids: np.ndarray) -> float:
    """Time forward+backward of two micro-batches on a throwaway adapter (tokens/s)."""
    from lift_reader.core.memorize.fused_loss import causal_lm_loss
    from lift_reader.core.model.lora import add_training_adapter, drop_training_adapter

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


@dataclass(frozen=True)
class MemoryParts:
    """Bytes a training step needs, by part (estimates from the model's shape)."""

    weights: int
    lora_state: int  # LoRA weights (+ fp32 masters), gradients and two AdamW moments
    per_segment: int  # activations kept for backward, one segment, no gradient checkpointing
    per_segment_checkpointed: int  # the same with gradient checkpointing (layer inputs only)
    loss_buffer: int  # one chunk of logits and their gradient (fused loss), or all of them

    def peak(self, segments_per_pass: int, checkpointing: bool = False) -> int:
        act = self.per_segment_checkpointed if checkpointing else self.per_segment
        return self.weights + self.lora_state + segments_per_pass * act + self.loss_buffer


def memory_parts(lm: LoadedModel, settings: MemorizeSettings) -> MemoryParts:
    weight_bytes = sum(p.numel() * p.element_size() for p in lm.model.parameters())
    return memory_parts_for(lm.base_config, weight_bytes, lm.placement.precision, settings)


def memory_parts_for(config, weight_bytes: int, precision: str, settings: MemorizeSettings) -> MemoryParts:
    """The same from a model's config (anything with its attributes) and weight bytes: no model loaded
    (model discovery sizes models it has only found on disk)."""
    from lift_reader.core.memorize.fused_loss import CHUNK_TOKENS, SUPPORTED_MODEL_TYPES

    hidden = getattr(config, "hidden_size", 1024)
    layers = getattr(config, "num_hidden_layers", 12)
    vocab = getattr(config, "vocab_size", 32000)
    inter = getattr(config, "intermediate_size", 4 * hidden)
    act_bytes = 2 if precision != "fp32" else 4
    seg = settings.segment_length + prefix_tokens(settings)  # every segment runs through its prefix too
    # Per layer and token: attention/MLP inputs and outputs kept for backward
    # (~8 hidden-sized and 3 intermediate-sized vectors).
    per_layer_token = (8 * hidden + 3 * inter) * act_bytes
    per_segment = layers * seg * per_layer_token
    # Checkpointing keeps each layer's input and recomputes one layer at a time.
    checkpointed = layers * seg * hidden * act_bytes + seg * per_layer_token
    # The fused loss holds one chunk of logits and its gradient; the fallback all of them in fp32.
    loss_tokens = min(settings.micro_batch_size * seg, CHUNK_TOKENS)
    fused = getattr(config, "model_type", None) in SUPPORTED_MODEL_TYPES  # LoRA never trains the head
    if not fused:
        loss_tokens = settings.micro_batch_size * seg
    loss_buffer = loss_tokens * vocab * (2 * act_bytes if fused else act_bytes + 8)
    lora_params = layers * 7 * settings.lora_rank * (hidden + inter)
    lora_state = lora_params * (act_bytes + 4 + 4 + 4 + 4)  # weights, masters, grads, 2 moments
    return MemoryParts(weight_bytes, lora_state, per_segment, checkpointed, loss_buffer)


def estimate_peak_memory(lm: LoadedModel, settings: MemorizeSettings) -> int:
    """Bytes: base weights + LoRA state + activations of one micro-batch + the loss's buffers.

    On the CPU these live in the process's own memory beside the Python and torch runtime, the
    tokenizer and the library, so the estimate there is what the process holds now (the model
    included) plus what training adds; measured RSS was ~2.2 GB when the tensors alone
    came to ~0.9 GiB.
    """
    parts = memory_parts(lm, settings)
    tensors = parts.peak(settings.micro_batch_size)
    if lm.device.type != "cpu":
        return tensors
    return max(tensors, _process_rss() + tensors - parts.weights)


def _process_rss() -> int:
    import psutil  # installed with peft

    return int(psutil.Process().memory_info().rss)


@dataclass(frozen=True)
class CudaPlan:
    """How a micro-batch runs on the GPU: in how many passes, with or without checkpointing."""

    passes: int
    checkpointing: bool

    def describe(self, free_bytes: int) -> str:
        how = "with gradient checkpointing" if self.checkpointing else "without gradient checkpointing"
        return f"{free_bytes / 2**30:.1f} GiB free on the GPU: {self.passes} pass(es) per micro-batch, {how}"


def plan_cuda_memory(parts: MemoryParts, micro_batch: int, free_bytes: int, *, headroom: float = 0.85) -> CudaPlan:
    """The fastest way to fit a micro-batch into ``free_bytes`` (the base weights are already loaded).

    Gradient checkpointing costs about a third more compute, so it is used only when not even
    one segment fits without it; otherwise the micro-batch is split into as few passes as fit
    (the gradients are the same either way).  When nothing fits, the out-of-memory handler of
    the training loop has the last word.
    """
    budget = free_bytes * headroom - parts.lora_state - parts.loss_buffer
    for checkpointing in (False, True):
        act = parts.per_segment_checkpointed if checkpointing else parts.per_segment
        if act <= budget:
            per_pass = max(1, int(budget // act))
            return CudaPlan(passes=-(-micro_batch // min(per_pass, micro_batch)), checkpointing=checkpointing)
    return CudaPlan(passes=micro_batch, checkpointing=True)


def estimate_memorize(lm: LoadedModel, n_tokens: int, settings: MemorizeSettings,
                      *, probe_ids: np.ndarray | None = None) -> MemorizeEstimate:
    plan = SegmentPlan.for_book(n_tokens, settings.segment_length, settings.stride)
    aux_items = aux_item_count(n_tokens, settings)  # each is one micro-batch of a short prompt + answer
    study_items, study_batches, study_tokens, reading_tokens = study_costs(n_tokens, settings)
    segment_units = -(-len(plan) // settings.micro_batch_size) if settings.segment_weight > 0 else 0
    units = segment_units + aux_items + study_batches
    steps = -(-units // settings.grad_accum_steps) * settings.epochs
    segment_tokens = (plan.tokens_per_epoch() + len(plan) * prefix_tokens(settings)) if segment_units else 0
    tokens_to_train = round((segment_tokens + aux_items * AUX_ITEM_TOKENS + study_tokens) * settings.epochs)
    speed = known_throughput(lm, settings)
    source = "measured earlier"
    if speed is None:
        key = _throughput_key(lm, settings)
        if key not in _probed and probe_ids is not None:
            _probed[key] = probe_throughput(lm, settings, probe_ids)
        speed, source = _probed.get(key), "probe"
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
        seconds=(tokens_to_train + reading_tokens) / speed,
        peak_memory_bytes=estimate_peak_memory(lm, settings),
        throughput_source=source,
        study_items=study_items,
        reading_seconds=reading_tokens / speed,
    )
