"""A needle question set: invented facts hidden in a real book, asked as open questions.

Writes a question set in the eval format (one JSON document per line, see docs/EVAL.md): for each
length (default the first 4K and 16K tokens of The Time Machine), one document holding that much
of the book with six invented facts put in as paragraphs of their own, two at each depth (10%, 50%
and 90% of the document).  Each fact is asked as an open question; its reference answer is the
invented detail, and ``meta`` records the depth and the needle sentence (as ``evidence``).

    .venv/bin/python bench/needles.py                       # writes bench/out/needles.jsonl
    .venv/bin/lift-reader eval bench/out/needles.jsonl --conditions closed,lift,rag,lift+rag --out bench/out/needles-eval
    .venv/bin/python bench/needles.py --score bench/out/needles-eval/results.json

``--score`` prints recall per condition and depth: a needle counts as recalled when every word of
its reference answer (SQuAD-normalised) is in the greedy answer.  The facts are invented, so no
model knows them without the book; none of them is near the head or tail window of 512 tokens.

Token counts use the embedded model's tokenizer when it has been converted, else 4 characters a
token (the embedded tokenizer averages about 4.2 on English prose).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import bench_common as bc

BOOK = bc.SHARED_BOOKS / "pg35.txt"
DEPTHS = (0.1, 0.5, 0.9)
# (needle sentence, question, reference answer): two per depth, in the order of DEPTHS.
NEEDLES = (
    ("The door of the laboratory had been painted saffron yellow by a carpenter named Ezra Colville.",
     "Who painted the door of the laboratory?", "Ezra Colville"),
    ("On the mantel stood a brass barometer that the Medical Man had won at a raffle in Brighton.",
     "Where did the Medical Man win the brass barometer?", "at a raffle in Brighton"),
    ("The Psychologist kept exactly fourteen silver spoons in a walnut box.",
     "How many silver spoons did the Psychologist keep in his walnut box?", "fourteen"),
    ("Everyone knew that the Editor's favourite dish was eel pie with juniper berries.",
     "What was the Editor's favourite dish?", "eel pie with juniper berries"),
    ("Filby's elder sister lived in the village of Marrowcombe, in Devon.",
     "In which village did Filby's elder sister live?", "Marrowcombe"),
    ("The Time Traveller had a grey whippet, and the dog was called Pilot.",
     "What was the name of the Time Traveller's dog?", "Pilot"),
)


def token_counter():
    """A function giving a text's token count: the embedded tokenizer if converted, else chars / 4."""
    try:
        from transformers import AutoTokenizer

        from lift_reader.core.model.model_source import embedded_model_folder

        folder = embedded_model_folder()
        if folder is not None and (Path(folder) / "tokenizer.json").exists():
            tokenizer = AutoTokenizer.from_pretrained(str(folder))
            return lambda text: len(tokenizer(text, add_special_tokens=False)["input_ids"]), "embedded tokenizer"
    except Exception:  # noqa: BLE001 - any failure falls back to the estimate
        pass
    return (lambda text: len(text) // 4), "4 characters a token"


def cut_at_tokens(paragraphs: list[str], limit: int, count) -> list[str]:
    """The leading paragraphs whose text holds about ``limit`` tokens."""
    kept, used = [], 0
    for para in paragraphs:
        n = count(para)
        if used + n > limit and kept:
            break
        kept.append(para)
        used += n
    return kept


def with_needles(paragraphs: list[str]) -> tuple[str, list[dict]]:
    """The document text with the needles put in at their depths, and the question items."""
    total = sum(len(p) for p in paragraphs)
    inserts: dict[int, list[int]] = {}
    for k, (depth, _) in enumerate((d, n) for d in DEPTHS for n in (0, 1)):
        target, running, index = depth * total, 0, 0
        for index, para in enumerate(paragraphs):
            running += len(para)
            if running >= target:
                break
        inserts.setdefault(index + 1, []).append(k)
    out, items = [], []
    for i, para in enumerate(paragraphs + [""]):
        for k in inserts.get(i, []):
            sentence, question, answer = NEEDLES[k]
            out.append(sentence)
            items.append({"id": f"needle-{k}", "type": "open", "question": question, "answers": [answer],
                          "meta": {"depth": DEPTHS[k // 2], "evidence": sentence}})
        if para:
            out.append(para)
    return "\n\n".join(out), items


def write_set(out: Path, lengths: list[int]) -> None:
    from lift_reader.core.text.documents import open_book

    book = open_book(BOOK)
    paragraphs = [p.strip() for p in book.text.split("\n\n") if p.strip()]
    count, how = token_counter()
    lines = []
    for limit in lengths:
        text, items = with_needles(cut_at_tokens(paragraphs, limit, count))
        lines.append({"dataset": "needles", "doc_id": f"pg35-{limit // 1000}k", "title": book.title,
                      "source": f"{BOOK.name} (first ~{limit} tokens) with invented facts",
                      "license": "public domain (US) text; invented facts by the LIFT Reader developers",
                      "n_words": len(text.split()), "text": text, "items": items})
        print(f"{lines[-1]['doc_id']}: {count(text)} tokens ({how}), {len(items)} needles", file=sys.stderr)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    print(f"wrote {out}", file=sys.stderr)


def recalled(answer: str, reference: str) -> bool:
    from lift_reader.core.evaluation.metrics import normalize_tokens

    said = set(normalize_tokens(answer))
    return all(word in said for word in normalize_tokens(reference))


def score(results_path: Path) -> bc.Table:
    """Recall per condition (all needles, and per depth) from an eval's results.json."""
    results = json.loads(results_path.read_text(encoding="utf-8"))
    hits: dict[str, dict[float, list[bool]]] = {}
    for doc in results["documents"]:
        for name, cond in doc["conditions"].items():
            for item in cond.get("items", []):
                if "answer" not in item:
                    continue
                k = int(str(item["item_id"]).rsplit("-", 1)[1])
                depth = DEPTHS[k // 2]
                reference = NEEDLES[k][2]
                hits.setdefault(name, {}).setdefault(depth, []).append(recalled(item["answer"], reference))
    table = bc.Table(f"Needle recall ({results_path})", ["condition", "recalled", *[f"depth {d:.0%}" for d in DEPTHS]])
    for name, by_depth in hits.items():
        every = [h for hs in by_depth.values() for h in hs]
        table.add(name, f"{sum(every)}/{len(every)}",
                  *[f"{sum(by_depth.get(d, []))}/{len(by_depth.get(d, []))}" for d in DEPTHS])
    return table


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=bc.OUT_DIR / "needles.jsonl", help="where to write the question set")
    p.add_argument("--lengths", type=int, nargs="+", default=[4000, 16000], help="document lengths in tokens")
    p.add_argument("--score", type=Path, help="print needle recall from an eval's results.json instead")
    args = p.parse_args(argv)
    if args.score:
        print(bc.plain_table(score(args.score)))
        return 0
    write_set(args.out, args.lengths)
    return 0


if __name__ == "__main__":
    sys.exit(main())
