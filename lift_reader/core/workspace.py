"""The app's operations in one place, for the CLI and the GUI workers alike.

A ``Workspace`` owns the library database and the one base model in memory,
and does what a user asks: add a book, memorize it, ask about it, manage
adapters.  It knows nothing of terminals or widgets; long operations are
generators (memorize) or streams (ask) that the caller drives.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Generator, TypeVar

from lift_reader.core.text.book import BookText
from lift_reader.core.memorize import checkpoints as checkpoint_files
from lift_reader.core.text.book_cache import load_book_text, save_book_text
from lift_reader.core.cancel import CancelToken
from lift_reader.core.memorize.distributed import SINGLE, Distributed
from lift_reader.core.ask.conversation import (
    SAVE_EVERY_S, AnswerChecked, AnswerRequest, AnswerStarted, conversation_turns,
)
from lift_reader.core.ask.modes import mode as ask_mode
from lift_reader.core.ask.modes import without_adapter
from lift_reader.core.ask.prompts import Turn
from lift_reader.core.text.book_tokens import BookTokens, tokenize_book, tokenizer_fingerprint
from lift_reader.core.memorize.settings import MemorizeSettings, job_key
from lift_reader.core.memorize.step_breaks import StepBreaks, TrainingPause
from lift_reader.errors import BadInputError, LiftReaderError, NotFoundError
from lift_reader.store import adapters as adapter_files
from lift_reader.store.archive import export_adapter, import_adapter
from lift_reader.store.atomic import staging_folder
from lift_reader.store.library import Library
from lift_reader.store.paths import cache_dir, checkpoints_dir
from lift_reader.store.records import AdapterRecord, BookRecord, validate_adapter_name

if TYPE_CHECKING:  # torch-heavy modules load on first use: `lift-reader add` stays quick
    from lift_reader.core.ask.answering import AnswerStream, AskSettings
    from lift_reader.core.memorize.estimate import MemorizeEstimate
    from lift_reader.core.model.models import LoadedModel
    from lift_reader.core.memorize.training import MemorizeJob, TrainEvent


@dataclass
class MemorizeOutcome:
    """What a finished (or stopped) memorize run left behind."""

    finished: bool
    adapter: AdapterRecord | None
    steps: int
    total_steps: int
    final_loss: float | None


@dataclass(frozen=True)
class PausedRun:
    """A stopped memorize run that Resume can continue: a library book, the loaded base model,
    and the settings saved in its checkpoint (the ones Resume must use)."""

    record: BookRecord
    settings: MemorizeSettings
    step: int
    total_steps: int
    loss_curve: tuple[tuple[int, float], ...]  # every step so far: a resumed run's plot starts with them

    @property
    def fraction(self) -> float:
        return self.step / self.total_steps if self.total_steps else 0.0


class Workspace:
    """Library + one loaded model: every user-level operation of LIFT Reader."""

    _step_breaks: StepBreaks | None = None  # the running memorize run's, while it runs

    def __init__(self, library: Library | None = None, *, model_ref: str | None = None,
                 device: str = "auto", precision: str = "auto", progress: Callable[[str], None] = print):
        self.library = library or Library()
        self.model_ref = model_ref
        self.device = device
        self.precision = precision
        self.progress = progress
        self._lm: LoadedModel | None = None
        self._books: dict[str, BookText] = {}
        self._tokens: dict[str, BookTokens] = {}
        # One lane for the accelerator: training and generation never overlap.
        self.model_lock = threading.RLock()

    # --- model -----------------------------------------------------------------

    @property
    def lm(self) -> LoadedModel:
        if self._lm is None:
            from lift_reader.core.model.models import load_model

            self._lm = load_model(self.model_ref, device=self.device, precision=self.precision,
                                  progress=self.progress)
        return self._lm

    def use_model(self, lm: LoadedModel) -> None:
        """Use an already loaded model (tests, benchmarks, a GUI that loaded one)."""
        self._lm = lm
        self._tokens.clear()

    # --- books -----------------------------------------------------------------

    def add_book(self, path: str | Path, password: str | None = None) -> BookRecord:
        """Read a book file, cache its text, and put it in the library."""
        from lift_reader.core.text.documents import open_book

        book = open_book(Path(path), password=password)
        return self.add_text(book, Path(path).resolve())

    def add_text(self, book: BookText, path: str | Path) -> BookRecord:
        """Put an already extracted book in the library (evaluation documents, tests).

        ``path`` is recorded as the book's source; the text itself is cached,
        so the file is read again only if that cache is lost.
        """
        save_book_text(book)
        self._books[book.content_hash] = book
        record = BookRecord(
            content_hash=book.content_hash,
            path=str(path),
            title=book.title,
            author=book.author,
            format=book.format,
            pages=book.page_count,
            chars=len(book.text),
        )
        return self.library.add_book(record)

    def find_book(self, key: str | Path, password: str | None = None) -> BookRecord:
        """A library book by hash prefix or path; a path not yet in the library is added."""
        try:
            return self.library.find_book(key)
        except NotFoundError:
            if Path(key).expanduser().is_file():
                return self.add_book(Path(key).expanduser(), password=password)
            raise

    def book_text(self, record: BookRecord) -> BookText:
        """The book's clean text, from memory, the text cache, or the file."""
        book = self._books.get(record.content_hash)
        if book is None:
            book = load_book_text(record.content_hash)
        if book is None:
            from lift_reader.core.text.documents import open_book

            book = open_book(Path(record.path))
            if book.content_hash != record.content_hash:
                raise BadInputError(f"{record.path} has changed since it was added; add it again")
            save_book_text(book)
        self._books[record.content_hash] = book
        return book

    def book_tokens(self, record: BookRecord) -> BookTokens:
        """The book's tokens for the loaded model's tokenizer (cached on disk)."""
        tok = self.lm.tokenizer
        key = f"{record.content_hash}-{tokenizer_fingerprint(tok)}"
        if key in self._tokens:
            return self._tokens[key]
        path = cache_dir("tokens") / f"{key}.npz"
        try:
            tokens = BookTokens.load(path)
        except (OSError, ValueError, KeyError):
            tokens = tokenize_book(self.book_text(record).text, tok)
            tokens.save(path)
            self.library.set_tokens(record.content_hash, len(tokens))
        self._tokens[key] = tokens
        return tokens

    def _tokens_until_page(self, record: BookRecord, page: int | None) -> BookTokens:
        """The book's tokens up to the end of ``page`` (all of them for None): spoiler-safe."""
        tokens = self.book_tokens(record)
        if page is not None:
            return tokens.until_char(len(self.book_text(record).text_until_page(page)))
        return tokens

    def _tokens_for_settings(self, record: BookRecord, settings: MemorizeSettings) -> BookTokens:
        return self._tokens_until_page(record, settings.up_to_page)

    # --- memorize --------------------------------------------------------------

    def estimate(self, record: BookRecord, settings: MemorizeSettings, *, probe: bool = True) -> MemorizeEstimate:
        """Tokens, steps, time and memory.

        The time comes from the speed of earlier runs of the same setup; on a machine that has none,
        ``probe`` times two training passes under the model lock (once per setup and process), and
        without it the speed is guessed from the model's size.
        """
        from lift_reader.core.memorize.estimate import estimate_memorize

        tokens = self._tokens_for_settings(record, settings)
        if not probe:
            return estimate_memorize(self.lm, len(tokens), settings)
        with self.model_lock:
            return estimate_memorize(self.lm, len(tokens), settings, probe_ids=tokens.ids[: settings.segment_length])

    def memorize_job(self, record: BookRecord, settings: MemorizeSettings, dist: Distributed = SINGLE) -> MemorizeJob:
        from lift_reader.core.memorize.training import MemorizeJob

        tokens = self._tokens_for_settings(record, settings)
        key = job_key(record.content_hash, self.lm.identity.fingerprint, settings)
        aux: list = []
        if settings.aux_tasks:
            from lift_reader.core.memorize.auxiliary import build_aux_items

            aux = build_aux_items(self.lm, self.book_text(record), tokens, settings)
        prefixes = None
        if settings.contextualized:
            from lift_reader.core.memorize.contextualized import SegmentPrefixes

            prefixes = SegmentPrefixes(self.lm.tokenizer, self.book_text(record).title, tokens, settings.seed)
        study = None
        if settings.study:
            from lift_reader.core.memorize.study import StudySet

            study = StudySet.build(self.lm, self.book_text(record), tokens, settings,
                                   model_fingerprint=self.lm.identity.fingerprint, cache_folder=cache_dir("study"))
        job = MemorizeJob(self.lm, tokens, settings, job_key=key, checkpoint_dir=checkpoints_dir() / key,
                          aux_items=aux, prefixes=prefixes, dist=dist, study=study)
        job.state.book_hash = record.content_hash  # saved with each checkpoint: whose run it is
        return job

    def memorize(self, record: BookRecord, settings: MemorizeSettings, *, resume: bool = False,
                 cancel: CancelToken | None = None, adapter_name: str | None = None,
                 dist: Distributed = SINGLE, step_breaks: StepBreaks | None = None,
                 ) -> Generator[TrainEvent, None, MemorizeOutcome]:
        """Train, yielding progress; on completion save and register the adapter.

        Returns the run's MemorizeOutcome (the generator's value: ``outcome = yield from ...``,
        or ``run_to_end``), finished or stopped.
        Under torchrun (``dist``) every rank trains and only rank 0 saves.
        With ``step_breaks`` the run pauses between steps for what is handed to
        it (the app's questions: ``ask`` sees ``training_pause`` then).
        """
        with self.model_lock:
            if dist.is_main:
                self.sweep_checkpoints()
            job = self.memorize_job(record, settings, dist)
            job.step_breaks = step_breaks
            started = time.perf_counter()
            self._step_breaks = step_breaks
            try:
                yield from job.run(resume=resume, cancel=cancel)
            finally:
                self._step_breaks = None
            finished = job.state.finished
            adapter = None
            if finished and dist.is_main:
                from lift_reader.core.memorize.estimate import record_throughput

                speed = job.state.tokens_seen / max(job.state.elapsed_s, 1e-6)
                record_throughput(self.lm, settings, speed)
                adapter = self._save_adapter(record, job, adapter_name, time.perf_counter() - started)
                checkpoint_files.remove_checkpoint(job.checkpoint_dir)
            return MemorizeOutcome(finished, adapter, job.state.step, job.total_steps, job.final_loss)

    def _save_adapter(self, record: BookRecord, job: MemorizeJob, name: str | None, duration: float) -> AdapterRecord:
        from lift_reader.core.model.lora import drop_training_adapter, save_adapter_weights

        book = self.book_text(record)
        existing = {a.name for a in self.library.list_adapters()}
        name = validate_adapter_name(name) if name else _default_adapter_name(
            book.title, existing, job.settings.up_to_page)
        if name in existing:
            raise BadInputError(f"an adapter named {name!r} already exists")
        folder = adapter_files.adapter_folder_for(name)
        meta = adapter_files.AdapterMeta(
            name=name, base_model=self.lm.identity.as_dict(), book_hash=record.content_hash,
            book_title=book.title, settings=job.settings.as_dict(), loss_curve=job.state.loss_curve,
            steps=job.state.step, tokens_seen=job.state.tokens_seen, duration_s=round(duration, 2),
            final_loss=job.final_loss,
        )
        with staging_folder(folder) as staged:
            save_adapter_weights(self.lm, job.adapter_name, staged)
            adapter_files.write_meta(staged, meta)
            if job.aux_items:
                from lift_reader.core.memorize.auxiliary import write_aux_items

                write_aux_items(staged / adapter_files.AUX_QA_FILE, job.aux_items)
            if job.study is not None:
                job.study.write_questions(staged / adapter_files.STUDY_QA_FILE)
        # The trained weights are already on the model: register them under the new name.
        drop_training_adapter(self.lm, job.adapter_name)
        self.lm.attach_adapter(name, folder)
        saved = self.library.record_adapter(
            name, record.content_hash, self.lm.identity.label, folder, steps=job.state.step,
            final_loss=meta.final_loss, size_bytes=adapter_files.folder_size(folder), settings=job.settings.as_dict(),
            created_at=meta.created_at,
        )
        # A spoiler-safe adapter answers spoiler-safe chat up to its page (adapter_for) or when the reader
        # activates it; it never replaces the whole-book adapter for ordinary chat.
        if job.settings.up_to_page is None or self.library.active_adapter(record.content_hash) is None \
                and _page_limit(record, job.settings.up_to_page) is None:
            self.library.set_active_adapter(record.content_hash, name)
        return saved

    def _checkpoint_folder(self, record: BookRecord, settings: MemorizeSettings) -> Path:
        return checkpoints_dir() / job_key(record.content_hash, self.lm.identity.fingerprint, settings)

    def has_checkpoint(self, record: BookRecord, settings: MemorizeSettings) -> bool:
        """Whether a stopped run of this book, model and settings can be resumed."""
        return checkpoint_files.read_state(self._checkpoint_folder(record, settings)) is not None

    def paused_runs(self, fingerprint: str | None = None) -> list[PausedRun]:
        """Stopped runs of library books that Resume can continue on the base model with ``fingerprint``
        (default: the loaded one), the most recently saved first.

        Only reads checkpoint folders, so it may run beside a memorize run (the app lists them
        when it starts and whenever a run stops); what is not a run is ``sweep_checkpoints``' job.
        """
        fingerprint = fingerprint or self.lm.identity.fingerprint
        books = {b.content_hash: b for b in self.library.list_books()}
        runs = []
        for state in checkpoint_files.list_runs(checkpoints_dir()):
            record = books.get(state.book_hash)
            if record is None or state.finished:
                continue
            try:
                settings = MemorizeSettings.from_dict(state.settings)
            except (LiftReaderError, TypeError, ValueError):  # saved by a version whose settings no longer hold
                continue
            if job_key(record.content_hash, fingerprint, settings) == state.job_key:  # else another base model's
                curve = tuple((int(step), float(loss)) for step, loss in state.loss_curve)
                runs.append(PausedRun(record, settings, state.step, state.total_steps, curve))
        return runs

    def discard_checkpoint(self, record: BookRecord, settings: MemorizeSettings) -> None:
        """Forget a stopped run (the user cancelled it for good)."""
        checkpoint_files.remove_checkpoint(self._checkpoint_folder(record, settings))

    def sweep_checkpoints(self) -> list[Path]:
        """Remove checkpoints that are no run to resume (on start of a memorize run and of the app).

        Besides what a crash leaves (``checkpoints.sweep_checkpoints``): runs of
        books no longer in the library, and runs whose adapter was saved after
        their last checkpoint (the process died between saving the adapter and
        removing the checkpoint).  A run of the same settings started again
        after that adapter was saved is newer than it, and stays.
        """
        books = {b.content_hash for b in self.library.list_books()}
        saved_at: dict[str, float] = {}  # job key -> when its newest adapter was saved
        for adapter in self.library.list_adapters():
            key_and_time = _adapter_job_key(adapter)
            if key_and_time is not None:
                key, when = key_and_time
                saved_at[key] = max(saved_at.get(key, 0.0), when)

        def is_orphan(folder: Path, state) -> bool:
            if state.book_hash and state.book_hash not in books:
                return True
            adapter_time = saved_at.get(state.job_key)
            return adapter_time is not None and adapter_time >= (folder / checkpoint_files.STATE_FILE).stat().st_mtime

        return checkpoint_files.sweep_checkpoints(checkpoints_dir(), is_orphan)

    def adapter_trained_with(self, record: BookRecord, settings: MemorizeSettings) -> AdapterRecord | None:
        """An adapter of this book trained on the loaded base model with these settings, if any."""
        key = settings.training_key()
        for adapter in self.library.list_adapters(record.content_hash):
            if adapter.base_model != self.lm.identity.label or not adapter.settings:
                continue
            if MemorizeSettings.from_dict(adapter.settings).training_key() == key:
                return adapter
        return None

    # --- ask -------------------------------------------------------------------

    @staticmethod
    def page_limit(record: BookRecord, page: int | None) -> int | None:
        """``page`` as a spoiler-safe limit, or None when it hides nothing (the book's last page or after)."""
        return _page_limit(record, page)

    @property
    def training_pause(self) -> TrainingPause | None:
        """Set while a memorize run pauses between two steps for questions (in its thread): they are
        answered with its adapter as it stands, or with none (``TrainingPause.adapter_for``)."""
        return self._step_breaks.pause if self._step_breaks is not None else None

    def _attach(self, adapter: AdapterRecord | None) -> str | None:
        """Attach ``adapter`` to the model (checked against the base model); its name, or None."""
        if adapter is None:
            return None
        meta = adapter_files.read_meta(adapter.path)
        self.lm.check_adapter_base(meta.base_model, adapter.name)
        self.lm.attach_adapter(adapter.name, Path(adapter.path))
        return adapter.name

    def adapter_for(self, record: BookRecord, up_to_page: int | None = None) -> AdapterRecord | None:
        """The adapter that answers about ``record`` read up to ``up_to_page`` (None: the whole book).

        The book's active adapter, unless it has read past the page and
        another adapter of this book and base model has not: then the one of
        those that read furthest.  Failing that, the active one (the answer
        says it may give things away: ``AnswerStream.spoiler_notice``).
        """
        active = self.library.active_adapter(record.content_hash)
        page = _page_limit(record, up_to_page)
        if page is None or (active is not None and not _reads_past(active, page)):
            return active
        safe = [a for a in self.library.list_adapters(record.content_hash)
                if a.base_model == self.lm.identity.label and not _reads_past(a, page)]
        return max(safe, key=lambda a: a.settings["up_to_page"], default=active)  # newest first among equals

    def ask(self, record: BookRecord, question: str, settings: AskSettings | None = None, *,
            history: list[Turn] | None = None, cancel: CancelToken | None = None) -> AnswerStream:
        """Prepare an answer stream (iterate it under ``model_lock`` to generate).

        With ``settings.up_to_page`` the book text in the prompt stops at the
        end of that page, and the stream flags an adapter that read further.
        """
        from lift_reader.core.ask.answering import AskSettings, prepare_answer

        settings = settings or AskSettings()
        page = _page_limit(record, settings.up_to_page)
        with self.model_lock:
            pause = self.training_pause
            if pause is not None:  # no other adapter is attached while one trains
                chosen, adapter = None, pause.adapter_for(record.content_hash, page) if settings.uses_adapter else None
            else:
                chosen = self.adapter_for(record, page) if settings.uses_adapter else None
                adapter = self._attach(chosen)
            stream = prepare_answer(self.lm, self.book_text(record), self._tokens_until_page(record, page), question,
                                    adapter=adapter, settings=settings, history=history, cancel=cancel)
            if chosen is not None and page is not None and _reads_past(chosen, page):
                stream.adapter_read_past_page = page
            return stream

    def answer(self, record: BookRecord, request: AnswerRequest, *,
               cancel: CancelToken | None = None) -> Generator[AnswerStarted | str | AnswerChecked, None, str]:
        """Answer ``request`` the one way the app and the CLI both do; returns the answer's text.

        Yields an ``AnswerStarted`` (the saved row, the mode used, the pages shown, what to tell the
        reader), the answer's text pieces, then, unless stopped, an ``AnswerChecked``.  An adapter
        mode on a book with no adapter answers from the book text that mode shows anyway
        (``modes.without_adapter``) and says so.  The exchange is saved in the library as it
        streams (every ``SAVE_EVERY_S``: a crash keeps what was shown); a stopped answer stays marked
        incomplete.  The model lock is held from choosing the adapter to the last piece; the
        grounding check reads only the book's text, after it.
        """
        cancel = cancel or CancelToken()
        library, book = self.library, record.content_hash
        with self.model_lock:
            mode, note = self._answer_mode(record, request)
            history = request.history
            if history is None:
                history = conversation_turns(library.list_messages(book), before_id=request.regenerate_id)
            settings = self._ask_settings(request, mode)
            stream = self.ask(record, request.question, settings, history=list(history), cancel=cancel)
            note = " ".join(filter(None, (note, stream.spoiler_notice)))
            if request.regenerate_id is None:
                library.add_message(book, "user", request.question, mode=mode)
                message_id = library.add_message(book, "assistant", "", mode=mode, pages=stream.pages,
                                                 complete=False)
            else:
                message_id = request.regenerate_id
                library.update_message(message_id, "", False, pages=stream.pages)
            yield AnswerStarted(message_id, mode, tuple(stream.pages), note)
            saved_at = time.monotonic()
            for piece in stream:
                yield piece
                if time.monotonic() - saved_at > SAVE_EVERY_S:
                    library.update_message(message_id, stream.text, False)
                    saved_at = time.monotonic()
            text = stream.text.strip()
            library.update_message(message_id, text, not cancel.cancelled)
        if not cancel.cancelled:
            grounding = stream.check()
            if grounding is not None:  # kept with the answer: the chat shows it again when reopened
                library.save_answer_check(message_id, grounding.to_dict())
            yield AnswerChecked(grounding)
        return text

    def _answer_mode(self, record: BookRecord, request: AnswerRequest) -> tuple[str, str]:
        """(the mode that answers ``request``, what to tell the reader about it)."""
        asked = ask_mode(request.mode)
        if not asked.uses_adapter:
            return asked.name, ""
        note, pause = "", self.training_pause  # set while a memorize run pauses between two steps for it
        if pause is not None:
            page = _page_limit(record, request.up_to_page)
            note, has_adapter = pause.note(record.content_hash, page), pause.adapter_for(record.content_hash, page)
        else:
            has_adapter = self.adapter_for(record, request.up_to_page)
        if has_adapter is not None:
            return asked.name, note
        fallback = without_adapter(asked.name)
        return fallback.name, note or (f"This book is not memorized yet: the answer uses only {fallback.shows} "
                                       f"({fallback.label}).")

    def _ask_settings(self, request: AnswerRequest, mode: str) -> AskSettings:
        """The request's AskSettings: the hardware's context budget unless it names one; greedy unless it
        samples or regenerates (a regenerated answer would repeat the greedy one word for word)."""
        from lift_reader.core.ask.answering import AskSettings
        from lift_reader.core.ask.generation import SamplingSettings

        regenerating = request.regenerate_id is not None
        seed = request.seed
        if seed is None and regenerating:
            seed = random.randrange(2**31)
        sampling = SamplingSettings(greedy=not (request.sample or regenerating), temperature=request.temperature,
                                    max_new_tokens=request.max_new_tokens, seed=seed)
        hardware = AskSettings.for_hardware(self.lm.placement.device)
        context = request.context_tokens if request.context_tokens is not None else hardware.context_tokens
        return replace(hardware, mode=mode, context_tokens=context, sampling=sampling, up_to_page=request.up_to_page)

    # --- adapters --------------------------------------------------------------

    def activate_adapter(self, name: str) -> AdapterRecord:
        """Make ``name`` the adapter that answers for the book it was trained on."""
        record = self.library.get_adapter(name)
        if record is None:
            raise NotFoundError(f"no adapter named {name!r}")
        if self.library.get_book(record.book_hash) is None:
            raise NotFoundError(f"the book {name!r} was trained on is not in the library: add the book first")
        self.library.set_active_adapter(record.book_hash, record.name)
        return record

    def rename_adapter(self, old: str, new: str) -> AdapterRecord:
        record = self.library.rename_adapter(old, new)
        adapter_files.update_meta_name(record.path, record.name)
        if self._lm is not None and old in self._lm.attached:
            self._lm.detach_adapter(old)
        return record

    def remove_adapter(self, name: str) -> AdapterRecord:
        record = self.library.remove_adapter(name)
        if self._lm is not None:
            self._lm.detach_adapter(name)
        adapter_files.remove_adapter_folder(record.path)
        return record

    def export_adapter(self, name: str, zip_path: Path) -> Path:
        record = self.library.get_adapter(name)
        if record is None:
            raise NotFoundError(f"no adapter named {name!r}")
        return export_adapter(record.path, zip_path)

    def import_adapter(self, zip_path: Path, *, check_base: bool = True) -> AdapterRecord:
        expected = self.lm.identity.fingerprint if check_base else None
        folder = import_adapter(zip_path, expected_base_fingerprint=expected,
                                expected_base_model=self.lm.identity.label if check_base else None,
                                existing_names=[a.name for a in self.library.list_adapters()])
        meta = adapter_files.read_meta(folder)
        record = self.library.record_adapter(
            meta.name, meta.book_hash, meta.base_model_id, folder, steps=meta.steps,
            final_loss=meta.final_loss, size_bytes=adapter_files.folder_size(folder), settings=meta.settings,
            created_at=meta.created_at,  # the adapter's own date, not the import's
        )
        if self.library.get_book(meta.book_hash) is not None and self.library.active_adapter(meta.book_hash) is None:
            self.library.set_active_adapter(meta.book_hash, meta.name)
        return record


