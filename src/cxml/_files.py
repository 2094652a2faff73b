"""Careful reading of the small files cxml writes: sha256 of a file, a JSON object (internal).

Every failure is reported through the caller's error factory, so that a bundle says
:class:`~cxml.BundleError` and a scores journal says what the caller can do about it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cxml.exceptions import CxmlError

__all__ = ["file_sha256", "read_json_object"]


def file_sha256(path: Path) -> str:
    """Hex sha256 of the file at ``path``, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_json_object(path: Path, fail: Callable[[str], CxmlError]) -> dict[str, Any]:
    """The JSON object in ``path``; ``fail(why)`` is raised when it is unreadable, not UTF-8 JSON or not an object."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise fail(f"unreadable ({exc})") from exc
    if not isinstance(data, dict):
        raise fail(f"holds a JSON {type(data).__name__}, expected an object")
    return data
