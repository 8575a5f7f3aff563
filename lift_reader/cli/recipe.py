"""The memorize recipe's flags: one table that every parser (memorize, batch, eval), the reading of
parsed arguments into ``MemorizeSettings`` and the evaluation's reproducing command read.

Each row names the flag, the ``MemorizeSettings`` field it sets and how argparse reads it.  Rows
with ``in_eval`` are the recipe an evaluation memorizes with: ``lift-reader eval`` accepts them and
its reproducing command spells them out.  Nothing here imports torch (building the parser stays quick).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

from lift_reader.cli.common import positive_int


@dataclass(frozen=True)
class RecipeFlag:
    flag: str
    field: str  # the MemorizeSettings field
    help: str = ""
    type: Any = None
    choices: tuple[str, ...] | None = None
    metavar: str | None = None
    switch: str | None = None
    """"on/off": --x / --no-x; "on": --x only; None: the flag takes a value."""
    in_eval: bool = False
    """Part of the recipe an evaluation memorizes with (eval's parser and reproducing command)."""
    omit: tuple = field(default=())
    """Values the reproducing command leaves out (the default spelled by no flag)."""
    needs: str | None = None
    """A field that must be on for this one to be spelled out."""

    def add_to(self, parser: argparse.ArgumentParser) -> None:
        kwargs: dict[str, Any] = {"dest": self.field, "help": self.help or None}
        if self.switch == "on/off":
            kwargs.update(action=argparse.BooleanOptionalAction, default=None)
        elif self.switch == "on":
            kwargs.update(action="store_true", default=None)
        else:
            kwargs.update(type=self.type, choices=self.choices, metavar=self.metavar)
        parser.add_argument(self.flag, **kwargs)

    def spelled(self, value: Any) -> list[str]:
        """This flag for ``value`` on a command line ([] when nothing needs saying)."""
        if value is None or value in self.omit:
            return []
        if self.switch == "on/off":
            return [self.flag if value else "--no-" + self.flag[2:]]
        if self.switch == "on":
            return [self.flag] if value else []
        return [self.flag, f"{value:g}" if isinstance(value, float) else str(value)]


# In the order --help lists them and the reproducing command spells them.
RECIPE_FLAGS = (
    RecipeFlag("--epochs", "epochs", "passes over the book", type=positive_int, in_eval=True),
    RecipeFlag("--lr", "learning_rate", "peak learning rate", type=float, in_eval=True),
    RecipeFlag("--segment-length", "segment_length", "tokens per segment (l)", type=positive_int, in_eval=True),
    RecipeFlag("--stride", "stride", "tokens between segment starts (s; default 3/8 l)", type=positive_int),
    RecipeFlag("--rank", "lora_rank", "LoRA rank", type=positive_int, in_eval=True),
    RecipeFlag("--alpha", "lora_alpha", "LoRA alpha", type=positive_int),
    RecipeFlag("--dropout", "lora_dropout", "LoRA dropout", type=float),
    RecipeFlag("--micro-batch", "micro_batch_size", "segments per forward pass", type=positive_int),
    RecipeFlag("--grad-accum", "grad_accum_steps", "micro-batches per optimizer step (under torchrun: default, "
               "the number of processes)", type=positive_int),
    RecipeFlag("--schedule", "schedule", choices=("cosine", "linear", "constant")),
    RecipeFlag("--warmup", "warmup_ratio", "fraction of steps for warm-up", type=float),
    RecipeFlag("--seed", "seed", type=int),
    RecipeFlag("--checkpoint-every", "checkpoint_every", "optimizer steps between checkpoints", type=positive_int),
    RecipeFlag("--checkpoint-minutes", "checkpoint_minutes", "minutes of training between checkpoints as well "
               "(default 2.5; 0: by steps only)", type=float),
    RecipeFlag("--compile", "compile", "torch.compile the model for this run (default auto: runs of 300,000 "
               "tokens or more)", choices=("auto", "on", "off")),
    RecipeFlag("--target-modules", "target_modules", "'all-linear' or comma-separated module names to put "
               "LoRA on", in_eval=True),
    RecipeFlag("--lora-layers", "lora_layers", "LoRA on the top SHARE of the decoder layers only, e.g. 0.5 "
               "(default 1: all); the backward pass stops at the lowest adapted layer", type=float,
               metavar="SHARE", in_eval=True, omit=(1,)),
    RecipeFlag("--aux", "aux_tasks", "train auxiliary question/answer items made from the book beside the "
               "segments (default: on)", switch="on/off", in_eval=True),
    RecipeFlag("--aux-per-1k", "aux_items_per_1k_tokens", "with --aux: auxiliary items per 1,000 book tokens "
               "(default 2)", type=float, in_eval=True, needs="aux_tasks"),
    RecipeFlag("--aux-reading", "aux_reading", "with --aux: every other auxiliary item shows the passage it "
               "comes from", switch="on", in_eval=True),
    RecipeFlag("--contextualized", "contextualized", "train each segment after a short head/tail excerpt of "
               "the book and an instruction to recite (the method's contextualized variant; default: on)",
               switch="on/off", in_eval=True),
    RecipeFlag("--study", "study", "the study stage: dense questions about every part of the book, answered "
               "with no book text, taught by the model reading the passage (docs/EVAL.md)", switch="on/off",
               in_eval=True, omit=(False,)),
    RecipeFlag("--study-per-1k", "study_per_1k_tokens", "with --study: questions per 1,000 book tokens "
               "(default 20)", type=float, in_eval=True, needs="study"),
    RecipeFlag("--study-targets", "study_targets", "with --study: distill the reading model's answer "
               "distribution (default), train on the answer tokens, or both", choices=("distill", "labels", "both"),
               in_eval=True, needs="study"),
    RecipeFlag("--study-answers", "study_answers", "with --study: answer with the sentence's own words "
               "(default) or the reading model's greedy answer", choices=("known", "teacher"), in_eval=True,
               needs="study"),
    RecipeFlag("--study-reading", "study_reading", "with --study: share of the questions asked again with "
               "their passage shown, so the adapter keeps reading retrieved text (default 0)", type=float,
               metavar="SHARE", in_eval=True, omit=(0,), needs="study"),
    RecipeFlag("--segment-weight", "segment_weight", "weight of the book's segments in the loss (default 1; 0 "
               "trains no segments)", type=float, in_eval=True, omit=(1,)),
    RecipeFlag("--aux-weight", "aux_weight", "weight gamma of the auxiliary loss", type=float),
    RecipeFlag("--up-to-page", "up_to_page", "spoiler-safe: memorize only up to this page", type=positive_int),
)


def add_memorize_options(parser: argparse.ArgumentParser) -> None:
    """Every recipe flag (memorize and batch); unset ones take the hardware's defaults."""
    for flag in RECIPE_FLAGS:
        flag.add_to(parser)


def add_eval_recipe_options(parser: argparse.ArgumentParser) -> None:
    """The recipe flags an evaluation memorizes with."""
    for flag in RECIPE_FLAGS:
        if flag.in_eval:
            flag.add_to(parser)


def given_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The MemorizeSettings fields that the parsed ``args`` set (flags not given are None)."""
    return {f.field: getattr(args, f.field) for f in RECIPE_FLAGS if getattr(args, f.field, None) is not None}


def memorize_settings(args: argparse.Namespace, device: str):
    """The hardware's MemorizeSettings with what ``args`` set."""
    from lift_reader.core.memorize.settings import MemorizeSettings

    return MemorizeSettings.for_hardware(device).with_changes(**given_settings(args))


def recipe_flags(given) -> list[str]:
    """The evaluation's recipe flags for ``given``: MemorizeSettings (every flag) or parsed arguments
    (those given), in the table's order."""
    parts: list[str] = []
    for flag in RECIPE_FLAGS:
        if flag.in_eval and (flag.needs is None or getattr(given, flag.needs, None)):
            parts += flag.spelled(getattr(given, flag.field, None))
    return parts
