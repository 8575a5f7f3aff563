"""Reading order and paragraphs for laid-out pages.

MuPDF gives text lines with positions, in the order the file drew them.  That
order is usually the reading order, but not always: journals draw running
heads last, the Federal Register draws footnotes first.  So for fixed-layout
pages (PDF, XPS) we:

1. pull out the top and bottom margin zones (running heads, page numbers) and
   put them at the page's edges, where ``furniture.strip_page_furniture``
   looks for them; sideways stamps in the side margins are dropped, other
   rotated text goes last;
2. look for column gutters (vertical strips no column line crosses); when
   there are some, read band by band (a full-width line starts a new band),
   column by column, top to bottom -- ``sort=True`` would read across columns;
   without gutters we keep the file's order;
3. decide paragraph breaks from geometry (``paragraphs.layout_text`` puts it all together).

Reflowable formats (EPUB, FB2, MOBI, HTML) are laid out by MuPDF itself, in
reading order: we keep its order.
"""

from __future__ import annotations

from dataclasses import dataclass

HEAD_ZONE = 0.12  # running heads live in the top 12% of the page...
FOOT_ZONE = 0.88  # ...running feet and page numbers in the bottom 12%
SIDE_MARGIN = 0.08  # outer 8% left and right: sideways stamps
_WIDE = 0.6  # a line wider than this share of the text area cannot sit in one of several columns
HEAD, FOOT, ROTATED, SPANNING = -3, -4, -2, -1  # flows that are not columns


@dataclass
class Line:
    """One text line of a page; ``flow`` is its column (0, 1, ...) or one of HEAD/FOOT/ROTATED/SPANNING."""

    x0: float
    y0: float
    x1: float
    y1: float
    text: str
    size: float = 10.0
    block: int = 0
    horizontal: bool = True
    flow: int = 0

    @property
    def height(self) -> float:
        return max(1.0, self.y1 - self.y0)


def page_lines(page_dict: dict) -> list[Line]:
    """Lines from ``page.get_text("dict")``, in the file's order, blank ones dropped."""
    lines = []
    for number, block in enumerate(page_dict.get("blocks", ())):
        if block.get("type") != 0:
            continue
        for raw in block["lines"]:
            spans = raw["spans"]
            text = " ".join(_join_spans(spans).split())
            if not text:
                continue
            main = max(spans, key=lambda span: len(span["text"].strip()))
            dx, dy = raw["dir"]
            x0, y0, x1, y1 = raw["bbox"]
            lines.append(Line(x0, y0, x1, y1, text, main["size"], number, abs(dy) < 0.05 and dx > 0))
    return lines


def _join_spans(spans: list[dict]) -> str:
    """Span texts of a line; a visible gap between spans is a space even when the file drew none."""
    parts: list[str] = []
    previous = None
    for span in spans:
        text = span["text"]
        if previous is not None and parts and text and not parts[-1][-1:].isspace() and not text[0].isspace():
            if span["bbox"][0] - previous["bbox"][2] > 0.15 * span["size"]:
                parts.append(" ")
        parts.append(text)
        previous = span
    return "".join(parts)


def order_lines(lines: list[Line], width: float, height: float, *, fixed_layout: bool) -> list[Line]:
    """Reading order; sets each line's ``flow``."""
    flat = [line for line in lines if line.horizontal]
    rotated = [line for line in lines if not line.horizontal]
    for line in rotated:
        line.flow = ROTATED
    if not fixed_layout:
        return flat + rotated
    # Sideways text in the side margins is a stamp (a download notice, an
    # arXiv id, a typesetter's file name), never part of the reading text.
    rotated = [line for line in rotated if SIDE_MARGIN * width < line.x1 and line.x0 < (1 - SIDE_MARGIN) * width]
    head, body, foot = split_margins(flat, height)
    for flow, zone in ((HEAD, head), (FOOT, foot)):
        for line in zone:
            line.flow = flow
    gutters = find_gutters(body)
    if gutters:
        body = _column_order(body, gutters)
    return _rows(head) + body + _rows(foot) + rotated


def split_margins(lines: list[Line], height: float) -> tuple[list[Line], list[Line], list[Line]]:
    """(head, body, foot): lines in the top/bottom margin zone, cut off from the body by a clear gap.

    The gap test keeps body text that runs close to the page edge (common in
    LaTeX and e-book PDFs) out of the margins.
    """
    # Measured as distance from the page edge, the bottom margin is the top one upside down.
    head = _margin(lines, lambda line: (line.y0, line.y1), HEAD_ZONE * height)
    foot = _margin(lines, lambda line: (height - line.y1, height - line.y0), (1 - FOOT_ZONE) * height)
    foot_ids = {id(line) for line in foot} - {id(line) for line in head}
    margin_ids = foot_ids | {id(line) for line in head}
    body = [line for line in lines if id(line) not in margin_ids]
    return head, body, [line for line in lines if id(line) in foot_ids]


