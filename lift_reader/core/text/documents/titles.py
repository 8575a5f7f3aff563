"""Titles and authors fit to show in the library.

File metadata is often junk ("Microsoft Word - draft3.docx", a typesetter's
job number like "6489122611071476 1..10", "Untitled"); we clean what can be
cleaned and say "" for the rest, so the loader can try the next source.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from pathlib import Path

from lift_reader.core.text.documents.layout import Line

_OFFICE_PREFIX = re.compile(r"^Microsoft (?:Word|PowerPoint|Excel)\s*-\s*", re.IGNORECASE)
_GUTENBERG_PREFIX = re.compile(
    r"^(?:The )?Project Gutenberg(?:'s|\u2019s)?\s+e-?(?:book|text)(?:\s+#\d+)?(?:\s*:\s*|\s+of\s+)", re.IGNORECASE
)
_FILE_SUFFIX = re.compile(r"\.(?:docx?|pdf|tex|dvi|indd|rtf|odt|pages|qxd|ps|txt|html?|epub)$", re.IGNORECASE)
# Characters that must never reach a terminal or a window title: C0/C1
# controls (escape sequences, bells, line breaks), bidi overrides that make
# text read backwards, and lone surrogates (undecodable bytes in a file name).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_JUNK = re.compile(
    r"^(?:untitled(?: document)?|title|no title|document\s*\d*|powerpoint presentation|slide\s*\d*"
    r"|none|null|unknown|anonymous|administrator|user|owner|author)$",
    re.IGNORECASE,
)


def clean_title(raw: str | None) -> str:
    """A metadata title worth showing, or "" for junk."""
    title = safe_one_line(raw or "")
    title = _FILE_SUFFIX.sub("", _GUTENBERG_PREFIX.sub("", _OFFICE_PREFIX.sub("", title))).strip(" -:;,")
    letters = sum(char.isalpha() for char in title)
    if letters < 3 or letters < 0.4 * len(title) or _JUNK.match(title):
        return ""
    return title


def clean_author(raw: str | None) -> str:
    """One line; ``;``-separated lists get a space after each ``;``."""
    author = safe_one_line(raw or "")
    author = re.sub(r"\s*;\s*", "; ", author).strip(" ;,")
    if _JUNK.match(author) or not any(char.isalpha() for char in author):
        return ""
    return author


def safe_one_line(text: str) -> str:
    """``text`` on one line, without control characters, bidi overrides or lone surrogates."""
    return " ".join(_UNSAFE.sub(" ", text).split())


def title_from_path(path: Path) -> str:
    """A readable title from a file name: "moby_dick-1851.txt" -> "Moby Dick 1851"."""
    gutenberg = re.fullmatch(r"pg(\d+)(?:-\d+)?", path.stem, re.IGNORECASE)
    if gutenberg:
        return f"Project Gutenberg eBook #{gutenberg.group(1)}"  # their download name, "pg1342.txt"
    words = re.sub(r"[_\-.+]+", " ", safe_one_line(path.stem)).split()
    if not words:
        return safe_one_line(path.name) or "Untitled"
    if all(word == word.lower() for word in words):
        words = [word[:1].upper() + word[1:] for word in words]
    return " ".join(words)


def title_from_type_size(lines: Sequence[Line]) -> str:
    """The largest type on a page (a paper's title), if it clearly stands out from the body text."""
    sized = [line for line in lines if line.horizontal and any(c.isalpha() for c in line.text)]
    if len(sized) < 3:
        return ""
    body_size = statistics.median(line.size for line in sized)
    largest = max(line.size for line in sized)
    if largest < 1.3 * body_size:
        return ""
    picked = [line.text for line in sized if line.size >= largest - 0.5]
    title = clean_title(" ".join(picked))
    return title if len(title) <= 300 else ""


def first_markdown_heading(text: str) -> str:
    """The first ``# Title`` line of a Markdown document."""
    match = re.search(r"^#\s+(.+?)\s*#*\s*$", text[:20000], re.MULTILINE)
    return clean_title(match.group(1)) if match else ""


def opening_title_block(text: str) -> tuple[str, str]:
    """(title, author) from a plain text that opens with a title line and "by Someone".

    Only this common shape counts: a short first line that is not a sentence,
    followed within two lines by "by ...".  Anything else returns ("", "") and
    the caller falls back to the file name.
    """
    lines = [line.strip() for line in text[:2000].splitlines()]
    lines = [line for line in lines if line]
    if len(lines) < 2:
        return "", ""
    first = lines[0]
    if len(first) > 100 or first.endswith((".", ",", ";")):
        return "", ""
    for line in lines[1:3]:
        match = re.match(r"^by\s+(.{2,100})$", line, re.IGNORECASE)
        if match:
            return clean_title(first), clean_author(match.group(1))
    return "", ""
