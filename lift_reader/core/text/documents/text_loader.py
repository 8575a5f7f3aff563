"""Plain-text and Markdown books.

Text files have no pages, so we cut synthetic ones of about 3,000 characters
between paragraphs: the reader and citations need page numbers, and a
page-sized unit keeps "p. 12" meaningful.  Chapter headings found in the text
make the table of contents.
"""

from __future__ import annotations

from pathlib import Path

from lift_reader.core.text.book import BookText
from lift_reader.core.text.documents.cleaning import clean_plain_text, normalize_unicode
from lift_reader.core.text.documents.gutenberg import gutenberg_metadata
from lift_reader.core.text.documents.pagination import paginate
from lift_reader.core.text.documents.sniffing import describe, sniff
from lift_reader.core.text.documents.text_decoding import NotTextError, decode_text
from lift_reader.core.text.documents.titles import (
    clean_author,
    clean_title,
    first_markdown_heading,
    opening_title_block,
    title_from_path,
)
from lift_reader.core.text.documents.toc import find_headings, toc_from_headings
from lift_reader.errors import BookTooLargeError, CorruptBookError, EmptyBookError

MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})


def load_text_book(path: Path, data: bytes, *, max_chars: int) -> BookText:
    """A BookText from the bytes of a text file (``path`` names it and tells Markdown apart)."""
    kind = sniff(data[:4096])
    if kind not in ("text", "html", "xml"):
        raise CorruptBookError(f"{path.name} does not look like text (it looks like {describe(kind)}).")
    try:
        raw, _encoding = decode_text(data)
    except NotTextError as err:
        raise CorruptBookError(f"{path.name} does not look like text ({err}).") from err
    if len(raw) > max_chars:
        raise BookTooLargeError(
            f"{path.name} holds more than {max_chars:,} characters of text; that is too long to memorize."
        )
    markdown = path.suffix.lower() in MARKDOWN_SUFFIXES
    normalized = normalize_unicode(raw)
    header = gutenberg_metadata(normalized)
    text = clean_plain_text(normalized)
    if not text.strip():
        raise EmptyBookError(f"{path.name} contains no text.")
    headings = find_headings(text, markdown=markdown)
    page_starts = paginate(text, heading_offsets=[offset for _, _, offset in headings])
    block_title, block_author = opening_title_block(text)
    title = (
        clean_title(header.title)
        or (first_markdown_heading(normalized) if markdown else "")
        or block_title
        or title_from_path(path)
    )
    return BookText(
        text=text,
        page_starts=page_starts,
        title=title,
        author=clean_author(header.author) or block_author,
        toc=toc_from_headings(headings, page_starts),
        source_path=path,
        format="md" if markdown else "txt",
    )
