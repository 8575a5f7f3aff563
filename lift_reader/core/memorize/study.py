"""The study stage of Memorize: questions about the book, answered closed-book, taught by the reading model.

Training on the book's raw text teaches the adapter to continue the book,
not to answer about it (DESIGN.md section 4).  The study stage adds dense
question/answer items made from every part of the book (core/memorize/study_questions.py)
in the prompt format the app asks in, with *no book text* in the prompt.
Their targets come from a teacher: the same base model, without any adapter,
with the passage around the item's sentence (``window_tokens``, about 768)
in its prompt.  The student (the adapter) learns to give, from memory, the
answer distribution the model gives when it reads the passage
(deep context distillation, as in Knowledge Modules and Cartridges).

Cost: the teacher encodes each window of the book once (windows advance by
half their length, so about two forward passes over the book) and reuses
its KV cache for every item of the window; each item then costs a forward
pass over its ~20-60 question and answer tokens.  Its top-k log-probabilities
per answer token are written to ``<data>/cache/study/<key>/`` in shards as
they are made, so a stopped run, a resumed one and later epochs never
compute them again, and a second recipe on the same book reuses them.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from lift_reader.core.memorize.auxiliary import encode_item, passage_around
from lift_reader.core.text.book import BookText
from lift_reader.core.ask.prompts import encode_prompt_parts
from lift_reader.core.text.book_tokens import BookTokens
from lift_reader.core.memorize.study_questions import StudyQuestion, study_questions
from lift_reader.store.atomic import atomic_write_bytes, atomic_write_text

MAX_STUDY_ITEMS = 20_000
CHARS_PER_TOKEN = 4  # window sizes are set in tokens and cut in characters (English prose: ~4.2)
SHARD_WINDOWS = 8  # teacher windows per cache shard: a stop loses at most this many windows' work
ANSWER_END = "\n\n"
"""Closes every study answer of a base model: a stop string of the app, so answers learned here end."""
TARGETS_FORMAT = 2  # part of the cache key: targets written by another format are not reused


@dataclass(frozen=True)
class StudyItem:
    """One study question: the student's closed-book tokens and the teacher's window."""

    question: StudyQuestion
    input_ids: list[int]
    labels: list[int]
    window: int
    """Index of the teacher's window (``StudySet.windows``)."""
    twin: int | None = None
    """For a reading item (the question again, with its passage in the prompt): the index of its
    closed-book item, whose teacher targets and answer it shares."""

    @property
    def answer_ids(self) -> list[int]:
        return [t for t in self.labels if t != -100]


@dataclass
class StudyBatch:
    """Padded tensors of a few study items (right padding; the loss falls on answer tokens only)."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor
    teacher_ids: torch.Tensor | None = None
    teacher_logp: torch.Tensor | None = None


def needs_teacher(settings) -> bool:
    """Whether a study run must first read the book with the teacher (hard labels on known answers do not)."""
    return settings.study_targets in ("distill", "both") or settings.study_answers == "teacher"


def study_item_count(n_tokens: int, settings) -> int:
    """How many study items a run over ``n_tokens`` book tokens asks for (0 without the study stage)."""
    questions = study_question_count(n_tokens, settings)
    return questions + reading_count(questions, settings)


def study_batch_count(questions: int, reading: int, settings) -> int:
    """Micro-batches per epoch: closed-book and reading items are batched apart."""
    return -(-questions // settings.study_batch) + -(-reading // settings.study_batch)


def study_question_count(n_tokens: int, settings) -> int:
    """How many distinct study questions a run over ``n_tokens`` book tokens asks."""
    if not settings.study:
        return 0
    return min(MAX_STUDY_ITEMS, max(1, round(n_tokens / 1000 * settings.study_per_1k_tokens)))


def reading_count(questions: int, settings) -> int:
    """How many of ``questions`` are asked a second time with their passage shown."""
    return round(questions * settings.study_reading)


def teacher_windows(text: str, end_char: int, window_tokens: int) -> list[tuple[int, int]]:
    """(start, end) character spans of the teacher's windows: half-overlapping, cut at spaces."""
    size = window_tokens * CHARS_PER_TOKEN
    step = size // 2
    spans = []
    start = 0
    while True:
        end = min(end_char, start + size)
        if end < end_char:
            cut = text.rfind(" ", start + step, end)
            end = cut if cut > start else end
        spans.append((start, end))
        if end >= end_char:
            return spans
        nxt = start + step
        space = text.find(" ", nxt, end)
        start = space + 1 if space >= 0 else nxt


