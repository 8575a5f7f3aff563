"""Every knob of a memorize run, checked up front and stored with the adapter.

The field defaults are plain LIFT on raw segments (256 tokens, the method's
3/8 stride, 2 epochs at lr 2e-4).  The app memorizes with ``for_hardware``,
the recipe measured in docs/EVAL.md: one epoch at lr 1e-4 with auxiliary
question/answer items and contextualized segments.  On a LooGLE document that
was the only recipe tried whose adapter made retrieved passages work better
(gold-answer NLL with ``rag`` 1.43 -> 1.33 with the adapter); plain LIFT made
them work worse (1.43 -> 1.65).  On a GPU the method authors' 2,048-token
segments are used.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields, replace

from lift_reader.core.text.segments import default_stride
from lift_reader.errors import BadInputError

SCHEDULES = ("cosine", "linear", "constant")
COMPILE_CHOICES = ("auto", "on", "off")
# Fields added after adapters were first saved, with the value every adapter saved before had:
# metadata without them means that value, and at that value they stay out of the training key,
# so older adapters keep their key.
_ADDED_LATER = {"aux_reading": False, "contextualized": False, "study": False, "study_per_1k_tokens": 20.0,
                "study_targets": "distill", "study_answers": "known", "study_top_k": 32,
                "study_window_tokens": 768, "study_batch": 8, "study_weight": 1.0, "segment_weight": 1.0,
                "study_reading": 0.0, "lora_layers": 1.0,
                "study_templates": 1}
STUDY_TEMPLATES_VERSION = 4
"""The version of core/memorize/study_questions.py's templates: raise it whenever they ask other questions.
New runs record it (``study_templates``), so an adapter trained on older questions keeps its own
training key and is never taken for a run with the new ones."""
STUDY_TARGETS = ("distill", "labels", "both")
STUDY_ANSWERS = ("known", "teacher")


@dataclass(frozen=True)
class MemorizeSettings:
    """Hyperparameters of one LIFT run (all of them end up in the adapter's metadata)."""

    segment_length: int = 256
    """Tokens per training segment (the method's l)."""
    stride: int | None = None
    """Tokens between segment starts (the method's s); None means 3/8 of segment_length."""
    epochs: int = 2
    """Passes over all segments."""
    learning_rate: float = 2e-4
    """Peak learning rate of AdamW."""
    warmup_ratio: float = 0.06
    """Fraction of the optimizer steps spent warming the learning rate up from 0."""
    schedule: str = "cosine"
    """Learning-rate decay after warm-up: cosine, linear or constant."""
    min_lr_ratio: float = 0.1
    """The decayed learning rate never falls below this fraction of the peak."""
    lora_rank: int = 16
    """LoRA rank r."""
    lora_alpha: int = 32
    """LoRA scale numerator (the update is scaled by alpha / r)."""
    lora_dropout: float = 0.0
    """Dropout on the LoRA input."""
    target_modules: str = "all-linear"
    """Which layers get LoRA: "all-linear" or a comma-separated list of module names."""
    lora_layers: float = 1.0
    """Share of the decoder layers, counted from the top, that get LoRA (1: all; 0.5: the upper half,
    and the backward pass stops at the lowest adapted layer)."""
    micro_batch_size: int = 1
    """Segments per forward pass (equal-length segments batch without padding)."""
    grad_accum_steps: int = 1
    """Forward passes whose gradients are summed before one optimizer step."""
    weight_decay: float = 1e-4
    """AdamW weight decay (the authors' value)."""
    max_grad_norm: float = 1.0
    """Gradient clipping threshold."""
    seed: int = 0
    """Seeds data order, LoRA init and dropout: the same seed gives the same adapter."""
    checkpoint_every: int = 50
    """Optimizer steps between checkpoints (one is also written on cancel)."""
    checkpoint_minutes: float = 2.5
    """Minutes of training between checkpoints as well (0: by steps only), so that a crash or logout
    loses at most this much of a slow run; like checkpoint_every, not part of the training key."""
    compile: str = "auto"
    """torch.compile the decoder layers: "auto" (runs with 300,000 tokens or more to train), "on" or "off";
    like checkpoint_every, not part of the training key (core/memorize/compiling.py)."""
    aux_tasks: bool = False
    """Train on auxiliary question/answer items synthesized from the book, too."""
    aux_weight: float = 1.0
    """Weight gamma of the auxiliary loss."""
    aux_items_per_1k_tokens: float = 2.0
    """How many auxiliary items to make per thousand book tokens (at most 400)."""
    up_to_page: int | None = None
    """Spoiler-safe: memorize only the text up to the end of this page."""
    aux_reading: bool = False
    """With aux_tasks: every other auxiliary item shows the passage it comes from before the question
    (reading practice, the way rag modes show retrieved passages)."""
    contextualized: bool = False
    """Precede each segment with a short head/tail excerpt and an instruction to recite; the loss
    stays on the segment (the method's contextualized variant, core/memorize/contextualized.py)."""
    study: bool = False
    """The study stage (core/memorize/study.py): dense questions about every part of the book, trained with no
    book text in the prompt, their targets from the base model reading the passage."""
    study_per_1k_tokens: float = 20.0
    """Study questions per thousand book tokens."""
    study_targets: str = "distill"
    """"distill": KL to the reading model's top-k answer distribution; "labels": cross-entropy on the answer;
    "both": their sum."""
    study_answers: str = "known"
    """Answer tokens: "known" (the answer the sentence gives) or "teacher" (the reading model's greedy answer)."""
    study_top_k: int = 32
    """Teacher log-probabilities kept per answer token (the rest of the mass is one bucket)."""
    study_window_tokens: int = 768
    """Book tokens the teacher reads around each question's sentence."""
    study_batch: int = 8
    """Study items per micro-batch (short items: several fit the cost of one segment)."""
    study_weight: float = 1.0
    """Weight of the study loss."""
    segment_weight: float = 1.0
    """Weight of the LIFT segments' loss; 0 trains no segments (study items and auxiliary items only)."""
    study_templates: int = STUDY_TEMPLATES_VERSION
    """Which version of the study question templates wrote the questions (metadata of older adapters
    without it: version 1)."""
    study_reading: float = 0.0
    """Share of the study questions asked a second time with their passage in the prompt (reading
    practice: a closed-book study alone teaches the adapter to answer from memory and to read
    retrieved passages less well)."""

    def __post_init__(self):
        checks = [
            (self.segment_length >= 16, "segment length must be at least 16 tokens"),
            (self.stride is None or 1 <= self.stride <= self.segment_length,
             "stride must be between 1 and the segment length"),
            (1 <= self.epochs <= 100, "epochs must be between 1 and 100"),
            (0 < self.learning_rate < 1, "learning rate must be between 0 and 1"),
            (0 <= self.warmup_ratio < 1, "warm-up ratio must be in [0, 1)"),
            (self.schedule in SCHEDULES, f"schedule must be one of {', '.join(SCHEDULES)}"),
            (0 <= self.min_lr_ratio <= 1, "min_lr_ratio must be in [0, 1]"),
            (1 <= self.lora_rank <= 1024, "LoRA rank must be between 1 and 1024"),
            (self.lora_alpha > 0, "LoRA alpha must be positive"),
            (0 < self.lora_layers <= 1, "the share of layers with LoRA must be in (0, 1]"),
            (0 <= self.lora_dropout < 1, "LoRA dropout must be in [0, 1)"),
            (self.micro_batch_size >= 1, "micro-batch size must be at least 1"),
            (self.grad_accum_steps >= 1, "gradient accumulation steps must be at least 1"),
            (self.max_grad_norm > 0, "max_grad_norm must be positive"),
            (self.checkpoint_every >= 1, "checkpoint interval must be at least 1 step"),
            (self.checkpoint_minutes >= 0, "checkpoint minutes must not be negative"),
            (self.compile in COMPILE_CHOICES, f"compile must be one of {', '.join(COMPILE_CHOICES)}"),
            (self.aux_weight >= 0, "auxiliary weight must be non-negative"),
            (0 < self.aux_items_per_1k_tokens <= 100, "auxiliary items per 1,000 tokens must be in (0, 100]"),
            (self.up_to_page is None or self.up_to_page >= 1, "up_to_page must be a page number (1 or more)"),
            (0 < self.study_per_1k_tokens <= 200, "study questions per 1,000 tokens must be in (0, 200]"),
            (self.study_targets in STUDY_TARGETS, f"study targets must be one of {', '.join(STUDY_TARGETS)}"),
            (self.study_answers in STUDY_ANSWERS, f"study answers must be one of {', '.join(STUDY_ANSWERS)}"),
            (1 <= self.study_top_k <= 1024, "study top-k must be between 1 and 1024"),
            (64 <= self.study_window_tokens <= 32768, "study window must be 64 to 32,768 tokens"),
            (self.study_batch >= 1, "study batch must be at least 1"),
            (0 <= self.study_reading <= 1, "study reading share must be between 0 and 1"),
            (self.study_weight >= 0 and self.segment_weight >= 0, "loss weights must be non-negative"),
            (self.segment_weight > 0 or self.study or self.aux_tasks,
             "with segment weight 0 there must be study or auxiliary items to train"),
        ]
        for ok, message in checks:
            if not ok:
                raise BadInputError(message)

    @property
    def effective_stride(self) -> int:
        return self.stride or default_stride(self.segment_length)

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "MemorizeSettings":
        known = {f.name for f in fields(cls)}
        return cls(**{**_ADDED_LATER, **{k: v for k, v in data.items() if k in known}})

    def with_changes(self, **changes) -> "MemorizeSettings":
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def training_key(self) -> str:
        """Identity of what is trained (not of how often we checkpoint)."""
        data = self.as_dict()
        data.pop("checkpoint_every")
        data.pop("checkpoint_minutes")
        data.pop("compile")
        for name, before in _ADDED_LATER.items():
            if data[name] == before:
                data.pop(name)
        data["stride"] = self.effective_stride
        if not self.study:
            data.pop("study_templates", None)  # no questions were asked: the templates do not matter
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]

    @classmethod
    def for_hardware(cls, device: str) -> "MemorizeSettings":
        """The app's recipe for a device class: CPU (256-token segments) or CUDA (the authors' 2,048).

        Measured on the CPU with the embedded model (docs/EVAL.md); on CUDA the same
        recipe with longer segments has not been measured yet.
        """
        recipe = cls(epochs=1, learning_rate=1e-4, aux_tasks=True, contextualized=True)
        if device.startswith("cuda"):
            return recipe.with_changes(segment_length=2048, checkpoint_every=25)
        return recipe


def job_key(book_hash: str, base_fingerprint: str, settings: MemorizeSettings) -> str:
    """Names a memorize job: same book, base model and settings = same job (resumable)."""
    raw = f"{book_hash}:{base_fingerprint}:{settings.training_key()}"
    return hashlib.sha256(raw.encode()).hexdigest()[:20]
