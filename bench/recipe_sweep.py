"""Memorize recipes compared on one evaluation document: each variant changes one setting of the default.

Every variant is one ``lift-reader eval`` run (a subprocess, so each measures the real command line)
with ``--conditions icl,rag,lift+icl,lift+rag`` on one document, into its own folder under
``bench/out/recipe-sweep/``.  ``icl`` and ``rag`` do not depend on the recipe, so they are scored once
and copied into every variant's folder before it runs (the eval reuses a condition whose key matches);
only the adapter and the two ``lift`` conditions are computed per variant.  Scores whose key matches
are taken from the default recipe's folder or, before that exists, from the committed LooGLE run
(docs/eval/loogle/results.json, made with the default recipe), so the default variant costs nothing
when that run is there.  A stopped sweep resumes: a finished variant is not recomputed.

The table gives, per variant, the adapter's steps and final loss, ``lift+icl`` and ``lift+rag`` open
F1 and gold NLL per token, and ``lift+rag`` minus ``rag`` on the same questions (paired bootstrap,
95%).  Default document: LooGLE short-dependency document 3, on which the default recipe was chosen
(docs/EVAL.md).

    .venv/bin/python bench/recipe_sweep.py                      # all variants, ~8 min each on 2 cores
    .venv/bin/python bench/recipe_sweep.py --variants rank8,seg512
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
from lift_reader.cli_eval import recipe_flags
from lift_reader.core.settings import MemorizeSettings

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
}
CONDITIONS = ("icl", "rag", "lift+icl", "lift+rag")


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
    folder = args.out_dir / "recipe-sweep" / name
    seed_scores([args.out_dir / "recipe-sweep" / "default" / "results.json", COMMITTED_RUN], args.doc_id, folder)
    command = [str(Path(sys.executable).parent / "lift-reader"), "eval", str(args.questions),
               "--doc-ids", args.doc_id, "--conditions", ",".join(CONDITIONS), "--seed", "0",
               *recipe(VARIANTS[name][1]), "--out", str(folder), "--quiet"]
    print(f"[{name}] {' '.join(command[1:])}", file=sys.stderr, flush=True)
    subprocess.run(command, check=True, env=env)
    return json.loads((folder / "results.json").read_text(encoding="utf-8"))


def row(name: str, results: dict) -> list:
    from lift_reader.core.evaluation.metrics import paired_bootstrap_diff

    doc = results["documents"][0]
    conds = results["summary"]["conditions"]

    def mean(cond, key):
        stat = conds[cond].get(key)
        return stat["mean"] if stat else None

    def nll(cond):
        return {it["item_id"]: it["gold_nll"] for it in doc["conditions"][cond]["items"]
                if isinstance(it.get("gold_nll"), (int, float))}

    own, ref = nll("lift+rag"), nll("rag")
    common = [k for k in own if k in ref]
    diff, low, high = paired_bootstrap_diff([own[k] for k in common], [ref[k] for k in common])
    adapter = doc.get("adapter") or {}
    scores = [adapter.get("final_loss"), mean("lift+icl", "f1"), mean("lift+icl", "gold_nll"),
              mean("lift+rag", "f1"), mean("lift+rag", "gold_nll")]
    return [VARIANTS[name][0], adapter.get("steps"), adapter.get("duration_s"),
            *[None if v is None else bc.Ratio(v) for v in scores],  # three decimals: the differences are small
            f"{diff:+.3f} [{low:+.3f}, {high:+.3f}]"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--out-dir", type=Path, default=bc.OUT_DIR, help="where the variants' folders and the report go")
    p.add_argument("--questions", type=Path, default=QUESTIONS, help="question set (.jsonl)")
    p.add_argument("--doc-id", default="loogle_shortdep_qa_3", help="the document to compare recipes on")
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
                     ["variant", "steps", "memorize s", "final loss", "lift+icl F1", "lift+icl NLL", "lift+rag F1",
                      "lift+rag NLL", "Δ NLL lift+rag - rag [95%]"])
    reference = None
    for name in names:
        results = run_variant(name, args, env)
        table.add(*row(name, results))
        reference = reference or results
    conds = reference["summary"]["conditions"]
    table.notes.append(f"recipe-free conditions on the same questions: icl F1 {conds['icl']['f1']['mean']:.3f}, "
                       f"NLL {conds['icl']['gold_nll']['mean']:.3f}; rag F1 {conds['rag']['f1']['mean']:.3f}, "
                       f"NLL {conds['rag']['gold_nll']['mean']:.3f}")
    table.notes.append("default recipe: " + " ".join(DEFAULT_RECIPE))
    table.notes.append("memorize s is the training time stored with the adapter; a reused adapter keeps the time "
                       "of the run that made it, on whatever else that machine was doing then")
    bc.report("recipe-sweep", "Memorize recipe sweep", [table], bc.machine_facts(), args.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
