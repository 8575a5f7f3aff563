"""Paragraph breaks from page geometry.

Between two consecutive lines (in reading order) a paragraph ends when there
is extra vertical space, the next line is indented, the line stops short
although the next word would have fitted, the type size changes (a heading),
or the next line starts a list item.  Reflowed books (EPUB and co.) come one
block per paragraph from MuPDF, with a few exceptions handled here.

Output: lines of one paragraph joined by "\\n", pieces of one visual line by
a space, paragraphs by "\\n\\n".  Joining the lines themselves (and their
hyphens) is ``cleaning.unwrap_paragraphs``'s job.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass

from lift_reader.core.text.documents.layout import ROTATED, Line, order_lines

_TERMINAL = frozenset(".!?:;\"'\u201d\u2019)]\u2026")
_HYPHENATED = re.compile(r"[^\W\d_][-\u2010]$")
_ITEM_START = re.compile(r"^(?:[•▪‣◦●■□–-]\s|\d{1,3}[.)]\s|\(\d{1,3}\)\s|\[\d{1,3}\]\s|[a-z][.)]\s)")


def layout_text(lines: list[Line], width: float, height: float, *, fixed_layout: bool) -> str:
    """A page's text in reading order, paragraphs separated by blank lines."""
    ordered = order_lines(lines, width, height, fixed_layout=fixed_layout)
    return paragraphs_text(ordered, fixed_layout=fixed_layout)


@dataclass
class _Edges:
    left: float
    right: float


def paragraphs_text(lines: list[Line], *, fixed_layout: bool) -> str:
    """The text of lines already in reading order, with paragraph breaks as blank lines."""
    if not lines:
        return ""
    edges = _flow_edges(lines)
    gap = _typical_gap(lines)
    parts = [lines[0].text]
    for a, b in zip(lines, lines[1:]):
        if a.flow == b.flow != ROTATED and _same_row(a, b):
            parts.append(" ")  # pieces of one visual line (columns of a header, inline math)
        else:
            parts.append("\n\n" if _breaks(a, b, edges, gap, fixed_layout) else "\n")
        parts.append(b.text)
    return "".join(parts)


def _same_row(a: Line, b: Line) -> bool:
    overlap = min(a.y1, b.y1) - max(a.y0, b.y0)
    return overlap >= 0.5 * min(a.height, b.height) and b.x0 >= a.x1 - 1


def _flow_edges(lines: list[Line]) -> dict[int, _Edges]:
    """Each flow's text edges: the most common left x (where continuation lines start), the 90th-percentile right x."""
    edges = {}
    for flow in {line.flow for line in lines}:
        members = [line for line in lines if line.flow == flow]
        lefts = Counter(round(line.x0) for line in members)
        top_count = max(lefts.values())
        left = min(x for x, count in lefts.items() if count == top_count)
        rights = sorted(line.x1 for line in members)
        right = rights[min(len(rights) - 1, int(0.9 * len(rights)))]
        edges[flow] = _Edges(left, right)
    return edges


def _typical_gap(lines: list[Line]) -> float:
    # Line boxes often overlap (leading smaller than the font's box), so gaps
    # may be negative; what matters is the usual one.
    gaps = [
        b.y0 - a.y1
        for a, b in zip(lines, lines[1:])
        if a.flow == b.flow and b.y0 > a.y0 and -a.height < b.y0 - a.y1 < 2 * a.height
    ]
    return statistics.median(gaps) if gaps else 2.0


def _breaks(a: Line, b: Line, edges: dict[int, _Edges], typical_gap: float, fixed_layout: bool) -> bool:
    if ROTATED in (a.flow, b.flow) or _ITEM_START.match(b.text):
        return True
    edge_b = edges[b.flow]
    ends_short = _ends_short(a, b, edges[a.flow])
    # A first-line indent is about 1em; continuation lines of a hanging
    # indent (list items) start in lower case and do not open a paragraph.
    indented = b.x0 - edge_b.left > 0.5 * b.size and not b.text[:1].islower()
    size_changes = abs(a.size - b.size) >= max(1.0, 0.08 * max(a.size, b.size))
    if a.flow != b.flow:
        # Column to column: a paragraph runs on when the column ended on a full
        # line (and not in a footnote, which is set smaller).
        both_columns = a.flow >= 0 and b.flow >= 0
        return not both_columns or ends_short or indented or size_changes
    if size_changes:
        return True  # a heading and its text (even when MuPDF put them in one block)
    overlap = min(a.y1, b.y1) - max(a.y0, b.y0)
    if overlap >= 0.5 * min(a.height, b.height):
        return False  # same baseline (a superscript, overprinted text)
    if not fixed_layout:
        return _reflowed_break(a, b, ends_short)
    if b.y0 < a.y0:
        return ends_short or indented  # jumped up: the file's order moved to another column
    if b.y0 - a.y1 > typical_gap + 0.5 * min(a.height, b.height):
        return True
    if indented and b.x0 > a.x0 + 0.3 * b.size:
        return True
    return ends_short and not b.text[:1].islower()


def _reflowed_break(a: Line, b: Line, ends_short: bool) -> bool:
    """MuPDF laid the text out itself: a new block is a new paragraph, unless the
    sentence plainly runs on (MuPDF sometimes splits a paragraph after its first line);
    inside a block, a short line followed by one starting at the same x is a
    hard line break (verse, addresses)."""
    runs_on = b.text[:1].islower() and a.text[-1:] not in _TERMINAL
    if a.block != b.block:
        return not runs_on
    return ends_short and abs(a.x0 - b.x0) < 1 and not runs_on


def _ends_short(a: Line, b: Line, edge: _Edges) -> bool:
    """Did line ``a`` stop early on purpose?  Only if ``b``'s first word would have fitted after it.

    Ragged-right text stops short whenever the next word is too long for the
    line, so "short" alone is not evidence of a paragraph end.
    """
    if _HYPHENATED.search(a.text):
        return False  # a word broken at the line end: the line was full by definition
    room = edge.right - a.x1
    char_width = (a.x1 - a.x0) / max(1, len(a.text))
    first_word = b.text.split(" ", 1)[0]
    return room > max((len(first_word) + 1) * char_width * 1.1, 1.5 * a.size)
