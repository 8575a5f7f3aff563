"""Page furniture: running heads, running feet and page numbers.

Printed pages repeat a few lines at their top and bottom (the book's or the
chapter's title, "Page 3 of 10", a journal citation) that are not part of the
reading text.  We find them by repetition: a line near a page edge whose
wording (digits ignored) recurs at the edges of several pages is furniture.
Lines are peeled from the edge inwards and peeling stops at the first real
line, so a chapter's own heading, which repeats the running head but sits
below the chapter number, survives.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

EDGE_LINES = 3  # how many non-blank lines at each page edge may be furniture

_ROMAN_SMALL = r"(?=[ivxlc])c?(?:xc|xl|l?x{0,3})(?:ix|iv|v?i{0,3})"
_ROMAN_CAPS = _ROMAN_SMALL.upper()
_PAGE_NUMBER = re.compile(
    r"""^(?:
        [-\u2013\u2014(\[]?\s*\d{1,5}\s*[-\u2013\u2014)\]]?      # 12, - 12 -, (12), [12]
      | (?i:page|p\.|pg\.?|seite|p\u00e1gina)\s*\d{1,4}(?:\s*(?i:of|/)\s*\d{1,4})?  # Page 3 of 10
      | \d{1,4}\s*(?:/|(?i:of))\s*\d{1,4}                       # 3 of 10, 3/10
      | [-\u2013\u2014]?\s*"""
    + _ROMAN_SMALL
    + r"""\s*[-\u2013\u2014]?   # front matter: xii
    )$""",
    re.VERBOSE,
)
_ROMAN_CAPS_NUMBER = re.compile(r"^" + _ROMAN_CAPS + r"$")
_DIGITS = re.compile(r"\d+")
_NOT_WORD = re.compile(r"[^\w#]+|_")
_PAGE_WORDS = re.compile(r" (?:page|p|pg) #(?: of #)? ")
_EDGE_NUMBERS = re.compile(r"^(?:\s*#)+\s|\s(?:#\s*)+$")


def is_page_number(line: str, *, allow_capital_roman: bool = False) -> bool:
    """True for a line that is nothing but a page number ("12", "- 12 -", "Page 3 of 10", "xiv").

    Capital roman numerals ("IV") are usually chapter numbers, so they count
    only where the caller allows it (the bottom edge of a page).
    """
    line = line.strip()
    if not line:
        return False
    if _PAGE_NUMBER.match(line):
        return True
    return allow_capital_roman and bool(_ROMAN_CAPS_NUMBER.match(line))


def furniture_key(line: str) -> str:
    """What two running heads have in common: case, digits, punctuation and page numbers ignored.

    "12  THE LEDGER" and "THE LEDGER  13" share a key, and so do a first page's
    "Journal 2014, 14:1" and the next pages' "Journal 2014, 14:1  Page 2 of 10".
    """
    key = _NOT_WORD.sub(" ", _DIGITS.sub("#", line.casefold())).strip()
    key = _PAGE_WORDS.sub(" ", f" {key} ")
    return _EDGE_NUMBERS.sub("", key).strip()


def strip_page_furniture(pages: Sequence[str], *, edge_lines: int = EDGE_LINES) -> list[str]:
    """Remove running heads/feet and page numbers from each page's edges.

    A line counts as a running head when its key recurs at the edges of at
    least three pages (two in a two-page document), or of two pages when a
    page number stands next to it (odd-page chapter heads of short chapters).
    """
    split = [page.split("\n") for page in pages]
    edges = [_edge_indices(lines, edge_lines) for lines in split]
    counts: Counter[str] = Counter()
    for lines, (top, bottom) in zip(split, edges):
        keys = {furniture_key(lines[i]) for i in (*top, *bottom)}
        counts.update(k for k in keys if k and k != "#")
    threshold = 3 if len(pages) >= 3 else 2
    if len(pages) < 2:
        threshold = 10**9  # one page: repetition tells us nothing, numbers still go

    cleaned = []
    for lines, (top, bottom) in zip(split, edges):
        removed = _peel(lines, top, counts, threshold, bottom_edge=False)
        removed |= _peel(lines, bottom, counts, threshold, bottom_edge=True)
        cleaned.append("\n".join(line for i, line in enumerate(lines) if i not in removed))
    return cleaned


def _edge_indices(lines: list[str], edge_lines: int) -> tuple[list[int], list[int]]:
    """Indices of the first and last ``edge_lines`` non-blank lines, each from the edge inwards."""
    filled = [i for i, line in enumerate(lines) if line.strip()]
    top = filled[:edge_lines]
    bottom = filled[::-1][:edge_lines]
    return top, bottom


def _peel(lines: list[str], order: list[int], counts: Counter[str], threshold: int, *, bottom_edge: bool) -> set[int]:
    removed: set[int] = set()
    for position, index in enumerate(order):
        line = lines[index]
        if is_page_number(line, allow_capital_roman=bottom_edge):
            removed.add(index)
            continue
        count = counts[furniture_key(line)]
        next_to_number = any(
            is_page_number(lines[order[p]], allow_capital_roman=bottom_edge)
            for p in (position - 1, position + 1)
            if 0 <= p < len(order)
        )
        if count >= threshold or (count >= 2 and next_to_number):
            removed.add(index)
            continue
        break
    return removed
