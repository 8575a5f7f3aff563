"""``lift-reader eval``: measure answer quality per way of asking (see core/evaluation)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from lift_reader.cli.common import install_sigint_cancel, positive_int, workspace
from lift_reader.cli.recipe import add_eval_recipe_options, memorize_settings, recipe_flags


# The same names as core.evaluation.conditions.CONDITION_NAMES (a test checks); spelled out
# here so that building the parser does not import torch.
CONDITION_NAMES = ("closed", "icl", "lift", "lift+icl", "rag", "lift+rag", "full")


def add_eval_parser(sub) -> None:
    p = sub.add_parser("eval", help="evaluate answer quality on a question set (closed, icl, lift, rag, ...)",
                       description="Score every question of a question set (one JSON document per line) under "
                                   "each condition; writes results.json, results.md and results.png.")
    p.add_argument("questions", type=Path, help="question set (.jsonl), e.g. ../shared/data/quality_dev.jsonl")
    p.add_argument("--docs", type=positive_int, help="only the first N documents")
    p.add_argument("--doc-ids", help="only these documents (comma-separated doc_id values)")
    p.add_argument("--conditions", nargs="+", default=["all"], metavar="NAME",
                   help=f"which conditions (comma- or space-separated; default all): {', '.join(CONDITION_NAMES)}")
    p.add_argument("--out", type=Path, help="output folder (default: eval-results/<question set name>)")
    p.add_argument("--seed", type=int, default=0, help="seeds memorizing and the bootstrap (default 0)")
    p.add_argument("--context-tokens", type=positive_int,
                   help="book tokens in the prompt for icl/rag modes (default: the app's, 1024 on CPU, 7800 on CUDA)")
    p.add_argument("--max-new-tokens", type=positive_int, default=32, help="length of greedy answers (default 32)")
    p.add_argument("--retrieval", choices=["bm25", "hybrid"], default="bm25", help="passage ranking for rag modes")
    p.add_argument("--resamples", type=positive_int, default=1000, help="bootstrap resamples (default 1000)")
    add_eval_recipe_options(p)
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


def run_eval(args) -> int:
    from lift_reader.store.paths import eval_home, library_home_at

    # Its documents and adapters in a library of their own: they never appear among the reader's books.
    with library_home_at(args.home or eval_home()) as home:
        print(f"evaluation library: {home}", file=sys.stderr)
        return _run_eval(args)


def _run_eval(args) -> int:
    from lift_reader.core.ask.answering import AskSettings
    from lift_reader.core.cancel import CancelToken
    from lift_reader.core.evaluation import EvalConfig, evaluate, parse_conditions

    conditions = parse_conditions(args.conditions)
    out = args.out or Path("eval-results") / args.questions.stem
    ws = workspace(args)
    device = ws.lm.placement.device
    context_tokens = args.context_tokens or AskSettings.for_hardware(device).context_tokens
    memorize = memorize_settings(args, device)
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
