"""Memorize recipes compared on evaluation documents: each variant changes a few settings of the default.

Every variant is one ``lift-reader eval`` run (a subprocess, so each measures the real command line)
with ``--conditions icl,rag,lift,lift+icl,lift+rag`` on the chosen documents, into its own folder under
``bench/out/recipe-sweep/``.  ``icl`` and ``rag`` do not depend on the recipe, so they are scored once
and copied into every variant's folder before it runs (the eval reuses a condition whose key matches);
only the adapter and the two ``lift`` conditions are computed per variant.  Scores whose key matches
are taken from the default recipe's folder or, before that exists, from the committed LooGLE run
(docs/eval/loogle/results.json, made with the default recipe), so the default variant costs nothing
when that run is there.  A stopped sweep resumes: a finished variant is not recomputed.

The table gives, per variant, the adapter's steps, memorize minutes and final loss, ``lift`` (no book
text), ``lift+icl`` and ``lift+rag`` open F1 and gold NLL per token, and ``lift+rag`` minus ``rag`` on
the same questions (paired bootstrap, 95%); a chart plots F1 against memorize minutes (quality per
minute of the reader's time).  Default document: LooGLE short-dependency document 3, on which the
default recipe was chosen (docs/EVAL.md).

    .venv/bin/python bench/recipe_sweep.py                      # all variants, ~8 min each on 2 cores
    .venv/bin/python bench/recipe_sweep.py --variants rank8,seg512
    .venv/bin/python bench/recipe_sweep.py --questions bench/out/needles.jsonl --doc-id pg35-4k \
        --variants default,study-labels,study-distill --conditions rag,lift,lift+rag
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import bench_common as bc
from lift_reader.cli.recipe import recipe_flags
from lift_reader.core.memorize.settings import MemorizeSettings

QUESTIONS = bc.REPO.parent / "shared" / "data" / "loogle_shortdep_qa.jsonl"
# The app's CPU recipe, so the sweep follows the default wherever it moves.
DEFAULT_SETTINGS = MemorizeSettings.for_hardware("cpu")
DEFAULT_RECIPE = recipe_flags(DEFAULT_SETTINGS)
# name -> (what changes, the MemorizeSettings fields it changes)
VARIANTS = {
    "default": ("the default recipe", {}),
    "rank8": ("LoRA rank 8", {"lora_rank": 8}),
    "rank32": ("LoRA rank 32", {"lora_rank": 32}),
    "seg512": ("512-token segments", {"segment_length": 512}),
    "aux-reading": ("auxiliary reading items", {"aux_reading": True}),
    "epochs2": ("2 epochs", {"epochs": 2}),
    "lr2e-4": ("lr 2e-4", {"learning_rate": 2e-4}),
    "mlp-only": ("LoRA on the MLPs only", {"target_modules": "gate_proj,up_proj,down_proj"}),
    "plain": ("plain LIFT (raw segments only)", {"aux_tasks": False, "contextualized": False}),
    "study-labels": ("+ study, hard labels, 3 epochs at 3e-4",
                     {"study": True, "study_targets": "labels", "epochs": 3, "learning_rate": 3e-4}),
    "study-distill": ("+ study, distillation, 3 epochs at 3e-4",
                      {"study": True, "study_targets": "distill", "epochs": 3, "learning_rate": 3e-4}),
    "study-only": ("study only (no segments), distillation, 3 epochs at 3e-4",
                   {"study": True, "segment_weight": 0.0, "aux_tasks": False, "epochs": 3, "learning_rate": 3e-4}),
}
CONDITIONS = ("icl", "rag", "lift", "lift+icl", "lift+rag")


def recipe(changes: dict) -> list[str]:
    """The eval flags of the default recipe with ``changes`` (MemorizeSettings fields) applied."""
    return recipe_flags(replace(DEFAULT_SETTINGS, **changes))


COMMITTED_RUN = bc.REPO / "docs" / "eval" / "loogle" / "results.json"


def seed_scores(sources: list[Path], doc_id: str, folder: Path) -> None:
    """Give ``folder`` the first stored scores of ``doc_id`` found in ``sources`` (earlier results.json).

    The eval keeps only the conditions whose key matches the new run (same model, questions and, for
    the adapter conditions, the same recipe), so copying whole documents is safe.
    """
    from lift_reader.core.evaluation.runner import doc_filename

    target = folder / "docs" / doc_filename(doc_id)
    if target.exists():
        return
    for source in sources:
        if not source.is_file():
            continue
        for doc in json.loads(source.read_text(encoding="utf-8")).get("documents", []):
            if doc.get("doc_id") == doc_id:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(json.dumps(doc), encoding="utf-8")
                return


def run_variant(name: str, args, env: dict) -> dict:
    folder = args.out_dir / "recipe-sweep" / args.questions.stem / name
    for doc_id in args.doc_id.split(","):
        seed_scores([args.out_dir / "recipe-sweep" / args.questions.stem / "default" / "results.json", COMMITTED_RUN],
                    doc_id, folder)
    command = [str(Path(sys.executable).parent / "lift-reader"), "eval", str(args.questions),
               "--doc-ids", args.doc_id, "--conditions", args.conditions, "--seed", "0",
               *recipe(VARIANTS[name][1]), "--out", str(folder), "--quiet"]
    print(f"[{name}] {' '.join(command[1:])}", file=sys.stderr, flush=True)
    subprocess.run(command, check=True, env=env)
    return json.loads((folder / "results.json").read_text(encoding="utf-8"))


def row(name: str, results: dict) -> list:
    from lift_reader.core.evaluation.metrics import paired_bootstrap_diff

    conds = results["summary"]["conditions"]

    def mean(cond, key):
        stat = conds.get(cond, {}).get(key)
        return stat["mean"] if stat else None

    def nll(cond):
        return {(doc["doc_id"], it["item_id"]): it["gold_nll"] for doc in results["documents"]
                for it in doc["conditions"].get(cond, {}).get("items", []) if isinstance(it.get("gold_nll"), (int, float))}

    own, ref = nll("lift+rag"), nll("rag")
    common = [k for k in own if k in ref]
    delta = "-"
    if common:
        diff, low, high = paired_bootstrap_diff([own[k] for k in common], [ref[k] for k in common])
        delta = f"{diff:+.3f} [{low:+.3f}, {high:+.3f}]"
    adapters = [doc.get("adapter") or {} for doc in results["documents"]]
    steps = sum(a.get("steps") or 0 for a in adapters)
    minutes = sum(a.get("duration_s") or 0 for a in adapters) / 60
    losses = [a["final_loss"] for a in adapters if a.get("final_loss") is not None]
    scores = [sum(losses) / len(losses) if losses else None, mean("lift", "f1"), mean("lift", "gold_nll"),
              mean("lift+icl", "f1"), mean("lift+rag", "f1"), mean("lift+rag", "gold_nll")]
    return [VARIANTS[name][0], steps, round(minutes, 1),
            *[None if v is None else bc.Ratio(v) for v in scores],  # three decimals: the differences are small
            delta]


def chart(table, path: Path) -> Path | None:
    """F1 of lift and lift+rag against memorize minutes, one point per variant."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for column, marker in (("lift F1", "o"), ("lift+rag F1", "s")):
        j = table.columns.index(column)
        points = [(r[2], r[j], r[0]) for r in table.rows if r[j] is not None]
        ax.scatter([p[0] for p in points], [p[1] for p in points], marker=marker, label=column)
        for x, y, label in points:
            ax.annotate(label, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("memorize minutes (2-core CPU)")
    ax.set_ylabel("open-question F1")
    ax.set_title(table.title, fontsize=9)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--out-dir", type=Path, default=bc.OUT_DIR, help="where the variants' folders and the report go")
    p.add_argument("--questions", type=Path, default=QUESTIONS, help="question set (.jsonl)")
    p.add_argument("--doc-id", default="loogle_shortdep_qa_3",
                   help="the document(s) to compare recipes on (comma-separated doc_id values)")
    p.add_argument("--conditions", default=",".join(CONDITIONS), help="eval conditions to score")
    p.add_argument("--variants", default=",".join(VARIANTS),
                   help="comma-separated: " + ", ".join(VARIANTS))
    args = p.parse_args(argv)
    names = [n.strip() for n in args.variants.split(",") if n.strip()]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        p.error(f"unknown variant(s): {', '.join(unknown)}")
    if "default" in names:  # first, so the others can reuse its icl and rag scores
        names.remove("default")
        names.insert(0, "default")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}

    table = bc.Table(f"Memorize recipes on {args.doc_id} (one change from the default each)",
                     ["variant", "steps", "memorize min", "final loss", "lift F1", "lift NLL", "lift+icl F1",
                      "lift+rag F1", "lift+rag NLL", "Δ NLL lift+rag - rag [95%]"])
    reference = None
    for name in names:
        results = run_variant(name, args, env)
        table.add(*row(name, results))
        reference = reference or results
    conds = reference["summary"]["conditions"]
    for name in ("icl", "rag"):
        if name in conds and conds[name].get("f1"):
            table.notes.append(f"recipe-free {name} on the same questions: F1 {conds[name]['f1']['mean']:.3f}, "
                               f"NLL {conds[name]['gold_nll']['mean']:.3f}")
    table.notes.append("default recipe: " + " ".join(DEFAULT_RECIPE))
    table.notes.append("memorize min is the training time stored with the adapters (the study stage's reading "
                       "included); a reused adapter keeps the time of the run that made it, on whatever else that "
                       "machine was doing then")
    figure = chart(table, args.out_dir / f"recipe-sweep-{args.questions.stem}.png")
    if figure is not None:
        table.notes.append(f"chart: {figure}")
    bc.report("recipe-sweep", "Memorize recipe sweep", [table], bc.machine_facts(), args.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
