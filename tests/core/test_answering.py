"""Asking: context windows, prompt formats, streaming, modes."""

import pytest

from lift_reader.core.ask.answering import AskSettings, prepare_answer
from lift_reader.core.ask.context import MARKER, head_tail_context
from lift_reader.core.ask.generation import SamplingSettings, _safe_prefix, stream_tokens
from lift_reader.core.ask.prompts import Turn, completion_prompt, encode_prompt
from lift_reader.errors import BadInputError



def test_head_tail_context_keeps_both_ends_and_cites_their_pages(book, tokens):
    window = head_tail_context(book, tokens, 200)
    assert MARKER in window.text
    head, tail = window.text.split(MARKER)
    assert book.text.startswith(head)
    assert book.text.rstrip().endswith(tail.rstrip())
    pages = window.pages(book)
    assert pages[0] == 1 and pages[-1] == book.page_count
    assert len(pages) < book.page_count  # the middle is left out


def test_whole_book_when_it_fits(book, tokens):
    window = head_tail_context(book, tokens, len(tokens) + 10)
    assert window.text == book.text and MARKER not in window.text


def test_spoiler_safe_tokens_end_at_the_cut(book, tokens):
    cut = tokens.until_char(5000)
    window = head_tail_context(book, cut, 100)
    assert window.spans[-1][1] == 5000
    assert max(window.pages(book)) == book.page_at(4999)


def test_completion_prompt_format():
    prompt = completion_prompt("T", "ctx", [Turn("q1", "a1")], "q2")
    assert prompt.endswith("Question: q1\nAnswer: a1\n\nQuestion: q2\nAnswer:")
    assert "ctx" in prompt


def test_chat_template_is_used_for_instruction_models(tiny_parts):
    tok = tiny_parts[0]
    import copy

    chat_tok = copy.deepcopy(tok)
    chat_tok.chat_template = "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}<assistant>"
    ids = encode_prompt(chat_tok, "T", "some context", [], "Who?")
    text = chat_tok.decode(ids)
    assert text.startswith("<system>") and text.endswith("<user>Who?<assistant>")
    plain = tok.decode(encode_prompt(tok, "T", "some context", [], "Who?"))
    assert plain.rstrip().endswith("Question: Who?\nAnswer:")


def test_stream_is_greedy_reproducible_and_stops_on_request(tiny_lm, book, tokens):
    settings = AskSettings(mode="icl", context_tokens=64, sampling=SamplingSettings(max_new_tokens=12))
    one = prepare_answer(tiny_lm, book, tokens, "Who keeps the light?", adapter=None, settings=settings)
    pieces = list(one)
    assert pieces and "".join(pieces) == one.text
    two = prepare_answer(tiny_lm, book, tokens, "Who keeps the light?", adapter=None, settings=settings)
    assert two.full_text() == one.text.strip()

    from lift_reader.core.memorize.training import CancelToken

    cancel = CancelToken()
    three = prepare_answer(tiny_lm, book, tokens, "Who keeps the light?", adapter=None, settings=settings,
                           cancel=cancel)
    got = []
    for piece in three:
        got.append(piece)
        cancel.cancel()
    assert len(got) == 1


def test_stop_strings_are_never_emitted():
    assert _safe_prefix("Paris\nQuest", ("\nQuestion:",)) == "Paris"
    assert _safe_prefix("Paris\ufffd", ()) == "Paris"


