"""A small reader of the report's HTML (stdlib html.parser): headings, images, links, text by section."""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass, field
from html.parser import HTMLParser

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass
class Page:
    headings: list[tuple[str, str]] = field(default_factory=list)  # (id, text) of every <h2>
    images: list[dict[str, str]] = field(default_factory=list)  # attributes of every <img>
    hrefs: list[str] = field(default_factory=list)
    section_text: dict[str, str] = field(default_factory=dict)  # h2 id -> text of that section
    tables: dict[str, list[list[list[str]]]] = field(default_factory=dict)  # h2 id -> tables -> rows -> cells
    tags: set[str] = field(default_factory=set)
    body: dict[str, str] = field(default_factory=dict)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._h2: dict[str, str] | None = None
        self._section = ""
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.page.tags.add(tag)
        if tag == "h2":
            self._h2 = {"id": a.get("id", ""), "text": ""}
            self._section = a.get("id", "")
        elif tag == "img":
            self.page.images.append(a)
        elif tag == "a" and "href" in a:
            self.page.hrefs.append(a["href"])
        elif tag == "body":
            self.page.body = a
        elif tag == "table":
            self.page.tables.setdefault(self._section, []).append([])
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2" and self._h2 is not None:
            self.page.headings.append((self._h2["id"], self._h2["text"].strip()))
            self._h2 = None
        elif tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.page.tables[self._section][-1].append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._h2 is not None:
            self._h2["text"] += data
        if self._cell is not None:
            self._cell.append(data)
        self.page.section_text[self._section] = self.page.section_text.get(self._section, "") + data


def read_page(html: str) -> Page:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader.page


def png_size(uri: str) -> tuple[int, int]:
    """Width and height from the IHDR chunk of a ``data:image/png;base64`` URI (asserts it is a PNG)."""
    prefix = "data:image/png;base64,"
    assert uri.startswith(prefix), uri[:60]
    data = base64.b64decode(uri[len(prefix):], validate=True)
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR", data[:16]
    width, height = struct.unpack(">II", data[16:24])
    return width, height
