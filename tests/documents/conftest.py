"""Builders for small book files made inside the tests (PDF with pymupdf, EPUB by hand)."""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

import pymupdf
import pytest

PAGE_WIDTH, PAGE_HEIGHT = 420, 595
LEFT, TOP, LEADING, FONT_SIZE = 50, 90, 14, 11


def write_pdf(
    path: Path,
    pages: Sequence[Sequence[Sequence[str]]],
    *,
    header: str | Sequence[str] | None = None,
    footer: str | None = None,
    toc: list[list] | None = None,
    metadata: dict | None = None,
    **save_options,
) -> Path:
    """A PDF whose page i holds paragraphs ``pages[i]`` (each a list of pre-wrapped lines).

    ``header``/``footer`` are format strings with ``{n}`` (page number) and
    ``{total}``; a list of headers alternates between even and odd pages.
    Paragraphs are separated by extra space, as typeset text is.
    """
    doc = pymupdf.open()
    total = len(pages)
    for n, paragraphs in enumerate(pages, start=1):
        page = doc.new_page(width=PAGE_WIDTH, height=PAGE_HEIGHT)
        if header is not None:
            heads = [header] if isinstance(header, str) else list(header)
            page.insert_text((LEFT, 36), heads[n % len(heads)].format(n=n, total=total), fontsize=9)
        y = TOP
        for paragraph in paragraphs:
            for line in paragraph:
                page.insert_text((LEFT, y), line, fontsize=FONT_SIZE)
                y += LEADING
            y += LEADING
        if footer is not None:
            page.insert_text((PAGE_WIDTH / 2 - 30, PAGE_HEIGHT - 30), footer.format(n=n, total=total), fontsize=9)
    if toc:
        doc.set_toc(toc)
    if metadata:
        doc.set_metadata(metadata)
    doc.save(path, **save_options)
    doc.close()
    return path


CONTAINER_XML = """<?xml version="1.0" encoding="UTF-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles>
</container>"""


def write_epub(path: Path, title: str, author: str, chapters: Sequence[tuple[str, Sequence[str]]]) -> Path:
    """A minimal EPUB 3 (with an EPUB 2 NCX too): one XHTML file per chapter, h1 + paragraphs."""
    manifest, spine, nav_items, ncx_points = [], [], [], []
    files = {}
    for i, (heading, paragraphs) in enumerate(chapters, start=1):
        name = f"chapter{i}.xhtml"
        body = "".join(f"<p>{p}</p>\n" for p in paragraphs)
        files[f"OEBPS/{name}"] = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>'
            f'{heading}</title></head><body>\n<h1 id="c{i}">{heading}</h1>\n{body}</body></html>'
        )
        manifest.append(f'<item id="c{i}" href="{name}" media-type="application/xhtml+xml"/>')
        spine.append(f'<itemref idref="c{i}"/>')
        nav_items.append(f'<li><a href="{name}#c{i}">{heading}</a></li>')
        ncx_points.append(
            f'<navPoint id="n{i}" playOrder="{i}"><navLabel><text>{heading}</text></navLabel>'
            f'<content src="{name}#c{i}"/></navPoint>'
        )
    files["OEBPS/nav.xhtml"] = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml" '
        'xmlns:epub="http://www.idpf.org/2007/ops"><head><title>Contents</title></head><body>'
        f'<nav epub:type="toc"><ol>{"".join(nav_items)}</ol></nav></body></html>'
    )
    files["OEBPS/toc.ncx"] = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1">'
        f"<head/><docTitle><text>{title}</text></docTitle><navMap>{''.join(ncx_points)}</navMap></ncx>"
    )
    files["OEBPS/content.opf"] = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">'
        '<metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
        f'<dc:identifier id="id">urn:uuid:12345678-0000-0000-0000-000000000000</dc:identifier>'
        f"<dc:title>{title}</dc:title><dc:creator>{author}</dc:creator><dc:language>en</dc:language>"
        "</metadata><manifest>"
        '<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>'
        '<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>'
        f'{"".join(manifest)}</manifest><spine toc="ncx">{"".join(spine)}</spine></package>'
    )
    with zipfile.ZipFile(path, "w") as archive:
        # The mimetype entry must come first and be stored uncompressed.
        archive.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        archive.writestr("META-INF/container.xml", CONTAINER_XML, compress_type=zipfile.ZIP_DEFLATED)
        for name, content in files.items():
            archive.writestr(name, content, compress_type=zipfile.ZIP_DEFLATED)
    return path


@pytest.fixture
def pdf_path(tmp_path):
    """Factory: ``pdf_path(name, pages, **options)`` -> path of a fresh PDF in tmp_path."""

    def make(name: str, pages, **options) -> Path:
        return write_pdf(tmp_path / name, pages, **options)

    return make


@pytest.fixture
def epub_path(tmp_path):
    def make(name: str, title: str, author: str, chapters) -> Path:
        return write_epub(tmp_path / name, title, author, chapters)

    return make
