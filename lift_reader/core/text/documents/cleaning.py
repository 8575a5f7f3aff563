"""Pure clean-up of extracted book text.

Loaders hand us raw text (one string per page, lines as the file or the PDF
layout gave them) and get back reading text: Unicode normalized, page
furniture (running heads, page numbers) gone, hard-wrapped lines joined into
paragraphs, words hyphenated at line ends put back together.

Every function here works on plain strings or lists of strings, so the rules
can be tested (and property-tested) without any file.  Page-level functions
keep one output string per input page: the page map is rebuilt from them
afterwards (see ``pagination.join_pages``), which is what keeps it exact.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from lift_reader.core.text.documents.furniture import is_page_number, strip_page_furniture
from lift_reader.core.text.documents.gutenberg import strip_gutenberg, strip_gutenberg_pages

__all__ = [
    "Vocabulary",
    "build_vocabulary",
    "clean_pages",
    "clean_plain_text",
    "is_page_number",
    "join_hyphenated",
    "normalize_unicode",
    "strip_gutenberg",
    "strip_gutenberg_pages",
    "strip_page_furniture",
    "typical_line_width",
    "unwrap_paragraphs",
]

# --- Unicode -----------------------------------------------------------------

_LIGATURES = {
    "\ufb00": "ff",
    "\ufb01": "fi",
    "\ufb02": "fl",
    "\ufb03": "ffi",
    "\ufb04": "ffl",
    "\ufb05": "st",
    "\ufb06": "st",
}
# Invisible characters that only steer typesetting (soft hyphen, zero-width
# space, word joiner, BOM) and the replacement character MuPDF emits for
# glyphs without a Unicode mapping: none of them is reading text.
_DROPPED = "\u00ad\u200b\u2060\ufeff\ufffd"
# Exotic spaces become plain spaces: readers and tokenizers treat them alike.
_SPACES = "\t\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
_BREAKS = {"\u2028": "\n", "\u2029": "\n\n", "\x0c": "\n\n", "\x0b": "\n", "\x85": "\n"}

# Fonts without a Unicode map put old-style figures and small capitals in the
# private use area (Adobe's convention: U+F730-F739, U+F761-F77A); other
# private-use code points cannot be read by anyone and are dropped.
_PRIVATE_USE = {c: None for c in range(0xE000, 0xF900)}
_PRIVATE_USE.update({0xF730 + d: str(d) for d in range(10)})
_PRIVATE_USE.update({0xF761 + i: chr(ord("a") + i) for i in range(26)})

_TRANSLATION: dict[int, str | None] = dict(_PRIVATE_USE)
_TRANSLATION.update({ord(k): v for k, v in _LIGATURES.items()})
_TRANSLATION.update({ord(c): None for c in _DROPPED})
_TRANSLATION.update({ord(c): " " for c in _SPACES})
_TRANSLATION.update({ord(k): v for k, v in _BREAKS.items()})
# Remaining C0/C1 control characters (PDF fonts map bullets to \x01 and the like).
_TRANSLATION.update(
    {c: None for c in [*range(0x00, 0x09), *range(0x0E, 0x20), 0x7F, *range(0x80, 0x85), *range(0x86, 0xA0)]}
)


def normalize_unicode(text: str) -> str:
    """NFC, ``\\n`` line ends, ligatures expanded, invisible and control characters removed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return unicodedata.normalize("NFC", text.translate(_TRANSLATION))


# --- hyphenation -------------------------------------------------------------

# A word: letters, possibly joined by single hyphens ("well-known").
_WORD = re.compile(r"[^\W\d_]+(?:[-\u2010][^\W\d_]+)*")
_HYPHENATED_END = re.compile(r"(?<![-\u2010])([^\W\d_]+)[-\u2010]$")
_LEADING_WORD = re.compile(r"[^\W\d_]+")
_SPLIT_WORD = re.compile(r"[^\W\d_]+[-\u2010]\n\s*[^\W\d_]+")
# First halves that almost always keep their hyphen in English compounds.
_COMPOUND_PREFIXES = frozenset({"self", "well", "half", "cross", "quasi", "non", "anti", "post", "pre"})


@dataclass
class Vocabulary:
    """Words seen in a document, to decide how to rejoin a word split at a line end."""

    words: set[str] = field(default_factory=set)  # lower-case, no hyphen
    compounds: set[str] = field(default_factory=set)  # lower-case, "well-known"


def build_vocabulary(texts: Iterable[str]) -> Vocabulary:
    """Collect the document's own spellings, leaving out both halves of words split at line ends."""
    vocab = Vocabulary()
    for text in texts:
        if "-\n" in text or "\u2010\n" in text:
            text = _SPLIT_WORD.sub(" ", text)
        spellings = {word.lower() for word in _WORD.findall(text)}
        for word in spellings:
            if "-" in word or "\u2010" in word:
                word = word.replace("\u2010", "-")
                vocab.compounds.add(word)
                vocab.words.update(word.split("-"))
            else:
                vocab.words.add(word)
    return vocab


def join_hyphenated(left: str, right: str, vocabulary: Vocabulary | None = None) -> str | None:
    """Join ``left`` (ending in ``word-``) and ``right``; None when left has no such ending.

    "exam-" + "ple" -> "example"; "Anglo-" + "Saxon" -> "Anglo-Saxon".  The
    document's own spellings decide first: a book that writes "self-evident"
    elsewhere keeps the hyphen, one that writes "example" drops it.
    """
    end = _HYPHENATED_END.search(left[-80:])  # the tail only: ``left`` may be a whole page
    start = _LEADING_WORD.match(right)
    if end is None or start is None:
        return None
    first, second = end.group(1), start.group()
    keep = _keeps_hyphen(first, second, vocabulary)
    return left + right if keep else left[:-1] + right


