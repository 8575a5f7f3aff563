"""Run an evaluation: every document, every condition, every question; resumable per document.

Per document: put its text in the library, memorize it once (or reuse an
adapter of the same book, base model and training settings), then score
each question under each condition.  Each finished document is written to
``<out>/docs/<doc id>.json`` at once; a later run with the same settings
loads it instead of recomputing (a condition is reused when its own key
matches, so changing the memorize settings recomputes only the adapter
conditions).
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from lift_reader.core.ask.answer_rule import rule_for_mode
from lift_reader.core.ask.answering import prepare_answer
from lift_reader.core.evaluation.conditions import (
    CONDITION_NAMES,
    Condition,
    ask_settings,
    condition,
    full_context_problem,
)
from lift_reader.core.evaluation.dataset import EvalDocument
from lift_reader.core.evaluation.item_scores import score_item
from lift_reader.core.evaluation.scoring import BaselineScorer, common_prefix_length, encode, model_state
from lift_reader.core.memorize.settings import MemorizeSettings, job_key
from lift_reader.core.workspace import run_to_end
from lift_reader.errors import BadInputError, LiftReaderError
from lift_reader.store.atomic import atomic_write_json

RESULTS_FORMAT = 1
_MIN_SHARED_PREFIX = 64  # tokens: below this, encoding a shared prefix separately is not worth it


class EvalStopped(LiftReaderError):
    """The run was asked to stop; finished documents are kept."""

    exit_code = 130


@dataclass(frozen=True)
class EvalConfig:
    """What an evaluation run does (all of it is written beside the results)."""

    conditions: tuple[str, ...] = CONDITION_NAMES
    context_tokens: int = 1024
    """Book tokens in the prompt for icl, lift+icl, rag and lift+rag."""
    max_new_tokens: int = 32
    """Length limit of the greedy answers to open questions."""
    retrieval: str = "bm25"
    memorize: MemorizeSettings = field(default_factory=MemorizeSettings)
    seed: int = 0
    """Seeds the bootstrap (the memorize seed is in ``memorize``)."""
    resamples: int = 1000
    """Bootstrap resamples for the 95% intervals."""

    def __post_init__(self):
        for name in self.conditions:
            condition(name)
        if self.context_tokens < 1 or self.max_new_tokens < 1 or self.resamples < 10:
            raise BadInputError("context tokens and new tokens must be positive, resamples at least 10")

    def as_dict(self) -> dict:
        data = asdict(self)
        data["conditions"] = list(self.conditions)
        data["memorize"] = self.memorize.as_dict()
        return data

    def condition_key(self, cond: Condition, model_fingerprint: str, doc: EvalDocument) -> str:
        """Identity of one condition's results on one document (what must match to reuse them)."""
        items = json.dumps([asdict(i) for i in doc.items], sort_keys=True)
        parts = [RESULTS_FORMAT, model_fingerprint, hashlib.sha256(doc.text.encode()).hexdigest(),
                 hashlib.sha256(items.encode()).hexdigest(), cond.name, self.max_new_tokens,
                 asdict(rule_for_mode(cond.mode))]  # the answers' end and loop guard
        if cond.context == "budget":
            parts += [self.context_tokens, self.retrieval if cond.question_dependent_context else ""]
        if cond.uses_adapter:
            parts.append(self.memorize.training_key())
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


def doc_filename(doc_id: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", doc_id).strip("._") or "doc"
    return f"{safe[:80]}-{hashlib.sha1(doc_id.encode()).hexdigest()[:6]}.json"


def _progress_bar(total: int, show: bool, desc: str, unit: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not show, file=sys.stderr, dynamic_ncols=True,
                leave=False if desc == "memorizing" else True)


def run_evaluation(ws, documents: list[EvalDocument], config: EvalConfig, out_dir: Path, *,
                   source: str = "", show_progress: bool = True, cancel=None) -> list[dict]:
    """Evaluate ``documents``; returns one result dict per document (also stored under out_dir/docs)."""
    docs_dir = Path(out_dir) / "docs"
    docs_dir.mkdir(parents=True, exist_ok=True)
    fingerprint = ws.lm.identity.fingerprint
    bar = _progress_bar(sum(len(d.items) for d in documents) * len(config.conditions), show_progress,
                        "questions x conditions", "q")
    results = []
    try:
        for doc in documents:
            path = docs_dir / doc_filename(doc.doc_id)
            stored = _load_stored(path, doc.doc_id)
            keys = {n: config.condition_key(condition(n), fingerprint, doc) for n in config.conditions}
            kept = {n: c for n, c in stored.get("conditions", {}).items() if c.get("key") == keys.get(n)}
            todo = [n for n in config.conditions if n not in kept]
            bar.update(len(doc.items) * (len(config.conditions) - len(todo)))
            result = {**stored, "doc_id": doc.doc_id, "title": doc.title}
            if todo:
                bar.set_postfix_str(doc.doc_id[-24:])
                fresh = evaluate_document(ws, doc, todo, config, keys=keys, source=source, bar=bar,
                                          cancel=cancel, show_progress=show_progress)
                result.update({k: v for k, v in fresh.items() if k != "conditions"})
                result["conditions"] = {**stored.get("conditions", {}), **fresh["conditions"]}
                atomic_write_json(path, result)
            result["conditions"] = {n: result["conditions"][n] for n in config.conditions}
            results.append(result)
    finally:
        bar.close()
    return results


def _load_stored(path: Path, doc_id: str) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) and data.get("doc_id") == doc_id else {}


