"""Answer-ending rules compared on the evaluation's own prompts: which one ends answers and keeps F1.

For every open question of the chosen documents and conditions, the prompt is built by the app's
``prepare_answer`` and encoded once (``PromptScorer``, as ``lift-reader eval`` does); then the greedy
answer is decoded once per rule from copies of the same KV cache (``PromptScorer.greedy``, the
eval's and the app's decoding loop).  The ``none`` rule is the answers as they were before answer
rules existed (stop strings only), so its F1 is "today's" on the same prompts.  Adapters come from the
evaluation's library (``--home``; default recipe, reused by training key, trained if missing).

Per rule and condition: F1 (best reference), the median answer length in words against the
references' median, and how many answers hold a word 4-gram three or more times (a loop).

    .venv/bin/python bench/answer_rules.py ../shared/data/fairytaleqa_dev.jsonl \
        --doc-ids old-dschang,the-selfish-giant,black-arts --conditions closed,rag,lift,lift+rag \
        --home /path/to/data/eval
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import time
from pathlib import Path

import bench_common as bc  # noqa: F401  (puts the repository on sys.path, offline)
from lift_reader.core.ask.answer_rule import DEFAULT_RULE, NO_RULE, AnswerRule, answer_end, most_repeated_ngram
from lift_reader.core.ask.prompts import stop_strings_for

RULES = {
    "none": NO_RULE,
    "2 sentences": AnswerRule(max_sentences=2, no_repeat_ngram=0),
    "2 sentences + no 4-gram": AnswerRule(max_sentences=2, no_repeat_ngram=4),
    "1 sentence + no 4-gram": AnswerRule(max_sentences=1, no_repeat_ngram=4),
    "2 sentences + penalty 1.2": AnswerRule(max_sentences=2, no_repeat_ngram=0, repetition_penalty=1.2),
}
# A sentence limit only cuts what the same loop guard would have generated anyway, so these answers are
# the decoded answer of another rule cut where this rule ends it (exact; saves a decode on a busy CPU).
CUT_FROM = {"2 sentences": "none", "1 sentence + no 4-gram": "2 sentences + no 4-gram"}


def words(text: str) -> int:
    return len(text.split())


def run(args) -> dict:
    from lift_reader.core.ask.answering import prepare_answer
    from lift_reader.core.evaluation.conditions import ask_settings, condition
    from lift_reader.core.evaluation.dataset import load_question_set
    from lift_reader.core.evaluation.evaluate import select_documents
    from lift_reader.core.evaluation.metrics import best_over_references, paired_bootstrap_diff, token_f1
    from lift_reader.core.evaluation.runner import ensure_adapter
    from lift_reader.core.evaluation.scoring import PromptScorer, model_state
    from lift_reader.core.memorize.settings import MemorizeSettings
    from lift_reader.core.workspace import Workspace

    unknown = [n for n in args.rules.split(",") if n not in RULES]
    if unknown:
        raise SystemExit(f"unknown rule(s) {', '.join(unknown)}; choose among: {', '.join(RULES)}")
    rules = {name: RULES[name] for name in args.rules.split(",")}
    if "none" not in rules:
        raise SystemExit("--rules must include none: the other rules are compared with it")
    ws = Workspace(progress=lambda m: print(m, file=sys.stderr))
    settings = MemorizeSettings.for_hardware(ws.lm.placement.device)  # the command line's, no flags given
    doc_ids = [d for d in (args.doc_ids or "").split(",") if d]
    docs = select_documents(load_question_set(args.questions), docs=args.docs, doc_ids=doc_ids or None)
    # Every answered question is appended at once, so a long run that is stopped goes on where it was.
    done_path = bc.OUT_DIR / f"{args.name}.rows.jsonl"
    done = {}
    if done_path.exists():
        for line in done_path.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            done[(r["doc_id"], r["item_id"], r["condition"])] = r
    bc.OUT_DIR.mkdir(exist_ok=True)
    rows = []
    for doc in docs:
        book = doc.book()
        record = ws.add_text(book, f"{args.questions.name}#{doc.doc_id}")
        tokens = ws.book_tokens(record)
        for name in args.conditions.split(","):
            cond = condition(name)
            adapter = ensure_adapter(ws, record, settings, show_progress=True)[0] if cond.uses_adapter else None
            ask = ask_settings(cond, book_tokens=len(tokens), context_tokens=args.context_tokens,
                               max_new_tokens=args.max_new_tokens)
            with ws.model_lock, model_state(ws.lm, adapter):
                for item in [i for i in doc.items if i.type == "open"][:args.max_items]:
                    old = done.get((doc.doc_id, item.id, name))
                    if old is not None and set(rules) <= set(old["answers"]):
                        rows.append(old)
                        continue
                    stream = prepare_answer(ws.lm, book, tokens, item.question, adapter=adapter, settings=ask)
                    scorer = PromptScorer(ws.lm, stream.prompt_ids)
                    row = {"doc_id": doc.doc_id, "item_id": item.id, "condition": name,
                           "references": list(item.answers), "answers": {}}
                    for rule_name, rule in rules.items():
                        if rule_name in CUT_FROM and CUT_FROM[rule_name] in row["answers"]:
                            source = row["answers"][CUT_FROM[rule_name]]
                            end = answer_end(source + " ", rule, stop_strings_for(ws.lm.tokenizer))
                            row["answers"][rule_name] = source[:end].strip() if end is not None else source
                        else:
                            row["answers"][rule_name] = scorer.greedy(args.max_new_tokens, rule)
                    rows.append(row)
                    with done_path.open("a", encoding="utf-8") as f:
                        f.write(json.dumps(row) + "\n")
                    print(f"{doc.doc_id} {name} {item.id}: {row['answers']['none'][:60]!r}", file=sys.stderr)
    table = {}
    for name in args.conditions.split(","):
        mine = [r for r in rows if r["condition"] == name]
        ref_median = statistics.median(statistics.median(words(a) for a in r["references"]) for r in mine)
        before = [best_over_references(token_f1, r["answers"]["none"], r["references"]) for r in mine]
        for rule_name in rules:
            answers = [r["answers"][rule_name] for r in mine]
            f1 = [best_over_references(token_f1, a, r["references"]) for a, r in zip(answers, mine)]
            diff, low, high = paired_bootstrap_diff(f1, before)
            table[(name, rule_name)] = {
                "n": len(mine), "f1": statistics.fmean(f1), "f1_minus_none": [diff, low, high],
                "median_words": statistics.median(words(a) for a in answers), "reference_median_words": ref_median,
                "loops": sum(most_repeated_ngram(a) >= 3 for a in answers),
            }
    return {"rows": rows, "table": [{"condition": c, "rule": r, **v} for (c, r), v in table.items()]}


def markdown(result: dict, command: str) -> str:
    lines = [f"`{command}`", "",
             "| condition | rule | n | F1 | F1 - none [95% paired bootstrap] | median words (refs) | answers with a 4-gram x3+ |",
             "|---|---|---:|---:|---|---:|---:|"]
    for r in result["table"]:
        diff, low, high = r["f1_minus_none"]
        lines.append(f"| {r['condition']} | {r['rule']} | {r['n']} | {r['f1']:.3f} | {diff:+.3f} [{low:+.3f}, {high:+.3f}] "
                     f"| {r['median_words']:g} ({r['reference_median_words']:g}) | {r['loops']} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("questions", type=Path)
    p.add_argument("--docs", type=int)
    p.add_argument("--doc-ids")
    p.add_argument("--conditions", default="closed,rag,lift+rag")
    p.add_argument("--max-items", type=int, help="only the first N open questions of each document")
    p.add_argument("--context-tokens", type=int, default=1024)
    p.add_argument("--max-new-tokens", type=int, default=32)
    p.add_argument("--home", type=Path, help="the evaluation's library (default: eval/ in the data folder)")
    p.add_argument("--rules", default=",".join(RULES),
                   help=f"comma-separated, among: {', '.join(RULES)} (none is always needed)")
    p.add_argument("--name", default="answer-rules")
    args = p.parse_args(argv)
    from lift_reader.store.paths import eval_home, library_home_at

    started = time.time()
    with library_home_at(args.home or eval_home()):
        result = run(args)
    command = "python bench/answer_rules.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    text = markdown(result, command) + f"\n{time.time() - started:.0f} s; default rule now: {DEFAULT_RULE.describe()}\n"
    print(text)
    (bc.OUT_DIR / f"{args.name}.md").write_text(text, encoding="utf-8")
    (bc.OUT_DIR / f"{args.name}.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
