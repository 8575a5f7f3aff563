"""Memorize: fine-tune a LoRA adapter on a whole book with LIFT.

``MemorizeJob.run()`` is a generator of ``TrainEvent``s that reads top to
bottom: build the LoRA model, plan the segments, then for each optimizer
step take ``grad_accum_steps`` micro-batches, step AdamW, checkpoint now
and then, and report.  Cancellation is cooperative (``CancelToken``),
checked between micro-batches; a cancelled run writes a checkpoint first.

Costs: a step costs ~6N FLOPs per token for a trainable model, but with a
frozen base and tiny LoRA matrices it is ~4N (forward + the backward pass
through activations, not weights).  Memory: the base weights, the LoRA
weights with 2 AdamW moments, and the activations of one micro-batch; none
of it depends on the book's length.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from lift_reader.core.memorize.auxiliary import AuxItem
from lift_reader.core.cancel import CancelToken
from lift_reader.core.memorize.compiling import compile_decoder_layers, should_compile
from lift_reader.core.memorize.checkpoints import RunState, load_checkpoint, read_state, save_checkpoint
from lift_reader.core.memorize.distributed import SINGLE, Distributed
from lift_reader.core.memorize.fused_loss import causal_lm_loss
from lift_reader.core.model.lora import add_training_adapter, finish_training_adapter
from lift_reader.core.memorize.master_weights import TrainableWeights
from lift_reader.core.model.models import LoadedModel
from lift_reader.core.memorize.contextualized import SegmentPrefixes
from lift_reader.core.text.book_tokens import BookTokens
from lift_reader.core.text.segments import SegmentPlan
from lift_reader.core.memorize.settings import MemorizeSettings
from lift_reader.core.memorize.step_breaks import StepBreaks
from lift_reader.core.memorize.study import StudySet
from lift_reader.errors import BadInputError, LiftReaderError


def make_optimizer(params, s: MemorizeSettings) -> torch.optim.Optimizer:
    """AdamW with the method authors' betas; the fused kernel where torch has one.

    A LoRA has hundreds of small tensors (252 on Gemma 3 270M): the per-tensor
    loop of plain AdamW costs ~10x the fused kernel's time on the CPU.
    """
    kwargs = dict(lr=s.learning_rate, betas=(0.9, 0.98), eps=1e-8, weight_decay=s.weight_decay)
    try:
        return torch.optim.AdamW(params, fused=True, **kwargs)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.AdamW(params, **kwargs)


@dataclass(frozen=True)
class TrainEvent:
    """One progress report; ``kind`` is stage, start, step, checkpoint, notice, done or cancelled."""

    kind: str
    step: int
    total_steps: int
    epoch: float  # fractional epochs done, e.g. 1.5
    loss: float | None = None
    learning_rate: float = 0.0
    tokens_per_s: float = 0.0
    elapsed_s: float = 0.0
    eta_s: float | None = None
    message: str = ""  # for kinds "notice" and "stage": a line for the user
    stage: str = "memorizing"
    """What the run is doing: "reading" (the study stage's teacher reads the book) or "memorizing"."""
    stage_done: int = 0
    stage_total: int = 0
    """Progress within a stage other than memorizing (items read of all items)."""

    @property
    def fraction(self) -> float:
        return self.step / self.total_steps if self.total_steps else 0.0


@dataclass(frozen=True)
class _Unit:
    """One micro-batch: a group of segment indices, one auxiliary item, or a few study items."""

    segments: tuple[int, ...] = ()
    aux: int | None = None
    study: tuple[int, ...] = ()
    epoch: int = 0  # seeds the contextualized prefixes


class MemorizeJob:
    """One LIFT run over one book; resumable from its checkpoint folder."""

    def __init__(
        self,
        lm: LoadedModel,
        tokens: BookTokens,
        settings: MemorizeSettings,
        *,
        job_key: str,
        checkpoint_dir: Path | None = None,
        aux_items: list[AuxItem] | None = None,
        prefixes: SegmentPrefixes | None = None,
        adapter_name: str = "memorizing",
        dist: Distributed = SINGLE,
        study: StudySet | None = None,
        step_breaks: StepBreaks | None = None,
    ):
        self.lm = lm
        self.tokens = tokens
        self.settings = settings
        self.job_key = job_key
        self.checkpoint_dir = checkpoint_dir
        self.aux_items = aux_items or []
        self.prefixes = prefixes  # contextualized variant: an excerpt before each segment
        self.adapter_name = adapter_name
        self.dist = dist  # under torchrun: this rank takes its share of each step's micro-batches
        self.study = study if study is not None and len(study) else None
        self.step_breaks = step_breaks  # questions asked meanwhile: answered between two steps
        self._checkpointed_at: float | None = None  # clock time of the last checkpoint (or of the first step)
        self.plan = SegmentPlan.for_book(len(tokens), settings.segment_length, settings.stride)
        self.state = RunState(job_key=job_key, settings=settings.as_dict())
        self.state.total_steps = self.total_steps
        self.row_splits = 1  # raised after an out-of-memory error (see _retry_smaller)

    # --- the schedule ----------------------------------------------------------

    @property
    def trains_segments(self) -> bool:
        return self.settings.segment_weight > 0

    @property
    def units_per_epoch(self) -> int:
        segments = math.ceil(len(self.plan) / self.settings.micro_batch_size) if self.trains_segments else 0
        study = self.study.batches_per_epoch if self.study is not None else 0
        return segments + len(self.aux_items) + study

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.units_per_epoch / self.settings.grad_accum_steps)

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.settings.epochs

    def epoch_order(self, epoch: int) -> list[_Unit]:
        """The micro-batches of one epoch, in a seeded order (same seed, same order)."""
        rng = np.random.default_rng([self.settings.seed, epoch])
        seg_order = rng.permutation(len(self.plan))
        b = self.settings.micro_batch_size
        units = [_Unit(segments=tuple(int(i) for i in seg_order[k:k + b]), epoch=epoch)
                 for k in range(0, len(seg_order), b)] if self.trains_segments else []
        units += [_Unit(aux=j, epoch=epoch) for j in range(len(self.aux_items))]
        if self.study is not None:  # its own generator: adding study items leaves the other units' order alone
            study_rng = np.random.default_rng([self.settings.seed, epoch, 29])
            units += [_Unit(study=members, epoch=epoch) for members in self.study.epoch_batches(study_rng)]
        return [units[i] for i in rng.permutation(len(units))]

    def learning_rate_at(self, step: int) -> float:
        """Linear warm-up, then cosine/linear decay to min_lr_ratio (or constant)."""
        s = self.settings
        warmup = max(1, round(s.warmup_ratio * self.total_steps)) if s.warmup_ratio > 0 else 0
        if step < warmup:
            return s.learning_rate * (step + 1) / warmup
        if s.schedule == "constant":
            return s.learning_rate
        progress = (step - warmup) / max(1, self.total_steps - warmup)
        shape = 0.5 * (1 + math.cos(math.pi * progress)) if s.schedule == "cosine" else 1 - progress
        return s.learning_rate * (s.min_lr_ratio + (1 - s.min_lr_ratio) * shape)

    def has_checkpoint(self) -> bool:
        return self.checkpoint_dir is not None and read_state(self.checkpoint_dir) is not None

    # --- the loop --------------------------------------------------------------

    def run(self, *, resume: bool = False, cancel: CancelToken | None = None) -> Iterator[TrainEvent]:
        s = self.settings
        if self.study is not None and self.study.needs_teacher and self.state.step == 0:
            # Before the adapter exists: the teacher is the bare base model.  Its targets are cached
            # on disk, so a resumed run reads them back instead of computing them again.
            for done, total in self.study.read_with_teacher(self.lm, cancel):
                yield self._event("stage", None, 0.0, message=f"Reading with the book open {done:,}/{total:,}",
                                  stage="reading", stage_done=done, stage_total=total)
            if cancel is not None and cancel.cancelled:
                yield self._event("cancelled", None, 0.0, stage="reading")
                return
        torch.manual_seed(s.seed)  # LoRA init and dropout; a resume restores the RNG below
        model = add_training_adapter(self.lm, self.adapter_name, s)
        weights = TrainableWeights(model)  # fp32 masters when the LoRA computes in bf16
        params = weights.params
        optimizer = make_optimizer(params, s)
        if resume and self.has_checkpoint():
            saved = read_state(self.checkpoint_dir)
            if saved.job_key != self.job_key:
                raise BadInputError("the checkpoint belongs to another book, model or settings")
            self.state = load_checkpoint(self.checkpoint_dir, weights, optimizer)
        device = self.lm.device
        model.train()

        first_step = self.state.step
        yield self._event("start", None, 0.0)
        if device.type == "cuda":
            yield self._fit_to_gpu_memory(model, device)
        uncompile = None
        tokens_left = (self.total_steps - first_step) * s.grad_accum_steps * s.micro_batch_size * s.segment_length
        if should_compile(device, tokens_left, s.compile, shapes_vary=s.study):
            uncompile = compile_decoder_layers(model)
            if uncompile is not None:
                yield self._event("notice", None, 0.0, message="compiling the model for this long run "
                                  "(the first steps are slow, the rest faster)")
        try:
            yield from self._steps(model, weights, optimizer, params, first_step, cancel, uncompile)
        finally:
            if uncompile is not None:
                uncompile()

    def _steps(self, model, weights, optimizer, params, first_step: int, cancel, uncompile) -> Iterator[TrainEvent]:
        s = self.settings
        device = self.lm.device
        window: list[tuple[float, int]] = []  # (seconds, tokens) of recent steps, for speed and ETA
        run_started = time.perf_counter() - self.state.elapsed_s
        order, order_epoch = [], -1
        for step in range(first_step, self.total_steps):
            if self.step_breaks is not None:
                self.step_breaks.run_waiting(self)
            epoch, index_in_epoch = divmod(step, self.steps_per_epoch)
            if order_epoch != epoch:  # the permutation costs O(segments): once per epoch
                order, order_epoch = self.epoch_order(epoch), epoch
            units = order[index_in_epoch * s.grad_accum_steps:(index_in_epoch + 1) * s.grad_accum_steps]
            lr = self.learning_rate_at(step)
            for group in optimizer.param_groups:
                group["lr"] = lr

            t0 = time.perf_counter()
            while True:
                try:
                    step_loss, step_tokens, stopped = self._accumulate(
                        model, weights, self.dist.shard(units), len(units), device, cancel)
                    break
                except torch.OutOfMemoryError:
                    weights.zero_grad()
                    yield self._retry_smaller(device)
                except Exception as err:  # noqa: BLE001 - only a failure of the compiler is retried
                    if uncompile is None or step != first_step:
                        raise
                    uncompile()
                    uncompile = None
                    weights.zero_grad()
                    yield self._event("notice", None, 0.0,
                                      message=f"compiling failed ({type(err).__name__}); going on without it")
            if self.dist.enabled:  # every rank learns the step's loss and whether any rank was stopped
                step_loss, step_tokens, stops = self.dist.sum_values(step_loss, step_tokens, float(stopped))
                step_tokens, stopped = int(step_tokens), stops > 0
            if stopped:  # cancelled between micro-batches
                weights.zero_grad()
                yield from self._stop_cancelled(model, weights, optimizer, run_started)
                return
            self.dist.sum_gradients(params)
            torch.nn.utils.clip_grad_norm_(params, s.max_grad_norm)
            optimizer.step()
            weights.zero_grad()
            weights.masters_to_model()
            took = time.perf_counter() - t0

            self.state.step = step + 1
            self.state.tokens_seen += step_tokens
            self.state.elapsed_s = time.perf_counter() - run_started
            self.state.loss_curve.append([step + 1, round(step_loss, 5)])
            window = (window + [(took, step_tokens)])[-20:]
            event = self._event("step", step_loss, lr, window)
            yield event
            if self.writes_checkpoints and self._checkpoint_due() and self.state.step < self.total_steps:
                save_checkpoint(self.checkpoint_dir, self.state, weights.state(), optimizer)
                yield self._event("checkpoint", step_loss, lr, window)

        model.eval()
        weights.finish()
        self.state.finished = True
        finish_training_adapter(self.lm, self.adapter_name)
        yield self._event("done", self.final_loss, 0.0, window)

    clock = staticmethod(time.monotonic)  # tests put a fake clock here

    def _checkpoint_due(self) -> bool:
        """Every ``checkpoint_every`` steps, and after ``checkpoint_minutes`` of training since the last one
        (the clock starts at the first step): a crash or logout loses at most that much of a slow run."""
        now = self.clock()
        last = self._checkpointed_at
        minutes = self.settings.checkpoint_minutes
        due = self.state.step % self.settings.checkpoint_every == 0 or (
            minutes > 0 and last is not None and now - last >= minutes * 60)
        if due or last is None:
            self._checkpointed_at = now
        return due

    @property
    def writes_checkpoints(self) -> bool:
        return self.checkpoint_dir is not None and self.dist.is_main

    def _accumulate(self, model, weights: TrainableWeights, units: list[_Unit], step_units: int, device,
                    cancel) -> tuple[float, int, bool]:
        """Forward and backward over ``units``, this process's share of a step of ``step_units``
        micro-batches; returns (its part of the step's mean loss, its tokens, whether it was cancelled).

        Each micro-batch runs as ``self.row_splits`` smaller passes when memory
        ran out before; gradients are the same, only the peak is lower.
        """
        s = self.settings
        step_loss, step_tokens = 0.0, 0
        if not units and cancel is not None and cancel.cancelled:  # a rank with no share this step
            return step_loss, step_tokens, True
        for unit in units:
            if cancel is not None and cancel.cancelled:
                return step_loss, step_tokens, True
            if unit.study:
                loss, tokens = self._study_loss(model, unit, device)
                (loss * s.study_weight / step_units).backward()
                weights.gradients_to_masters()
                step_loss += loss.item() / step_units
                step_tokens += tokens
                continue
            input_ids, labels, weight = self._batch(unit, device)
            rows = input_ids.shape[0]
            pieces = min(self.row_splits, rows)
            for part_ids, part_labels in zip(input_ids.tensor_split(pieces), labels.tensor_split(pieces)):
                share = part_ids.shape[0] / rows
                loss = causal_lm_loss(model, part_ids, part_labels)
                (loss * weight * share / step_units).backward()
                weights.gradients_to_masters()  # sum the passes' gradients in fp32
                step_loss += loss.item() * share / step_units
            step_tokens += int(input_ids.numel())  # tokens processed (prompts and prefixes too): the speed measure
        return step_loss, step_tokens, False

    def _study_loss(self, model, unit: _Unit, device) -> tuple[torch.Tensor, int]:
        """The loss of a few study items (core/memorize/distill_loss.py) and the tokens they hold."""
        from lift_reader.core.memorize.distill_loss import study_loss

        batch = self.study.batch(unit.study, device)
        return study_loss(model, batch, targets=self.settings.study_targets), int(batch.attention_mask.sum())

    def _fit_to_gpu_memory(self, model, device) -> TrainEvent:
        """Split micro-batches and turn gradient checkpointing on only as far as free VRAM needs."""
        from lift_reader.core.memorize.estimate import memory_parts, plan_cuda_memory

        free, _ = torch.cuda.mem_get_info(device)
        plan = plan_cuda_memory(memory_parts(self.lm, self.settings), self.settings.micro_batch_size, free)
        self.row_splits = max(self.row_splits, plan.passes)
        base = model.get_base_model() if hasattr(model, "get_base_model") else model
        if plan.checkpointing:
            base.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        elif getattr(base, "is_gradient_checkpointing", False):
            base.gradient_checkpointing_disable()
        return self._event("notice", None, 0.0, message=plan.describe(free))

    def _retry_smaller(self, device) -> TrainEvent:
        """After an out-of-memory error: free the cache and cut micro-batches in half."""
        if device.type == "cuda":
            torch.cuda.empty_cache()
        if self.row_splits >= self.settings.micro_batch_size:
            raise LiftReaderError(
                "out of memory even with one segment per pass: use a shorter segment length "
                "or free memory on the device"
            )
        self.row_splits *= 2
        rows = -(-self.settings.micro_batch_size // self.row_splits)
        return self._event("notice", None, 0.0, message=f"out of memory: retrying with {rows} segment(s) per pass")

    def _stop_cancelled(self, model, weights: TrainableWeights, optimizer, run_started: float) -> Iterator[TrainEvent]:
        self.state.elapsed_s = time.perf_counter() - run_started
        if self.writes_checkpoints and self.state.step > 0:
            save_checkpoint(self.checkpoint_dir, self.state, weights.state(), optimizer)
        model.eval()
        yield self._event("cancelled", self.final_loss, 0.0)

    def _batch(self, unit: _Unit, device) -> tuple[torch.Tensor, torch.Tensor, float]:
        """Tensors for one micro-batch: (input_ids, labels, loss weight)."""
        if unit.aux is not None:
            item = self.aux_items[unit.aux]
            ids = torch.tensor([item.input_ids], dtype=torch.long, device=device)
            labels = torch.tensor([item.labels], dtype=torch.long, device=device)
            return ids, labels, self.settings.aux_weight
        rows = [self.tokens.ids[a:b] for a, b in (self.plan.bounds(i) for i in unit.segments)]
        ids = torch.from_numpy(np.stack(rows).astype(np.int64)).to(device)
        if self.prefixes is None:
            # Plain causal LM on every token of the segment: the model shifts labels itself.
            return ids, ids, self.settings.segment_weight
        prefix = np.stack([self.prefixes.for_segment(unit.epoch, i) for i in unit.segments])
        prefix_ids = torch.from_numpy(prefix).to(device)
        labels = torch.cat([torch.full_like(prefix_ids, -100), ids], dim=1)  # loss on the segment only
        return torch.cat([prefix_ids, ids], dim=1), labels, self.settings.segment_weight

    @property
    def final_loss(self) -> float | None:
        curve = self.state.loss_curve
        if not curve:
            return None
        tail = [loss for _, loss in curve[-10:]]
        return sum(tail) / len(tail)

    def _event(self, kind: str, loss, lr: float, window=(), message: str = "", **stage) -> TrainEvent:
        secs = sum(t for t, _ in window)
        toks = sum(n for _, n in window)
        speed = toks / secs if secs > 0 else 0.0
        per_step = secs / len(window) if window else None
        remaining = self.total_steps - self.state.step
        return TrainEvent(
            kind=kind,
            step=self.state.step,
            total_steps=self.total_steps,
            epoch=self.state.step / self.steps_per_epoch,
            loss=loss,
            learning_rate=lr,
            tokens_per_s=speed,
            elapsed_s=self.state.elapsed_s,
            eta_s=per_step * remaining if per_step is not None else None,
            message=message,
            **stage,
        )