Event = TypeVar("Event")
Result = TypeVar("Result")


def run_to_end(events: Generator[Event, None, Result], on_event: Callable[[Event], None] = lambda event: None) -> Result:
    """Hand each of ``events`` to ``on_event``; the generator's return value (``Workspace.memorize``'s outcome)."""
    while True:
        try:
            event = next(events)
        except StopIteration as end:
            return end.value
        on_event(event)


def _page_limit(record: BookRecord, page: int | None) -> int | None:
    """``page`` as a limit, or None when it hides nothing (it is the last page or after it)."""
    return page if page is not None and page < record.pages else None


def _reads_past(adapter: AdapterRecord, page: int) -> bool:
    """Whether ``adapter`` was memorized on text after ``page`` (old or imported ones: the whole book)."""
    trained_to = adapter.settings.get("up_to_page") if adapter.settings else None
    return not isinstance(trained_to, int) or trained_to > page


def _adapter_job_key(adapter: AdapterRecord) -> tuple[str, float] | None:
    """(the job key that trained ``adapter``, when its metadata was written), or None if unreadable."""
    try:
        meta = adapter_files.read_meta(adapter.path)
        key = job_key(meta.book_hash, meta.base_fingerprint, MemorizeSettings.from_dict(meta.settings))
        return key, (Path(adapter.path) / adapter_files.META_FILE).stat().st_mtime
    except (LiftReaderError, OSError, ValueError, TypeError, KeyError):
        return None


def _default_adapter_name(title: str, existing: set[str], up_to_page: int | None = None) -> str:
    """The book's title ("<title>, up to p. N" when memorized only that far), made unique with " (2)", ..."""
    base = (title.strip() or "book")[:60]
    if up_to_page is not None:
        base = f"{base}, up to p. {up_to_page}"
    name = base
    n = 2
    while name in existing:
        name = f"{base} ({n})"
        n += 1
    return name

