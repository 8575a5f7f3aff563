"""Reading order, page maps, synthetic pages and headings, on hand-made inputs (no files)."""

from __future__ import annotations

from lift_reader.core.text.documents.cleaning import build_vocabulary
from lift_reader.core.text.documents.layout import HEAD, Line, find_gutters, order_lines
from lift_reader.core.text.documents.pagination import join_pages, paginate
from lift_reader.core.text.documents.paragraphs import layout_text
from lift_reader.core.text.documents.toc import find_headings, find_title, toc_from_outline


def column_page() -> list[Line]:
    """A running head, a full-width title, two columns of 12 lines (drawn right column first)."""
    right = [Line(320, 120 + 14 * i, 560, 130 + 14 * i, f"right {i}") for i in range(12)]
    left = [Line(50, 120 + 14 * i, 290, 130 + 14 * i, f"left {i}") for i in range(12)]
    title = Line(50, 80, 560, 96, "A title that spans both columns", size=16)
    head = Line(50, 30, 200, 40, "Running head", size=8)
    return right + [title] + left + [head]


def test_gutter_is_found_between_columns():
    lines = column_page()
    gutters = find_gutters([line for line in lines if line.y0 > 50])
    assert len(gutters) == 1
    a, b = gutters[0]
    assert 290 <= a < b <= 320


def test_columns_read_left_then_right_after_head_and_title():
    ordered = order_lines(column_page(), 612, 792, fixed_layout=True)
    texts = [line.text for line in ordered]
    assert texts[:2] == ["Running head", "A title that spans both columns"]
    assert texts[2:14] == [f"left {i}" for i in range(12)]
    assert texts[14:] == [f"right {i}" for i in range(12)]
    assert ordered[0].flow == HEAD


def test_single_column_keeps_file_order():
    lines = [Line(50, 100 + 14 * i, 500, 110 + 14 * i, f"line {i}") for i in range(20)]
    assert find_gutters(lines) == []
    assert [line.text for line in order_lines(lines, 612, 792, fixed_layout=True)] == [f"line {i}" for i in range(20)]


def test_paragraphs_from_geometry():
    lines = [
        Line(50, 100, 500, 110, "The first paragraph runs to the right edge of the column and"),
        Line(50, 114, 300, 124, "ends here."),
        Line(65, 128, 500, 138, "An indented line opens the second paragraph which also runs"),
        Line(50, 142, 500, 152, "on to a full line before it stops after"),
        Line(50, 156, 200, 166, "this."),
        Line(50, 190, 500, 200, "Extra space above: a third paragraph."),
    ]
    text = layout_text(lines, 612, 792, fixed_layout=True)
    assert text.split("\n\n") == [
        "The first paragraph runs to the right edge of the column and\nends here.",
        "An indented line opens the second paragraph which also runs\non to a full line before it stops after\nthis.",
        "Extra space above: a third paragraph.",
    ]


def test_pieces_of_one_visual_line_are_joined_with_a_space():
    lines = [Line(50, 30, 300, 40, "Journal of Things 2014, 14:1"), Line(450, 30, 560, 40, "Page 2 of 10")]
    assert layout_text(lines, 612, 792, fixed_layout=True) == "Journal of Things 2014, 14:1 Page 2 of 10"


def test_join_pages_keeps_offsets_exact():
    pages = ["First page ends mid sen-", "", "tence and goes on.", "  ", "A new paragraph.", ""]
    text, starts = join_pages(pages, build_vocabulary(["sentence"]))
    assert text == "First page ends mid sentence and goes on.\n\nA new paragraph."
    second, third = text.index("tence"), text.index("A new")
    assert starts == [0, second, second, third, third, len(text)]
    assert text[starts[2] :].startswith("tence")


def test_join_pages_runs_a_sentence_on_with_a_space():
    text, starts = join_pages(["the keeper said that the", "fog would lift by noon."])
    assert text == "the keeper said that the fog would lift by noon."
    assert starts == [0, 25]


def test_paginate_splits_long_paragraphs_at_sentences():
    sentence = "The keeper wrote a line. "
    text = "Short opening paragraph.\n\n" + sentence * 400
    starts = paginate(text, target_chars=3000)
    assert starts[0] == 0 and starts[1] == len("Short opening paragraph.\n\n")
    for start, end in zip(starts, [*starts[1:], len(text)]):
        assert end - start <= 4500
    assert all(text[start - 2 : start] in ("\n\n", ". ") for start in starts[1:])


def test_paginate_starts_chapters_on_a_new_page():
    text = "x " * 600 + "\n\nCHAPTER II\n\n" + "y " * 300
    heading = text.index("CHAPTER II")
    assert heading in paginate(text, heading_offsets=[heading])
    assert heading not in paginate(text)


def test_find_headings_kinds_and_levels():
    text = "\n\n".join(
        [
            "BOOK I",
            "CHAPTER I.\nThe Fog",
            "Text.",
            "II.",
            "More text.",
            "Chapter 2",
            "Text.",
            "VII. THE ADVENTURE OF THE BLUE CARBUNCLE",
            "Text.",
            "EPILOGUE",
            "Text that mentions Chapter 3 of another book in passing, which is not a heading at all.",
        ]
    )
    found = [(title, level) for title, level, _ in find_headings(text)]
    assert found == [
        ("BOOK I", 1),
        ("CHAPTER I. The Fog", 2),
        ("II", 3),
        ("Chapter 2", 2),
        ("VII. THE ADVENTURE OF THE BLUE CARBUNCLE", 2),
        ("EPILOGUE", 2),
    ]


def test_bare_numerals_must_count_up():
    text = "\n\n".join(["I", "Text.", "II", "Text.", "1999", "Text.", "VII", "Text.", "III", "Text."])
    assert [title for title, _, _ in find_headings(text)] == ["I", "II", "III"]


def test_find_title_ignores_case_spacing_and_quote_style():
    text = "Intro\n\nCHAPTER II.\nThe Keeper’s Ledger\n\nText. Chapter I appears here too."
    assert find_title(text, "Chapter II. The Keeper's Ledger", 0, len(text)) == 7
    assert find_title(text, "Chapter I", 0, 20) is None  # "CHAPTER II" is not "Chapter I"


def test_toc_from_outline_skips_entries_without_a_page():
    text = "Page one.\n\nChapter 1\n\nPage two."
    entries = toc_from_outline([[1, "Chapter 1", 2], [1, "External link", -1]], text, [0, 11])
    assert [(e.title, e.offset, e.page) for e in entries] == [("Chapter 1", 11, 2)]