def _keeps_hyphen(first: str, second: str, vocabulary: Vocabulary | None) -> bool:
    # "Anglo-Saxon", "non-English"; but "INTRODUC-TION" in a capitalised heading joins.
    if second[0].isupper() and not (first.isupper() and second.isupper()):
        return True
    joined, compound = (first + second).lower(), f"{first}-{second}".lower()
    if vocabulary is not None:
        if joined in vocabulary.words:
            return False
        if compound in vocabulary.compounds:
            return True
        # Two words the book uses on their own, never seen joined: "right-angled".
        halves_known = all(len(half) >= 3 and half.lower() in vocabulary.words for half in (first, second))
        if halves_known:
            return True
    # Typeset hyphenation is far more common at line ends than split compounds.
    return first.lower() in _COMPOUND_PREFIXES


# --- unwrapping --------------------------------------------------------------

# Lines that start something new even without a blank line before them.
_STARTS_BLOCK = re.compile(r"^(?:[•▪‣◦●■□*+]\s|-\s|#{1,6}\s|\d{1,2}[.)]\s|\(\d{1,2}\)\s|\[\d{1,3}\]\s|>|\|)")
_MARKDOWN_HEADING = re.compile(r"^#{1,6}\s")
_DASH_END = re.compile(r"(?:--|[\u2013\u2014])$")
_PARAGRAPH_SPLIT = re.compile(r"\n[ \t]*\n")
_SPACE_RUN = re.compile(r"[ \t]{2,}|\t")


def typical_line_width(text: str) -> int:
    """The width (in characters) a hard-wrapped text was wrapped at, at least 60."""
    lengths = [len(line.strip()) for line in text.split("\n") if line.strip()]
    if not lengths:
        return 60
    if len(lengths) < 5:
        return max(60, max(lengths))
    return max(60, int(statistics.quantiles(lengths, n=10)[-1]))


def unwrap_paragraphs(
    text: str,
    *,
    vocabulary: Vocabulary | None = None,
    keep_short_lines: bool = True,
    line_width: int | None = None,
) -> str:
    """Join hard-wrapped lines into paragraphs separated by one blank line.

    A blank line always ends a paragraph.  With ``keep_short_lines`` (plain
    text) a line much shorter than the wrap width keeps its line break, so
    verse, addresses and headings keep their shape; loaders that already found
    the paragraphs by layout (PDF) turn it off.  List items and Markdown
    headings always start a new line.  Spaces inside lines are collapsed.
    """
    width = (line_width or typical_line_width(text)) if keep_short_lines else 0
    paragraphs = []
    for block in _PARAGRAPH_SPLIT.split(text):
        lines = [line.rstrip() for line in block.split("\n") if line.strip()]
        if lines:
            paragraphs.append(_join_lines(lines, width, vocabulary))
    return "\n\n".join(paragraphs)


def _join_lines(lines: Sequence[str], width: int, vocabulary: Vocabulary | None) -> str:
    pieces = [_SPACE_RUN.sub(" ", lines[0].strip())]
    for previous, line in zip(lines, lines[1:]):
        clean = _SPACE_RUN.sub(" ", line.strip())
        last = pieces[-1]
        if _MARKDOWN_HEADING.match(previous.strip()):
            pieces.append("\n\n" + clean)  # a heading is a paragraph of its own
        elif _breaks_line(previous, line, clean, width):
            pieces.append("\n" + clean)
        elif (joined := join_hyphenated(last, clean, vocabulary)) is not None:
            pieces[-1] = joined
        elif _DASH_END.search(last) or last.endswith("/"):
            pieces[-1] = last + clean  # "word--" + "next", "https://" + "example.org": no space
        else:
            pieces.append(" " + clean)
    return "".join(pieces)


def _breaks_line(previous: str, line: str, clean: str, width: int) -> bool:
    if _STARTS_BLOCK.match(clean):
        return True
    if not width:
        return False
    indent_before = len(previous) - len(previous.lstrip())
    indent_now = len(line) - len(line.lstrip())
    if indent_now > indent_before + 1:
        return True  # an indented line after a flush one: new paragraph or verse
    return len(previous.strip()) < 0.6 * width


# --- whole pipelines -----------------------------------------------------------


def clean_pages(pages: Sequence[str], *, fixed_layout: bool) -> tuple[list[str], Vocabulary]:
    """Clean per-page texts from a paged book; one output page per input page.

    Fixed-layout pages (PDF) lose their running heads and page numbers; all
    lose Gutenberg boilerplate.  Paragraphs must already be separated by blank
    lines (the layout step found them), so short lines are not kept apart.
    The vocabulary is returned for joining words split across pages.
    """
    pages = [normalize_unicode(page) for page in pages]
    if fixed_layout:
        pages = strip_page_furniture(pages)
    pages = strip_gutenberg_pages(pages)
    vocabulary = build_vocabulary(["\n".join(pages)])  # joined: words split across pages are not words
    cleaned = [unwrap_paragraphs(page, vocabulary=vocabulary, keep_short_lines=False) for page in pages]
    return cleaned, vocabulary


def clean_plain_text(text: str) -> str:
    """Clean a whole plain-text book: Unicode, Gutenberg boilerplate, hard wrapping."""
    text = strip_gutenberg(normalize_unicode(text))
    vocabulary = build_vocabulary([text])
    return unwrap_paragraphs(text, vocabulary=vocabulary, keep_short_lines=True)