def window_for(offset: int, spans: list[tuple[int, int]]) -> int:
    """The window whose middle is nearest ``offset``: the sentence sits well inside it."""
    middles = np.array([(a + b) / 2 for a, b in spans])
    return int(np.abs(middles - offset).argmin())


class StudySet:
    """The study items of one book and, once ``read_with_teacher`` ran, the teacher's targets."""

    def __init__(self, items: list[StudyItem], windows: list[tuple[int, int]], settings, key: str, *,
                 book: BookText, cache_folder: Path, pad_id: int):
        self.items = items
        self.windows = windows
        self.settings = settings
        self.key = key
        """Names the teacher's cache: book, model, questions, windows, k and answer source."""
        self.book = book  # the teacher reads its text
        self.folder = cache_folder / key  # the teacher's targets, in shards
        self.pad_id = pad_id
        self.teacher: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(items)
        self.answer_override: dict[int, list[int]] = {}  # teacher-written answers (study_answers="teacher")

    @classmethod
    def build(cls, lm, book: BookText, tokens: BookTokens, settings, *, model_fingerprint: str,
              cache_folder: Path) -> "StudySet":
        count = study_question_count(len(tokens), settings)
        questions = study_questions(book.text, tokens.end_char, count, settings.seed)
        windows = teacher_windows(book.text, tokens.end_char, settings.study_window_tokens)
        items = []
        for q in questions:
            encoded = encode_item(lm, book.title, q.question, q.answer, q.offset, end=ANSWER_END)
            items.append(StudyItem(q, encoded.input_ids, encoded.labels, window_for(q.offset, windows)))
        # Reading practice: some questions again, with the passage around their sentence shown the way
        # the rag modes show a retrieved passage, so the adapter keeps reading what it is shown.
        rng = np.random.default_rng([settings.seed, 29])
        for twin in sorted(rng.permutation(len(items))[:reading_count(len(items), settings)].tolist()):
            q = items[twin].question
            encoded = encode_item(lm, book.title, q.question, q.answer, q.offset,
                                  passage_around(book.text, q.offset, tokens.end_char), end=ANSWER_END)
            items.append(StudyItem(q, encoded.input_ids, encoded.labels, items[twin].window, twin))
        raw = json.dumps([TARGETS_FORMAT, book.content_hash, model_fingerprint, [[q.question, q.answer] for q in questions],
                          windows, settings.study_top_k, settings.study_answers, book.title])
        tokenizer = lm.tokenizer
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (tokenizer.eos_token_id or 0)
        return cls(items, windows, settings, hashlib.sha256(raw.encode()).hexdigest()[:20], book=book,
                   cache_folder=cache_folder, pad_id=pad)

    def __len__(self) -> int:
        return len(self.items)

    @property
    def distill(self) -> bool:
        return self.settings.study_targets in ("distill", "both")

    @property
    def needs_teacher(self) -> bool:
        return needs_teacher(self.settings)

    @property
    def batches_per_epoch(self) -> int:
        reading = sum(item.twin is not None for item in self.items)
        return study_batch_count(len(self.items) - reading, reading, self.settings)

    def epoch_batches(self, rng: np.random.Generator) -> list[tuple[int, ...]]:
        """Shuffled micro-batches; reading items (long: a passage each) are batched among themselves, so
        a short closed-book item is never padded to a passage's length."""
        b = self.settings.study_batch
        batches = []
        for group in ([i for i, it in enumerate(self.items) if it.twin is None],
                      [i for i, it in enumerate(self.items) if it.twin is not None]):
            order = [group[int(j)] for j in rng.permutation(len(group))]
            batches += [tuple(order[k:k + b]) for k in range(0, len(order), b)]
        return [batches[int(j)] for j in rng.permutation(len(batches))]

    def write_questions(self, path: Path) -> None:
        """The questions as JSON lines (saved beside the adapter so a reader can see what was studied)."""
        atomic_write_text(path, "".join(
            json.dumps({"question": it.question.question, "answer": it.question.answer, "kind": it.question.kind,
                        "offset": it.question.offset}) + "\n" for it in self.items))

    # --- the teacher -------------------------------------------------------------

    def read_with_teacher(self, lm, cancel=None) -> Iterator[tuple[int, int]]:
        """Compute (or load) the teacher's targets window by window; yields (items done, items).

        Stops early when ``cancel`` is set; what was finished stays in the cache.
        """
        by_window: dict[int, list[int]] = {}
        for i, item in enumerate(self.items):
            if item.twin is None:  # a reading item shares its twin's targets
                by_window.setdefault(item.window, []).append(i)
        windows = sorted(by_window)
        shards = [windows[k:k + SHARD_WINDOWS] for k in range(0, len(windows), SHARD_WINDOWS)]
        folder = self.folder
        folder.mkdir(parents=True, exist_ok=True)
        self.write_questions(folder / "questions.jsonl")
        done = 0
        taught = sum(len(m) for m in by_window.values())
        yield done, taught
        for number, shard in enumerate(shards):
            members = [i for w in shard for i in by_window[w]]
            path = folder / f"shard-{number:05d}.npz"
            if not self._load_shard(path, members):
                if cancel is not None and cancel.cancelled:
                    return
                for w in shard:
                    self._teach_window(lm, w, by_window[w])
                    if cancel is not None and cancel.cancelled:
                        return  # this shard is not saved: it is redone on resume
                self._save_shard(path, members)
            done += len(members)
            yield done, taught

    def _teach_window(self, lm, window: int, members: list[int]) -> None:
        """The teacher's top-k for every item of one window: the window is encoded once.

        Known answers: the items' questions and answers go through in one right-padded batch on
        copies of the window's KV cache (a pad after a row's tokens is never attended by them).
        Teacher-written answers are generated item by item.
        """
        from lift_reader.core.ask.generation import _cache_argument, _returned_cache

        book = self.book
        start, end = self.windows[window]
        context = book.text[start:end]
        model, device, k = lm.model, lm.device, self.settings.study_top_k
        cache_arg = _cache_argument(model)
        encoded = [encode_prompt_parts(lm.tokenizer, book.title, context, [], self.items[i].question.question)
                   for i in members]
        prefix = encoded[0][0][:encoded[0][1]]
        tails = [ids[shared:] for ids, shared in encoded]
        assert all(ids[:shared] == prefix for ids, shared in encoded), "items of a window share its prefix"
        with lm.adapter_disabled(), torch.inference_mode():
            out = model(input_ids=torch.tensor([prefix], device=device), use_cache=True, logits_to_keep=1,
                        **{cache_arg: None})
            prefix_cache = _returned_cache(out)
            if self.settings.study_answers == "teacher":
                for i, tail in zip(members, tails):
                    answer, top_ids, top_logp = _greedy_answer(model, lm.tokenizer, tail, copy.deepcopy(prefix_cache),
                                                               cache_arg, device, k)
                    self.answer_override[i] = answer
                    self.teacher[i] = (top_ids.astype(np.int32), top_logp.astype(np.float32))
                return
            answers = [self.items[i].answer_ids for i in members]
            rows = [tail + answer for tail, answer in zip(tails, answers)]
            width = max(len(r) for r in rows)
            batch = torch.zeros((len(rows), width), dtype=torch.long)
            for r, row in enumerate(rows):
                batch[r, :len(row)] = torch.tensor(row)
            past = copy.deepcopy(prefix_cache)
            past.batch_repeat_interleave(len(rows))
            logits = _answer_position_logits(model, batch.to(device), past, cache_arg,
                                             [(len(t) - 1, len(t) - 1 + len(a)) for t, a in zip(tails, answers)])
            for i, row_logits in zip(members, logits):
                top = torch.log_softmax(row_logits, dim=-1).topk(k, dim=-1)
                ids, logp = top.indices.cpu().numpy().astype(np.int32), top.values.cpu().numpy().astype(np.float32)
                # The answer's last token is the end of the answer: the teacher reading the book has no
                # reason to stop there, the app does.  Its target is that token for certain (the KL
                # becomes the cross-entropy of ending the answer).
                end = self.items[i].answer_ids[-1]
                others = [t for t in ids[-1] if t != end][:k - 1]
                ids[-1] = [end, *others]
                logp[-1] = [0.0] + [-1e4] * len(others)
                self.teacher[i] = (ids, logp)

    def _save_shard(self, path: Path, members: list[int]) -> None:
        import io

        lengths = np.array([len(self.teacher[i][0]) for i in members], dtype=np.int32)
        arrays = {"members": np.array(members, dtype=np.int32), "lengths": lengths,
                  "ids": np.concatenate([self.teacher[i][0] for i in members]),
                  "logp": np.concatenate([self.teacher[i][1] for i in members])}
        if self.settings.study_answers == "teacher":
            arrays["answers"] = np.concatenate([np.array(self.answer_override[i], dtype=np.int32) for i in members])
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        atomic_write_bytes(path, buffer.getvalue())

    def _load_shard(self, path: Path, members: list[int]) -> bool:
        try:
            with np.load(path, allow_pickle=False) as data:
                if data["members"].tolist() != members:
                    return False
                bounds = np.concatenate([[0], np.cumsum(data["lengths"])])
                for j, i in enumerate(members):
                    a, b = int(bounds[j]), int(bounds[j + 1])
                    self.teacher[i] = (data["ids"][a:b], data["logp"][a:b])
                    if "answers" in data:
                        self.answer_override[i] = data["answers"][a:b].tolist()
            return True
        except (OSError, KeyError, ValueError):
            return False

    # --- the student's batches ------------------------------------------------------

    def batch(self, members: tuple[int, ...], device) -> StudyBatch:
        rows = []
        sources = [i if self.items[i].twin is None else self.items[i].twin for i in members]
        for i, source in zip(members, sources):
            item = self.items[i]
            prompt = [t for t, lab in zip(item.input_ids, item.labels) if lab == -100]
            answer = self.answer_override.get(source, item.answer_ids)
            rows.append((prompt + answer, [-100] * len(prompt) + answer))
        width = max(len(ids) for ids, _ in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        labels = torch.full((len(rows), width), -100, dtype=torch.long)
        for r, (row_ids, row_labels) in enumerate(rows):
            ids[r, :len(row_ids)] = torch.tensor(row_ids)
            mask[r, :len(row_ids)] = 1
            labels[r, :len(row_labels)] = torch.tensor(row_labels)
        batch = StudyBatch(ids.to(device), mask.to(device), labels.to(device))
        if self.distill:
            batch.teacher_ids = torch.from_numpy(np.concatenate([self.teacher[i][0] for i in sources])).long().to(device)
            batch.teacher_logp = torch.from_numpy(np.concatenate([self.teacher[i][1] for i in sources])).to(device)
        return batch


def _answer_position_logits(model, batch: torch.Tensor, past, cache_arg: str,
                            spans: list[tuple[int, int]]) -> list[torch.Tensor]:
    """Float logits of each row at positions [a, b) (those that predict its answer tokens).

    Through the output layer only at those positions: all positions of a batch of 16 items would
    be a (16 x 60 x 262,144) matrix, 1 GB in fp32.
    """
    from lift_reader.core.memorize.distill_loss import hidden_states, output_logits
    from lift_reader.core.memorize.fused_loss import supports_fused_loss

    if not supports_fused_loss(model):
        out = model(input_ids=batch, use_cache=True, **{cache_arg: past})
        return [out.logits[r, a:b].float() for r, (a, b) in enumerate(spans)]
    hidden = hidden_states(model, batch, use_cache=True, **{cache_arg: past})
    return [output_logits(model, hidden[r, a:b]) for r, (a, b) in enumerate(spans)]


def _greedy_answer(model, tokenizer, tail: list[int], past, cache_arg: str, device, k: int, limit: int = 24):
    """The teacher's own greedy answer (ids up to and including the first newline) and its top-k per token."""
    from lift_reader.core.ask.generation import _returned_cache

    answer, tops_ids, tops_logp = [], [], []
    ids = torch.tensor([tail], device=device)
    eos = tokenizer.eos_token_id
    for _ in range(limit):
        out = model(input_ids=ids, use_cache=True, logits_to_keep=1, **{cache_arg: past})
        past = _returned_cache(out)
        logp = torch.log_softmax(out.logits[0, -1].float(), dim=-1)
        top = logp.topk(k)
        token = int(top.indices[0])
        answer.append(token)
        tops_ids.append(top.indices.cpu().numpy())
        tops_logp.append(top.values.cpu().numpy())
        if token == eos or "\n" in tokenizer.decode([token]):
            break
        ids = torch.tensor([[token]], device=device)
    return answer, np.stack(tops_ids), np.stack(tops_logp)


__all__ = ["StudyBatch", "StudyItem", "StudySet", "needs_teacher", "reading_count", "study_batch_count",
           "study_item_count", "study_question_count", "teacher_windows"]
