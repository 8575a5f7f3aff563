"""``lift-reader eval``: measure answer quality per way of asking (see core/evaluation)."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


# The same names as core.evaluation.conditions.CONDITION_NAMES (a test checks); spelled out
# here so that building the parser does not import torch.
CONDITION_NAMES = ("closed", "icl", "lift", "lift+icl", "rag", "lift+rag", "full")


def add_recipe_options(p) -> None:
    """The memorize recipe's flags, shared by memorize, batch and eval (docs/EVAL.md has the table)."""
    p.add_argument("--target-modules", help="'all-linear' or comma-separated module names to put LoRA on")
    p.add_argument("--lora-layers", type=float, metavar="SHARE",
                   help="LoRA on the top SHARE of the decoder layers only, e.g. 0.5 (default 1: all); "
                        "the backward pass stops at the lowest adapted layer")
    p.add_argument("--aux", action=argparse.BooleanOptionalAction, dest="aux_tasks", default=None,
                   help="train auxiliary question/answer items made from the book beside the segments "
                        "(default: on)")
    p.add_argument("--aux-per-1k", type=float, dest="aux_items_per_1k_tokens",
                   help="with --aux: auxiliary items per 1,000 book tokens (default 2)")
    p.add_argument("--aux-reading", action="store_true", default=None,
                   help="with --aux: every other auxiliary item shows the passage it comes from")
    p.add_argument("--contextualized", action=argparse.BooleanOptionalAction, default=None,
                   help="train each segment after a short head/tail excerpt of the book and an instruction "
                        "to recite (the method's contextualized variant; default: on)")
    p.add_argument("--study", action=argparse.BooleanOptionalAction, default=None,
                   help="the study stage: dense questions about every part of the book, answered with no book "
                        "text, taught by the model reading the passage (docs/EVAL.md)")
    p.add_argument("--study-per-1k", type=float, dest="study_per_1k_tokens",
                   help="with --study: questions per 1,000 book tokens (default 20)")
    p.add_argument("--study-targets", choices=["distill", "labels", "both"],
                   help="with --study: distill the reading model's answer distribution (default), train on "
                        "the answer tokens, or both")
    p.add_argument("--study-answers", choices=["known", "teacher"],
                   help="with --study: answer with the sentence's own words (default) or the reading model's "
                        "greedy answer")
    p.add_argument("--study-reading", type=float, dest="study_reading", metavar="SHARE",
                   help="with --study: share of the questions asked again with their passage shown, so the "
                        "adapter keeps reading retrieved text (default 0)")
    p.add_argument("--segment-weight", type=float,
                   help="weight of the book's segments in the loss (default 1; 0 trains no segments)")


