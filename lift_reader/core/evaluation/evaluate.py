"""One call for a whole evaluation: load the set, run it, write results.json, results.md, results.png."""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path

from lift_reader.core.ask.answer_rule import rule_for_mode
from lift_reader.core.evaluation.conditions import condition
from lift_reader.core.evaluation.dataset import EvalDocument, load_question_set
from lift_reader.core.evaluation.report import markdown, summarise, write_chart
from lift_reader.core.evaluation.runner import EvalConfig, run_evaluation
from lift_reader.errors import BadInputError
from lift_reader.store.atomic import atomic_write_json, atomic_write_text

JSON_NAME, MARKDOWN_NAME, CHART_NAME = "results.json", "results.md", "results.png"


@dataclass
class EvalOutputs:
    json_path: Path
    markdown_path: Path
    chart_path: Path | None  # None when matplotlib is missing (pip install 'lift-reader[eval]')
    summary: dict
    markdown: str


def select_documents(documents: list[EvalDocument], *, docs: int | None = None,
                     doc_ids: list[str] | None = None) -> list[EvalDocument]:
    """The named documents (in file order), else the first ``docs`` of them, else all."""
    if doc_ids:
        known = {d.doc_id for d in documents}
        missing = [i for i in doc_ids if i not in known]
        if missing:
            raise BadInputError(f"no document {missing[0]!r} in the question set")
        documents = [d for d in documents if d.doc_id in set(doc_ids)]
    return documents[:docs] if docs else documents


def _answer_rules(config: EvalConfig) -> str:
    """The answer rule of each condition's mode, once per distinct rule."""
    by_rule: dict[str, list[str]] = {}
    for name in config.conditions:
        by_rule.setdefault(rule_for_mode(condition(name).mode).describe(), []).append(name)
    if len(by_rule) == 1:
        return next(iter(by_rule))
    return "; ".join(f"{', '.join(names)}: {rule}" for rule, names in by_rule.items())


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _setup_lines(ws, config: EvalConfig, documents: list[EvalDocument], source: str) -> list[str]:
    m = config.memorize
    n_mc = sum(i.type == "mc" for d in documents for i in d.items)
    n_open = sum(i.type == "open" for d in documents for i in d.items)
    lm = ws.lm
    return [
        f"Question set: `{source}`: {_count(len(documents), 'document')}, {n_mc} multiple-choice and "
        f"{n_open} open questions",
        f"Model: {lm.identity.label} ({lm.identity.fingerprint}) on {lm.placement.describe()}, "
        f"window {lm.context_window:,} tokens; Python {platform.python_version()}",
        f"Context budget (icl, lift+icl, rag, lift+rag): {config.context_tokens} book tokens; "
        f"retrieval: {config.retrieval}; greedy answers of at most {config.max_new_tokens} tokens, "
        f"ended as the app ends them ({_answer_rules(config)})",
        f"Memorizing: segments {m.segment_length}/{m.effective_stride}, {_count(m.epochs, 'epoch')}, "
        f"lr {m.learning_rate:g} ({m.schedule}), LoRA r={m.lora_rank} alpha={m.lora_alpha} on {m.target_modules}, "
        f"auxiliary QA {_aux(m)}, contextualized segments {'on' if m.contextualized else 'off'}, study {_study(m)}, "
        f"seed {m.seed}",
        "Multiple choice: raw = highest option log-likelihood; calibrated = highest log p(option | prompt) "
        "minus log p(option | same prompt without book and question)",
        "Open questions: token F1 and ROUGE-L of the greedy answer (best reference); "
        "gold NLL/token = mean negative log-likelihood per token of the gold option or first reference answer",
        f"Intervals: 95% percentile bootstrap over questions ({config.resamples} resamples, seed {config.seed})",
    ]


def evaluate(ws, questions: str | Path, config: EvalConfig, out_dir: str | Path, *, docs: int | None = None,
             doc_ids: list[str] | None = None, command: str = "", show_progress: bool = True,
             cancel=None) -> EvalOutputs:
    """Run ``config`` on the question set and write the three outputs under ``out_dir``."""
    out_dir = Path(out_dir)
    documents = select_documents(load_question_set(questions), docs=docs, doc_ids=doc_ids)
    source = Path(questions).name
    results = run_evaluation(ws, documents, config, out_dir, source=str(Path(questions).resolve()),
                             show_progress=show_progress, cancel=cancel)
    summary = summarise(results, config.conditions, seed=config.seed, resamples=config.resamples)
    text = markdown(summary, command=command, header_lines=_setup_lines(ws, config, documents, source),
                    n_docs=len(results))
    json_path, md_path, chart_path = out_dir / JSON_NAME, out_dir / MARKDOWN_NAME, out_dir / CHART_NAME
    import lift_reader

    atomic_write_json(json_path, {
        "command": command, "questions": str(Path(questions).resolve()), "app_version": lift_reader.__version__,
        "model": ws.lm.identity.as_dict(), "config": config.as_dict(), "summary": summary, "documents": results,
    })
    atomic_write_text(md_path, text)
    drawn = write_chart(summary, chart_path, title=f"{source}: {_count(len(documents), 'document')}")
    return EvalOutputs(json_path, md_path, chart_path if drawn else None, summary, text)


def _study(m) -> str:
    if not m.study:
        return "off"
    reading = f", {m.study_reading:.0%} again with their passage" if m.study_reading else ""
    segments = "" if m.segment_weight == 1 else f", segment weight {m.segment_weight:g}"
    return f"on ({m.study_per_1k_tokens:g} per 1K tokens, {m.study_targets}, {m.study_answers} answers{reading}{segments})"


def _aux(m) -> str:
    if not m.aux_tasks:
        return "off"
    return f"on ({m.aux_items_per_1k_tokens:g} per 1K tokens{', half with their passage' if m.aux_reading else ''})"
