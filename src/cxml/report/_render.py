"""HTML rendering (Jinja2, autoescaped) and the atomic, no-clobber write of the report file."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
from importlib import resources
from pathlib import Path

import jinja2

from cxml._version import __version__
from cxml.exceptions import OutputExistsError
from cxml.report._context import Section

__all__ = ["render_html", "write_atomic"]

TEMPLATE = "report.html.j2"


def _template() -> jinja2.Template:
    text = resources.files("cxml.report").joinpath("templates", TEMPLATE).read_text(encoding="utf-8")
    # autoescape: ids, item names and reasons come from the user's data and must never become markup
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return env.from_string(text)


def render_html(sections: list[Section], *, title: str, summary: str, as_of: str) -> str:
    """The whole report page as one HTML string (CSS inline, images as ``data:`` URIs).

    Parameters
    ----------
    sections
        The sections in order; each becomes an ``<h2>`` with an entry in the table of contents.
    title
        Page title and ``<h1>``.
    summary
        One line under the title (data period, customer count, models).
    as_of
        The report date, repeated in the footer.

    Returns
    -------
    str
        The page.
    """
    created = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return _template().render(
        sections=sections, title=title, summary=summary, as_of=as_of, version=__version__, created=created
    )


def write_atomic(text: str, out: Path, *, overwrite: bool) -> Path:
    """Write ``text`` to ``out`` through a temporary sibling file renamed into place.

    Without ``overwrite`` the final step is a hard link, which fails instead of replacing a file
    that appeared meanwhile; on file systems without hard links it falls back to check-and-rename.

    Parameters
    ----------
    text
        The page.
    out
        Target file; its parent directory is created when missing.
    overwrite
        Replace an existing ``out``.

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    OutputExistsError
        When ``out`` exists and ``overwrite`` is false.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        if overwrite:
            os.replace(tmp, out)
            return out
        try:
            os.link(tmp, out)
        except FileExistsError:
            raise OutputExistsError(f"{str(out)!r} already exists; pass overwrite=True to replace it") from None
        except OSError:  # no hard links here (e.g. some network or FAT file systems)
            if out.exists():
                raise OutputExistsError(f"{str(out)!r} already exists; pass overwrite=True to replace it") from None
            os.replace(tmp, out)
        return out
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