def evaluate_document(ws, doc: EvalDocument, names: list[str], config: EvalConfig, *, keys: dict[str, str],
                      source: str = "", bar=None, cancel=None, show_progress: bool = False) -> dict:
    """Score every item of ``doc`` under the conditions ``names``."""
    lm = ws.lm
    book = doc.book()
    record = ws.add_text(book, f"{source or 'questions'}#{doc.doc_id}")
    tokens = ws.book_tokens(record)
    result: dict = {"book_hash": record.content_hash, "n_tokens": len(tokens), "conditions": {}}
    adapter = None
    if any(condition(n).uses_adapter for n in names):
        adapter, result["adapter"] = ensure_adapter(ws, record, config.memorize, cancel=cancel,
                                                    show_progress=show_progress)
    longest_question = max(len(lm.tokenizer(i.question, add_special_tokens=False)["input_ids"]) for i in doc.items)
    baselines: dict[str | None, BaselineScorer] = {}
    for name in names:
        cond = condition(name)
        entry = {"key": keys[name], "skipped": None, "items": []}
        result["conditions"][name] = entry
        if cond.context == "whole":
            entry["skipped"] = full_context_problem(lm.context_window, len(tokens), longest_question,
                                                    config.max_new_tokens)
            if entry["skipped"]:
                if bar is not None:
                    bar.update(len(doc.items))
                continue
        settings = ask_settings(cond, book_tokens=len(tokens), context_tokens=config.context_tokens,
                                max_new_tokens=config.max_new_tokens, retrieval=config.retrieval)
        state = adapter if cond.uses_adapter else None
        with ws.model_lock, model_state(lm, state):
            prefix = None
            if not cond.question_dependent_context:
                one = prepare_answer(lm, book, tokens, "x?", adapter=state, settings=settings).prompt_ids
                two = prepare_answer(lm, book, tokens, "y?", adapter=state, settings=settings).prompt_ids
                shared = common_prefix_length(one, two)
                prefix = encode(lm.model, one[:shared]) if shared >= _MIN_SHARED_PREFIX else None
            for item in doc.items:
                if cancel is not None and cancel.cancelled:
                    raise EvalStopped("stopped; finished documents are kept: run the same command again to resume")
                if state not in baselines and item.type == "mc":
                    baselines[state] = BaselineScorer(lm, book.title)
                stream = prepare_answer(lm, book, tokens, item.question, adapter=state, settings=settings)
                entry["items"].append(score_item(stream, item, baseline=baselines.get(state), prefix=prefix,
                                                 max_new_tokens=config.max_new_tokens))
                if bar is not None:
                    bar.update(1)
    return result


def ensure_adapter(ws, record, settings: MemorizeSettings, *, cancel=None,
                   show_progress: bool = False) -> tuple[str, dict]:
    """The name of an adapter of this book trained with ``settings``: reused if one exists, else memorized."""
    from lift_reader.store.adapters import read_meta

    lm = ws.lm
    wanted = settings.training_key()
    for a in ws.library.list_adapters():
        if a.book_hash != record.content_hash:
            continue
        try:
            if MemorizeSettings.from_dict(a.settings).training_key() != wanted:
                continue
            meta = read_meta(a.path)
        except (LiftReaderError, OSError, TypeError, ValueError):
            continue
        if meta.base_fingerprint != lm.identity.fingerprint:
            continue
        lm.attach_adapter(a.name, Path(a.path))
        return a.name, _adapter_info(meta, reused=True)
    key = job_key(record.content_hash, lm.identity.fingerprint, settings)
    name = f"eval {record.content_hash[:10]} {key[:8]}"
    bar = None

    def show(event) -> None:
        nonlocal bar
        if bar is None:
            bar = _progress_bar(event.total_steps, show_progress, "memorizing", "step")
            bar.update(event.step)
        if event.kind == "step":
            bar.update(event.step - bar.n)
            bar.set_postfix(loss=f"{event.loss:.3f}", refresh=False)
        elif event.kind == "stage":
            bar.set_postfix_str(event.message)
        elif event.kind == "start":  # the steps' rate starts now, not with the study stage's reading
            bar.reset(total=event.total_steps)
            bar.update(event.step)

    outcome = run_to_end(ws.memorize(record, settings, resume=ws.has_checkpoint(record, settings), cancel=cancel,
                                     adapter_name=name), show)
    if bar is not None:
        bar.close()
    if not outcome.finished or outcome.adapter is None:
        raise EvalStopped("stopped while memorizing; run the same command again to resume from the checkpoint")
    return outcome.adapter.name, _adapter_info(read_meta(outcome.adapter.path), reused=False)


def _adapter_info(meta, *, reused: bool) -> dict:
    losses = [loss for _, loss in meta.loss_curve if loss is not None]
    return {"name": meta.name, "reused": reused, "steps": meta.steps, "duration_s": meta.duration_s,
            "first_loss": losses[0] if losses else None, "final_loss": meta.final_loss,
            "settings": meta.settings}