def _margin(lines: list[Line], span, zone: float) -> list[Line]:
    """Lines within ``zone`` of the edge and separated from the rest by a gap of about a line."""
    ordered = sorted(lines, key=lambda line: span(line)[0])
    reach = 0.0  # how far from the edge the margin lines taken so far extend
    for i, line in enumerate(ordered):
        far = span(line)[1]
        if far > zone:
            return []
        reach = max(reach, far)
        following = ordered[i + 1] if i + 1 < len(ordered) else None
        if following is None or span(following)[0] - reach > 0.8 * line.height:
            return ordered[: i + 1]
    return []


def find_gutters(lines: list[Line], *, min_lines: int = 5) -> list[tuple[float, float]]:
    """x-ranges (left, right) between text columns; [] for a single-column page.

    A gutter is a vertical strip in the middle of the text area that (almost)
    no narrow line crosses -- a few may, such as the rows of a table set across
    two columns -- with a column's worth of lines starting right after it.
    """
    if len(lines) < 2 * min_lines:
        return []
    left, right = min(line.x0 for line in lines), max(line.x1 for line in lines)
    span = right - left
    narrow = [line for line in lines if line.x1 - line.x0 < _WIDE * span]
    if span < 100 or len(narrow) < 2 * min_lines:
        return []
    # coverage[x]: how many narrow lines cross x (a difference array, then a running sum)
    coverage = [0] * (int(span) + 3)
    for line in narrow:
        coverage[int(line.x0 - left)] += 1
        coverage[int(line.x1 - left) + 1] -= 1
    for x in range(1, len(coverage)):
        coverage[x] += coverage[x - 1]
    tolerance = max(0, len(narrow) // 20)
    gutters = []
    for lo, hi in _low_runs(coverage, tolerance):
        a, b = left + lo, left + hi
        if hi - lo < 4 or not (left + 0.15 * span < (a + b) / 2 < right - 0.15 * span):
            continue
        starting = [line for line in narrow if a <= line.x0 <= b + 6]
        before = [line for line in narrow if line.x1 <= a + 1]
        if len(starting) >= min_lines and len(before) >= min_lines:
            gutters.append((a, b))
    return _real_columns(gutters, left, right)


def _real_columns(gutters: list[tuple[float, float]], left: float, right: float) -> list[tuple[float, float]]:
    """Drop gutters that would make a column narrower than 15% of the text area
    (the strip between reference numbers and reference text, say)."""
    kept: list[tuple[float, float]] = []
    minimum = 0.15 * (right - left)
    for a, b in gutters:
        if a - (kept[-1][1] if kept else left) >= minimum and right - b >= minimum:
            kept.append((a, b))
    return kept


def _low_runs(coverage: list[int], tolerance: int) -> list[tuple[int, int]]:
    runs, start = [], None
    for x, count in enumerate(coverage):
        if count <= tolerance and start is None:
            start = x
        elif count > tolerance and start is not None:
            runs.append((start, x))
            start = None
    return runs


def _column_order(lines: list[Line], gutters: list[tuple[float, float]]) -> list[Line]:
    """Band by band (full-width lines separate bands), then column by column.

    A line belongs to the column it starts in; only a wide line (a title, a
    full-width paragraph) spans the columns and opens a new band.
    """
    left, right = min(line.x0 for line in lines), max(line.x1 for line in lines)
    bands: list[list[Line]] = []
    previous_spanning = None
    for line in sorted(lines, key=lambda item: (item.y0, item.x0)):
        wide = line.x1 - line.x0 >= _WIDE * (right - left)
        spanning = wide and any(line.x0 < a - 2 and line.x1 > b + 2 for a, b in gutters)
        line.flow = SPANNING if spanning else sum(1 for a, b in gutters if line.x0 >= b - 3)
        if spanning != previous_spanning:
            bands.append([])
        bands[-1].append(line)
        previous_spanning = spanning
    ordered = []
    for band in bands:
        for flow in sorted({line.flow for line in band}):
            ordered += _rows([line for line in band if line.flow == flow])
    return ordered


def _rows(lines: list[Line]) -> list[Line]:
    """Top to bottom; lines sharing a baseline (overlapping vertically) left to right."""
    rows: list[list[Line]] = []
    for line in sorted(lines, key=lambda item: item.y0):
        if rows:
            last = rows[-1][-1]
            overlap = min(last.y1, line.y1) - max(last.y0, line.y0)
            if overlap >= 0.5 * min(last.height, line.height):
                rows[-1].append(line)
                continue
        rows.append([line])
    return [line for row in rows for line in sorted(row, key=lambda item: item.x0)]