def test_stream_tokens_cuts_at_a_stop_string(tiny_lm, tokens):
    tok = tiny_lm.tokenizer
    ids = tokens.ids[:30].tolist()
    full = "".join(stream_tokens(tiny_lm.model, tok, ids, SamplingSettings(max_new_tokens=30)))
    assert full
    stop = full[len(full) // 2:len(full) // 2 + 2]
    if stop.strip():
        cut = "".join(stream_tokens(tiny_lm.model, tok, ids, SamplingSettings(max_new_tokens=30),
                                    stop_strings=(stop,)))
        assert stop not in cut and full.startswith(cut)


def test_modes_need_an_adapter_or_say_so(tiny_lm, book, tokens):
    with pytest.raises(BadInputError, match="memorize"):
        prepare_answer(tiny_lm, book, tokens, "Who?", adapter=None, settings=AskSettings(mode="lift+icl"))
    with pytest.raises(BadInputError):
        AskSettings(mode="nonsense")
    with pytest.raises(BadInputError):
        prepare_answer(tiny_lm, book, tokens, "   ", adapter=None, settings=AskSettings(mode="icl"))


def test_lift_mode_has_no_book_context(tiny_lm, book, tokens, tmp_path):
    from lift_reader.core.model.lora import add_training_adapter, drop_training_adapter, save_adapter_weights
    from lift_reader.core.memorize.settings import MemorizeSettings

    add_training_adapter(tiny_lm, "memorizing", MemorizeSettings())
    save_adapter_weights(tiny_lm, "memorizing", tmp_path / "a")
    drop_training_adapter(tiny_lm, "memorizing")
    # User-visible names may hold dots and spaces, which peft keys may not.
    tiny_lm.attach_adapter("Ledger v1.2 (2)", tmp_path / "a")
    stream = prepare_answer(tiny_lm, book, tokens, "Who?", adapter="Ledger v1.2 (2)", settings=AskSettings(mode="lift"))
    assert stream.full_text() is not None
    assert stream.context.is_empty and stream.pages == []
    assert book.text[:40] not in tiny_lm.tokenizer.decode(stream.prompt_ids)


def test_history_is_trimmed_to_fit_the_window(tiny_lm, book, tokens):
    long_turns = [Turn("question " * 50, "answer " * 100) for _ in range(6)]
    settings = AskSettings(mode="icl", context_tokens=200, history_turns=6,
                           sampling=SamplingSettings(max_new_tokens=8))
    stream = prepare_answer(tiny_lm, book, tokens, "Who?", adapter=None, settings=settings, history=long_turns)
    assert len(stream.prompt_ids) <= tiny_lm.context_window


def test_the_book_context_is_encoded_once_for_successive_questions(tiny_lm, book, tokens):
    settings = AskSettings(mode="icl", context_tokens=300, sampling=SamplingSettings(max_new_tokens=10))
    first = prepare_answer(tiny_lm, book, tokens, "Who keeps the light?", adapter=None, settings=settings)
    first.full_text()
    cache = tiny_lm.prompt_cache
    assert first.prefix_len > 250 and cache.ids == tuple(first.prompt_ids[: first.prefix_len])

    calls = []
    original_forward = tiny_lm.model.forward

    def counting_forward(*args, **kwargs):
        calls.append(kwargs["input_ids"].shape[1])
        return original_forward(*args, **kwargs)

    tiny_lm.model.forward = counting_forward
    second = prepare_answer(tiny_lm, book, tokens, "Where is the island?", adapter=None, settings=settings)
    cached_text = second.full_text()
    assert calls[0] == len(second.prompt_ids) - second.prefix_len  # only the question was encoded

    tiny_lm.prompt_cache.clear()
    again = prepare_answer(tiny_lm, book, tokens, "Where is the island?", adapter=None, settings=settings)
    assert again.full_text() == cached_text  # the cache changes nothing but the time
    tiny_lm.model.forward = original_forward


# --- spoiler-safe asking: the book as read up to a page -----------------------------


@pytest.fixture
def ledger(tiny_lm, book, tmp_path):
    """A workspace on the tiny model with the 2,000-character-page story in its library: (workspace, record)."""
    from lift_reader.core.workspace import Workspace

    ws = Workspace(progress=lambda m: None)
    ws.use_model(tiny_lm)
    return ws, ws.add_text(book, tmp_path / "ledger.txt")


def _save_adapter(ws, record, name: str, up_to_page: int | None):
    """An untrained adapter registered as memorized up to ``up_to_page`` (None: the whole book)."""
    from lift_reader.core.model.lora import add_training_adapter, drop_training_adapter, save_adapter_weights
    from lift_reader.core.memorize.settings import MemorizeSettings
    from lift_reader.store import adapters as adapter_files

    settings = MemorizeSettings(up_to_page=up_to_page)
    folder = adapter_files.adapter_folder_for(name)
    add_training_adapter(ws.lm, "memorizing", settings)
    save_adapter_weights(ws.lm, "memorizing", folder)
    drop_training_adapter(ws.lm, "memorizing")
    adapter_files.write_meta(folder, adapter_files.AdapterMeta(
        name=name, base_model=ws.lm.identity.as_dict(), book_hash=record.content_hash, settings=settings.as_dict()))
    return ws.library.record_adapter(name, record.content_hash, ws.lm.identity.label, folder,
                                     settings=settings.as_dict())


@pytest.mark.parametrize("mode", ["icl", "rag"])
def test_spoiler_safe_context_never_goes_past_the_page(ledger, book, mode):
    ws, record = ledger
    page, cut = 3, book.page_starts[3]  # page 3 ends where page 4 starts
    late_word = next(w for w in book.text[cut:].split() if w.isalpha() and len(w) > 6
                     and w not in book.text[:cut])
    question = f"What about {late_word}?"
    settings = dict(mode=mode, context_tokens=200, sampling=SamplingSettings(max_new_tokens=4))

    whole = ws.ask(record, question, AskSettings(**settings))
    assert max(end for _, end in whole.context.spans) > cut  # the control: unlimited, it looks further

    stream = ws.ask(record, question, AskSettings(**settings, up_to_page=page))
    assert stream.context.spans and max(end for _, end in stream.context.spans) <= cut
    assert max(stream.pages) <= page
    assert late_word not in stream.context.text  # the question names it; the book text must not
    assert book.text[cut:cut + 60].strip() not in ws.lm.tokenizer.decode(stream.prompt_ids)
    for part in stream.context.text.split(MARKER):
        assert part.strip() in book.text[:cut]
    if mode == "icl":  # the tail of the window is the text just before the cut
        assert book.text[:cut].rstrip().endswith(stream.context.text.split(MARKER)[-1].rstrip())


def test_an_adapter_that_read_further_is_flagged_and_a_page_limited_one_preferred(ledger):
    ws, record = ledger
    ask = lambda page, mode="lift+icl": ws.ask(record, "Who keeps the light?",  # noqa: E731
                                               AskSettings(mode=mode, context_tokens=64, up_to_page=page))
    _save_adapter(ws, record, "whole book", None)
    ws.library.set_active_adapter(record.content_hash, "whole book")

    flagged = ask(3)
    assert flagged.adapter == "whole book" and flagged.adapter_read_past_page == 3
    assert "read past page 3" in flagged.spoiler_notice and "Memorize up to page 3" in flagged.spoiler_notice
    assert not ask(None).spoiler_notice
    assert not ask(record.pages).spoiler_notice  # the last page hides nothing
    assert not ask(3, "icl").spoiler_notice  # no adapter, nothing to give away

    _save_adapter(ws, record, "to page 2", 2)
    _save_adapter(ws, record, "to page 3", 3)
    _save_adapter(ws, record, "to page 5", 5)
    for page, expected in ((3, "to page 3"), (4, "to page 3"), (2, "to page 2"), (9, "to page 5")):
        stream = ask(page)
        assert (stream.adapter, stream.spoiler_notice) == (expected, ""), page
    assert ask(None).adapter == "whole book"  # without a limit the active adapter answers
    assert ask(1).adapter == "whole book" and "page 1" in ask(1).spoiler_notice  # none read as little
    assert ws.library.active_adapter(record.content_hash).name == "whole book"  # the choice is per answer

    ws.library.set_active_adapter(record.content_hash, "to page 2")
    assert ask(4).adapter == "to page 2"  # a safe active adapter is kept
    assert ask(None).adapter == "to page 2"


def test_page_limit_must_be_a_page():
    with pytest.raises(BadInputError, match="page"):
        AskSettings(up_to_page=0)