def add_eval_parser(sub) -> None:
    p = sub.add_parser("eval", help="evaluate answer quality on a question set (closed, icl, lift, rag, ...)",
                       description="Score every question of a question set (one JSON document per line) under "
                                   "each condition; writes results.json, results.md and results.png.")
    p.add_argument("questions", type=Path, help="question set (.jsonl), e.g. ../shared/data/quality_dev.jsonl")
    p.add_argument("--docs", type=_positive_int, help="only the first N documents")
    p.add_argument("--doc-ids", help="only these documents (comma-separated doc_id values)")
    p.add_argument("--conditions", nargs="+", default=["all"], metavar="NAME",
                   help=f"which conditions (comma- or space-separated; default all): {', '.join(CONDITION_NAMES)}")
    p.add_argument("--out", type=Path, help="output folder (default: eval-results/<question set name>)")
    p.add_argument("--seed", type=int, default=0, help="seeds memorizing and the bootstrap (default 0)")
    p.add_argument("--context-tokens", type=_positive_int,
                   help="book tokens in the prompt for icl/rag modes (default: the app's, 1024 on CPU, 7800 on CUDA)")
    p.add_argument("--max-new-tokens", type=_positive_int, default=32, help="length of greedy answers (default 32)")
    p.add_argument("--retrieval", choices=["bm25", "hybrid"], default="bm25", help="passage ranking for rag modes")
    p.add_argument("--resamples", type=_positive_int, default=1000, help="bootstrap resamples (default 1000)")
    p.add_argument("--epochs", type=_positive_int, help="memorize: passes over the book")
    p.add_argument("--lr", type=float, dest="learning_rate", help="memorize: peak learning rate")
    p.add_argument("--segment-length", type=_positive_int, help="memorize: tokens per segment")
    p.add_argument("--rank", type=_positive_int, dest="lora_rank", help="memorize: LoRA rank")
    add_recipe_options(p)
    p.add_argument("--home", type=Path, metavar="DIR",
                   help="library and adapters of the evaluation (default: eval/ in the data folder; "
                        "the reader's library is never touched)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def reproducing_command(args, context_tokens: int, conditions: tuple[str, ...], out: Path, memorize=None) -> str:
    """The command line with every setting spelled out, so later default changes cannot alter it.

    With ``memorize`` (the MemorizeSettings the run uses) the recipe is spelled out too;
    otherwise only the memorize flags that were given.
    """
    parts = ["lift-reader"]
    if args.model:
        parts += ["--model", args.model]
    if args.device != "auto":
        parts += ["--device", args.device]
    if args.precision != "auto":
        parts += ["--precision", args.precision]
    parts += ["eval", str(args.questions)]
    if args.docs:
        parts += ["--docs", str(args.docs)]
    if args.doc_ids:
        parts += ["--doc-ids", args.doc_ids]
    parts += ["--conditions", ",".join(conditions), "--seed", str(args.seed), "--context-tokens", str(context_tokens),
              "--max-new-tokens", str(args.max_new_tokens), "--retrieval", args.retrieval]
    parts += recipe_flags(memorize if memorize is not None else args)
    if args.resamples != 1000:
        parts += ["--resamples", str(args.resamples)]
    parts += ["--out", str(out)]
    return shlex.join(parts)


def recipe_flags(given) -> list[str]:
    """The memorize flags for ``given``: MemorizeSettings (every flag) or parsed arguments (those given)."""
    parts = []
    for flag, name in (("--epochs", "epochs"), ("--lr", "learning_rate"), ("--segment-length", "segment_length"),
                       ("--rank", "lora_rank"), ("--target-modules", "target_modules")):
        value = getattr(given, name)
        if value is not None:
            parts += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
    if getattr(given, "lora_layers", None) is not None and given.lora_layers != 1:
        parts += ["--lora-layers", f"{given.lora_layers:g}"]
    if given.aux_tasks is not None:
        parts.append("--aux" if given.aux_tasks else "--no-aux")
    if given.aux_items_per_1k_tokens is not None and given.aux_tasks:
        parts += ["--aux-per-1k", f"{given.aux_items_per_1k_tokens:g}"]
    if given.aux_reading:
        parts.append("--aux-reading")
    if given.contextualized is not None:
        parts.append("--contextualized" if given.contextualized else "--no-contextualized")
    if getattr(given, "study", None):
        parts.append("--study")
        for flag, name in (("--study-per-1k", "study_per_1k_tokens"), ("--study-targets", "study_targets"),
                           ("--study-answers", "study_answers"), ("--study-reading", "study_reading")):
            value = getattr(given, name, None)
            if value is not None and not (name == "study_reading" and value == 0):
                parts += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
    if getattr(given, "segment_weight", None) is not None and given.segment_weight != 1:
        parts += ["--segment-weight", f"{given.segment_weight:g}"]
    return parts


def run_eval(args) -> int:
    from lift_reader.store.paths import eval_home, library_home_at

    # Its documents and adapters in a library of their own: they never appear among the reader's books.
    with library_home_at(args.home or eval_home()) as home:
        print(f"evaluation library: {home}", file=sys.stderr)
        return _run_eval(args)


def _run_eval(args) -> int:
    from lift_reader.cli import install_sigint_cancel
    from lift_reader.cli_commands import _memorize_settings, _workspace
    from lift_reader.core.evaluation import EvalConfig, evaluate, parse_conditions
    from lift_reader.core.memorize.training import CancelToken

    conditions = parse_conditions(args.conditions)
    out = args.out or Path("eval-results") / args.questions.stem
    ws = _workspace(args)
    device = ws.lm.placement.device
    context_tokens = args.context_tokens or (7800 if device.startswith("cuda") else 1024)
    memorize = _memorize_settings(args, device)
    config = EvalConfig(conditions=conditions, context_tokens=context_tokens, max_new_tokens=args.max_new_tokens,
                        retrieval=args.retrieval, memorize=memorize, seed=args.seed, resamples=args.resamples)
    command = reproducing_command(args, context_tokens, conditions, out, memorize)
    print(command, file=sys.stderr)
    cancel = CancelToken()
    install_sigint_cancel(cancel)
    doc_ids = [d.strip() for d in args.doc_ids.split(",") if d.strip()] if args.doc_ids else None
    outputs = evaluate(ws, args.questions, config, out, docs=args.docs, doc_ids=doc_ids, command=command,
                       show_progress=not args.quiet, cancel=cancel)
    print(outputs.markdown)
    print(f"wrote {outputs.json_path}, {outputs.markdown_path}"
          + (f", {outputs.chart_path}" if outputs.chart_path else " (no chart: pip install 'lift-reader[eval]')"),
          file=sys.stderr)
    return 0
