"""A seeded fuzzing run of the book loader, and property tests the other suites lack.

Fuzzing: small valid PDF, EPUB and text files are mutated at random (bytes
overwritten, cut, deleted, inserted, reversed; for EPUBs also inside one
member, re-zipped, so MuPDF's parsers rather than the ZIP checks see the
damage).  ``open_book`` may load the result or refuse it with a one-line
``BadInputError``; any other exception type is a bug.
"""

from __future__ import annotations

import random
import unicodedata
from collections import Counter

import numpy as np
from corpus import SEED_TEXT, epub_members, seed_pdf_bytes, zip_bytes
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lift_reader.core.text.documents import open_book
from lift_reader.core.text.documents.cleaning import clean_plain_text, normalize_unicode
from lift_reader.core.text.documents.text_decoding import NotTextError, decode_text
from lift_reader.core.text.book_tokens import BookTokens
from lift_reader.core.text.segments import SegmentPlan
from lift_reader.errors import BadInputError

FUZZ_ITERATIONS = 300
FUZZ_SEED = 20240611


def _mutate(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    op = rng.randrange(5)
    if op == 0:  # overwrite a few bytes
        for _ in range(rng.randint(1, 8)):
            out[rng.randrange(len(out))] = rng.randrange(256)
    elif op == 1:  # cut short
        out = out[: rng.randrange(1, len(out))]
    elif op == 2:  # delete a run
        a = rng.randrange(len(out))
        del out[a : a + rng.randint(1, 200)]
    elif op == 3:  # insert random bytes
        a = rng.randrange(len(out))
        out[a:a] = rng.randbytes(rng.randint(1, 64))
    else:  # reverse a run
        a = rng.randrange(len(out))
        b = min(len(out), a + rng.randint(2, 64))
        out[a:b] = out[a:b][::-1]
    return bytes(out) or b"\0"


def test_fuzzing_the_book_loader_only_raises_bad_input_errors(tmp_path):
    seeds = {
        "pdf": (seed_pdf_bytes(2), "pdf"),
        "pdf-uncompressed": (seed_pdf_bytes(2, expand=255), "pdf"),
        "epub": (zip_bytes(epub_members()), "epub"),
        "txt": (SEED_TEXT.encode("utf-8"), "txt"),
        "txt-utf16": (SEED_TEXT.encode("utf-16"), "txt"),
    }
    members = list(epub_members().items())
    rng = random.Random(FUZZ_SEED)
    outcomes: Counter[str] = Counter()
    escaped: list[str] = []
    for i in range(FUZZ_ITERATIONS):
        kind = rng.choice([*seeds, "epub-member"])
        if kind == "epub-member":  # damage inside one member, then a valid ZIP around it
            k = rng.randrange(len(members))
            data = zip_bytes({name: (_mutate(rng, body) if j == k else body)
                              for j, (name, body) in enumerate(members)})
            suffix = "epub"
        else:
            seed, suffix = seeds[kind]
            data = _mutate(rng, seed)
        path = tmp_path / f"fuzz-{i}.{suffix}"
        path.write_bytes(data)
        try:
            open_book(path)
            outcomes["loaded"] += 1
        except BadInputError as err:
            assert str(err) and str(err).isprintable(), repr(str(err))
            outcomes[type(err).__name__] += 1
        except Exception as err:  # noqa: BLE001 - any other type is the bug this test looks for
            escaped.append(f"iteration {i} ({kind}): {type(err).__name__}: {err}")
            (tmp_path / f"crash-{i}.{suffix}").write_bytes(data)
        path.unlink()
    assert escaped == [], "\n".join(escaped)
    assert sum(outcomes.values()) == FUZZ_ITERATIONS
    # The mutations are mild enough that many files still load and strong enough that many do not.
    assert outcomes["loaded"] > FUZZ_ITERATIONS // 5 and outcomes["CorruptBookError"] > FUZZ_ITERATIONS // 10, outcomes


# --- text cleaning on arbitrary Unicode ------------------------------------------------------

quick = settings(max_examples=150, deadline=None)
any_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)
_KEPT_CONTROLS = {"\n"}


@quick
@given(any_text)
def test_normalized_text_has_no_controls_and_is_nfc(text):
    out = normalize_unicode(text)
    assert all(unicodedata.category(ch) != "Cc" or ch in _KEPT_CONTROLS for ch in out), repr(out)
    assert "\r" not in out and "\ufffd" not in out and "\u00ad" not in out
    assert unicodedata.is_normalized("NFC", out)
    assert normalize_unicode(out) == out


def _visible(text: str) -> str:
    return "".join(text.split())


# Prose-like text without hyphens or dashes (which the unwrapper may join
# across lines) and without Gutenberg markers: only whitespace may change.
prose_chars = st.characters(blacklist_categories=("Cs", "Cc", "Cf", "Co", "Cn", "Zl", "Zp"),
                            blacklist_characters="-\u2010\u2013\u2014/\u00ad\ufffd")
prose = st.lists(st.one_of(st.text(prose_chars, min_size=1, max_size=12), st.sampled_from([" ", "\n", "\n\n", "  "])),
                 max_size=60).map("".join)


