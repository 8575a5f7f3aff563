"""Summaries of an evaluation: per-condition means with bootstrap intervals, Markdown, JSON, a chart."""

from __future__ import annotations

import math
from pathlib import Path

from lift_reader.core.evaluation.conditions import APP_DEFAULT_MODE
from lift_reader.core.evaluation.metrics import bootstrap_ci, paired_bootstrap_diff

# (key in an item's scores, column title, item type or None for all, higher is better)
METRICS = (
    ("acc_raw", "MC acc (raw)", "mc", True),
    ("acc_calibrated", "MC acc (calibrated)", "mc", True),
    ("f1", "open F1", "open", True),
    ("rouge_l", "open ROUGE-L", "open", True),
    ("gold_nll", "gold NLL/token (lower is better)", None, False),
    ("evidence_recall", "evidence in context", None, True),
)
COMPARED = ("acc_calibrated", "f1", "gold_nll")
REFERENCE = "icl"


def _values(items: list[dict], key: str, kind: str | None) -> list[tuple[tuple, float]]:
    out = []
    for it in items:
        value = it.get(key)
        if (kind is None or it["type"] == kind) and isinstance(value, (int, float)) and math.isfinite(value):
            out.append(((it["doc_id"], it["item_id"]), float(value)))
    return out


def _items_of(results: list[dict], name: str) -> list[dict]:
    return [{**it, "doc_id": r["doc_id"]} for r in results for it in r["conditions"][name]["items"]]


def chance_accuracy(results: list[dict]) -> float | None:
    """Expected multiple-choice accuracy of picking an option at random, or None without MC items.

    Averaged over the distinct questions (1 / number of options each), so a set that mixes
    four- and five-option questions gets the right line to compare against.
    """
    options = {}
    for r in results:
        for entry in r["conditions"].values():
            for it in entry["items"]:
                if it["type"] == "mc" and it.get("option_logprobs"):
                    options[(r["doc_id"], it["item_id"])] = len(it["option_logprobs"])
    return sum(1 / n for n in options.values()) / len(options) if options else None


def summarise(results: list[dict], conditions: tuple[str, ...], *, seed: int = 0,
              resamples: int = 1000) -> dict:
    """{"conditions": {name: {metric: {mean, low, high, n}, "skipped": [...]}}, "differences": {...},
    "chance": MC accuracy of a random pick or None}."""
    summary: dict = {"conditions": {}, "differences": {}, "reference": REFERENCE,
                     "chance": chance_accuracy(results)}
    for name in conditions:
        items = _items_of(results, name)
        entry: dict = {"n": len(items),
                       "skipped": [{"doc_id": r["doc_id"], "reason": r["conditions"][name]["skipped"]}
                                   for r in results if r["conditions"][name]["skipped"]]}
        for key, _, kind, _ in METRICS:
            values = [v for _, v in _values(items, key, kind)]
            if values:
                mean, low, high = bootstrap_ci(values, seed=seed, resamples=resamples)
                entry[key] = {"mean": mean, "low": low, "high": high, "n": len(values)}
        summary["conditions"][name] = entry
    if REFERENCE in conditions:
        ref_items = _items_of(results, REFERENCE)
        for name in conditions:
            if name == REFERENCE:
                continue
            diffs = {}
            for key in COMPARED:
                kind = {"acc_calibrated": "mc", "f1": "open"}.get(key)
                ref = dict(_values(ref_items, key, kind))
                own = dict(_values(_items_of(results, name), key, kind))
                common = [k for k in own if k in ref]
                if common:
                    mean, low, high = paired_bootstrap_diff([own[k] for k in common], [ref[k] for k in common],
                                                            seed=seed, resamples=resamples)
                    diffs[key] = {"mean": mean, "low": low, "high": high, "n": len(common)}
            summary["differences"][name] = diffs
    return summary


def _cell(stat: dict | None) -> str:
    if not stat:
        return "-"
    return f"{stat['mean']:.3f} [{stat['low']:.3f}, {stat['high']:.3f}]"


def _label(name: str) -> str:
    return f"{name} (app default)" if name == APP_DEFAULT_MODE else name


def markdown(summary: dict, *, command: str, header_lines: list[str], n_docs: int) -> str:
    """The report: reproducing command, setup, the table per condition, differences to icl."""
    conds = summary["conditions"]
    shown = [(k, title) for k, title, _, _ in METRICS if any(k in c for c in conds.values())]
    lines = ["# LIFT Reader evaluation", "", "Reproduce with:", "", "```", command, "```", ""]
    lines += [f"- {h}" for h in header_lines] + [""]
    lines.append("| condition | " + " | ".join(t for _, t in shown) + " | n |")
    lines.append("|---" * (len(shown) + 2) + "|")
    for name, c in conds.items():
        n = c["n"]
        skipped = c["skipped"]
        if skipped and len(skipped) == n_docs:
            lines.append(f"| {_label(name)} | skipped: {skipped[0]['reason']} |" + " |" * len(shown))
            continue
        note = f" ({n_docs - len(skipped)} of {n_docs} documents)" if skipped else ""
        lines.append(f"| {_label(name)}{note} | " + " | ".join(_cell(c.get(k)) for k, _ in shown) + f" | {n} |")
    if summary.get("chance") is not None:
        lines += ["", f"Picking a multiple-choice option at random scores {summary['chance']:.3f} on these questions."]
    diffs = summary.get("differences") or {}
    if any(diffs.values()):
        keys = [k for k in COMPARED if any(k in d for d in diffs.values())]
        titles = {k: t for k, t, _, _ in METRICS}
        lines += ["", f"Difference to `{summary['reference']}` on the same questions (paired bootstrap, 95%); "
                  "an interval that excludes 0 is a difference outside the noise:", ""]
        lines.append("| condition | " + " | ".join(f"Δ {titles[k]}" for k in keys) + " |")
        lines.append("|---" * (len(keys) + 1) + "|")
        for name, d in diffs.items():
            lines.append(f"| {_label(name)} | " + " | ".join(_cell(d.get(k)) for k in keys) + " |")
    return "\n".join(lines) + "\n"


def write_chart(summary: dict, path: Path, title: str = "") -> bool:
    """A PNG with one bar panel per headline metric and 95% intervals; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    conds = summary["conditions"]
    panels = [(k, t) for k, t, _, _ in METRICS if k in ("acc_calibrated", "f1", "gold_nll")
              and any(k in c for c in conds.values())]
    if not panels:
        return False
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), squeeze=False)
    for ax, (key, label) in zip(axes[0], panels):
        names = [n for n, c in conds.items() if key in c]
        means = [conds[n][key]["mean"] for n in names]
        errors = [[m - conds[n][key]["low"] for n, m in zip(names, means)],
                  [conds[n][key]["high"] - m for n, m in zip(names, means)]]
        colors = ["#c0504d" if n == APP_DEFAULT_MODE else "#4f81bd" for n in names]
        ax.bar(range(len(names)), means, yerr=errors, capsize=3, color=colors)
        ax.set_xticks(range(len(names)), names, rotation=35, ha="right")
        ax.set_title(label, fontsize=10)
        if key != "gold_nll":
            ax.set_ylim(0, 1)
        if key.startswith("acc_") and summary.get("chance") is not None:
            ax.axhline(summary["chance"], color="#555555", linestyle="--", linewidth=1,
                       label=f"random pick ({summary['chance']:.2f})")
            ax.legend(loc="upper right", fontsize=8, frameon=False)  # the bars sit near the line; the top is free
        ax.grid(axis="y", alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