@quick
@given(prose)
def test_cleaning_keeps_every_visible_character_in_order(text):
    normalized = normalize_unicode(text)
    assume("gutenberg" not in normalized.lower())
    cleaned = clean_plain_text(text)
    assert _visible(cleaned) == _visible(normalized)
    assert cleaned == cleaned.strip() and "\n\n\n" not in cleaned and "\r" not in cleaned


@quick
@given(prose)
def test_cleaning_is_idempotent_on_its_own_output_paragraphs(text):
    once = clean_plain_text(text)
    assert _visible(clean_plain_text(once)) == _visible(once)


@quick
@given(st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=200),
       st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-32"]))
def test_decoding_round_trips_unicode_encodings(text, encoding):
    data = text.encode(encoding)
    if encoding == "utf-8":
        assume(not data.startswith(b"\xef\xbb\xbf"))
    try:
        decoded, _ = decode_text(data)
    except NotTextError:
        # Only text that really is mostly invisible may be refused.
        assert sum(unicodedata.category(c) in ("Cf", "Co", "Cn") or c == "\ufffd" for c in text) > 0.01 * len(text)
        return
    assert decoded == text


@quick
@given(st.binary(max_size=400))
def test_decoding_arbitrary_bytes_gives_text_or_not_text(data):
    try:
        text, encoding = decode_text(data)
    except NotTextError:
        return
    assert isinstance(text, str) and encoding


@settings(max_examples=40, deadline=None)
@given(prose.filter(lambda t: t.strip()), st.sampled_from(["utf-8", "utf-16", "utf-32", "utf-8-sig"]))
def test_open_book_on_generated_text_files(tmp_path_factory, text, encoding):
    folder = tmp_path_factory.mktemp("gen")
    path = folder / "generated.txt"
    path.write_bytes(text.encode(encoding))
    try:
        book = open_book(path)
    except BadInputError as err:
        assert str(err).isprintable()
        return
    assert _visible(book.text) == _visible(clean_plain_text(text))
    assert book.page_starts[0] == 0 and book.page_starts == sorted(book.page_starts)


# --- segments over random token arrays ----------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(n=st.integers(2, 3000), length=st.integers(2, 300), stride_frac=st.floats(0.01, 1.0),
       seed=st.integers(0, 2**31 - 1))
def test_segments_of_random_token_arrays_cover_every_token_in_order(n, length, stride_frac, seed):
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, 50_000, size=n, dtype=np.int32)
    starts = np.cumsum(rng.integers(1, 6, size=n)) - 1
    tokens = BookTokens(ids, starts.astype(np.int64), int(starts[-1]) + 5)
    stride = max(1, min(length, int(length * stride_frac)))
    plan = SegmentPlan.for_book(len(tokens), length, stride)
    rows = [tokens.ids[a:b] for a, b in (plan.bounds(i) for i in range(len(plan)))]
    assert {len(row) for row in rows} == {min(length, n)}  # equal lengths: no padding in a batch
    # Stitch the rows back together, dropping each row's overlap with the previous one.
    stitched = [rows[0]]
    previous_end = plan.bounds(0)[1]
    for i in range(1, len(plan)):
        a, b = plan.bounds(i)
        assert a > plan.bounds(i - 1)[0]  # order preserved, no duplicates
        overlap = previous_end - a
        expected = length - stride if i < len(plan) - 1 else overlap
        assert overlap == expected and 0 <= overlap < length
        stitched.append(rows[i][overlap:])
        previous_end = b
    assert np.array_equal(np.concatenate(stitched), ids)


@settings(max_examples=100, deadline=None)
@given(n=st.integers(2, 2000), cut=st.integers(0, 12_000), seed=st.integers(0, 1000))
def test_spoiler_cut_keeps_exactly_the_tokens_before_the_cut(n, cut, seed):
    rng = np.random.default_rng(seed)
    starts = np.cumsum(rng.integers(1, 8, size=n)).astype(np.int64) - 1
    tokens = BookTokens(rng.integers(0, 999, size=n, dtype=np.int32), starts, int(starts[-1]) + 3)
    kept = tokens.until_char(cut)
    assert np.array_equal(kept.ids, tokens.ids[: len(kept)])
    assert all(kept.char_starts < cut) and (len(kept) == n or tokens.char_starts[len(kept)] >= cut)
    assert kept.end_char <= tokens.end_char


@settings(max_examples=60, deadline=None)
@given(n=st.integers(40, 3000), length=st.sampled_from([16, 32, 64, 100]), micro=st.integers(1, 5),
       seed=st.integers(0, 10_000), epoch=st.integers(0, 5))
def test_every_epoch_visits_every_segment_exactly_once(n, length, micro, seed, epoch):
    from lift_reader.core.memorize.settings import MemorizeSettings
    from lift_reader.core.memorize.training import MemorizeJob

    tokens = BookTokens(np.arange(n, dtype=np.int32), np.arange(n, dtype=np.int64), n)
    settings_ = MemorizeSettings(segment_length=length, micro_batch_size=micro, seed=seed)
    job = MemorizeJob(None, tokens, settings_, job_key="k")
    order = job.epoch_order(epoch)
    visited = [i for unit in order for i in unit.segments]
    assert sorted(visited) == list(range(len(job.plan)))
    assert all(1 <= len(unit.segments) <= micro for unit in order)
    assert [u.segments for u in job.epoch_order(epoch)] == [u.segments for u in order]  # seeded: reproducible
    assert len(order) == job.units_per_epoch
