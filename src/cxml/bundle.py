"""Model bundles: fitted models on disk without pickle, verified before anything is loaded.

A bundle is a directory::

    bundle.json        format version, cxml version, creation time, training as_of, components,
                       feature list, params and metrics (plain JSON)
    MANIFEST.sha256    "<sha256>  <relative path>" for every other file
    recommender/       each component is written by its model's own ``save(dir)``:
    churn/             JSON params, LightGBM text models, ``.npz`` arrays, parquet id maps
    cltv/

Writing goes to a temporary sibling directory that is renamed into place, so a crash never
leaves a half bundle, and an existing bundle is only replaced with ``overwrite=True``.
:func:`load_bundle` checks the format version and every hash *before* any component is read,
and refuses files that are missing, changed, not listed, pickles, symbolic links or anything but
regular files (the bundle directory itself may be reached through a link, e.g. ``models/latest``).
Content that passes the hash check but cannot be parsed (bad JSON, a wrong-shaped array, garbage
model text) raises :class:`~cxml.BundleError` naming the file or component, never a raw parser error.

Examples
--------
>>> import tempfile, pathlib
>>> from cxml.bundle import read_manifest, write_manifest
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "a.json").write_text("{}")
>>> write_manifest(d)
>>> list(read_manifest(d))
['a.json']
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import string
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import cxml.churn as churn_models
from cxml._files import file_sha256, read_json_object
from cxml._version import __version__
from cxml.exceptions import BundleError, CxmlWarning
from cxml.recommend import BaseRecommender

__all__ = [
    "BUNDLE_FORMAT_VERSION",
    "Bundle",
    "load_bundle",
    "read_manifest",
    "read_metadata",
    "save_bundle",
    "verify_manifest",
    "write_manifest",
]

#: Bumped whenever a bundle written by this version cannot be read by older cxml.
BUNDLE_FORMAT_VERSION = 1
MANIFEST = "MANIFEST.sha256"
META = "bundle.json"
COMPONENTS = ("recommender", "churn", "cltv")
_PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib", ".dill", ".cloudpickle", ".sav")
_PICKLE_MAGIC = (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")
_HEX = frozenset(string.hexdigits.lower())


class SavableModel(Protocol):
    """What a bundle component must offer: a directory writer (and a ``load`` classmethod)."""

    def save(self, path: str | os.PathLike[str]) -> Any: ...


@dataclass(frozen=True)
class Bundle:
    """A loaded bundle: its models (``None`` when absent) and its metadata."""

    path: Path
    metadata: dict[str, Any]
    recommender: Any = None
    churn: Any = None
    cltv: Any = None
    components: tuple[str, ...] = field(default=())


def _files(root: Path) -> list[str]:
    """Every regular file below ``root`` except the manifest; a link or special file raises."""
    found: list[str] = []
    for top, dirs, names in os.walk(root, onerror=_walk_error):
        for name, is_dir in [(d, True) for d in dirs] + [(n, False) for n in names]:
            path = Path(top) / name
            rel = path.relative_to(root).as_posix()
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                raise BundleError(
                    f"bundle entry {rel!r} is a symbolic link; cxml refuses links inside a bundle "
                    "(they can point outside it) — copy the file in instead"
                )
            if not is_dir and not stat.S_ISREG(mode):
                raise BundleError(f"bundle entry {rel!r} is not a regular file; refusing to load")
            if not is_dir and rel != MANIFEST:
                found.append(rel)
    return sorted(found)


def _walk_error(exc: OSError) -> None:
    raise BundleError(f"cannot list the bundle: {exc}") from exc


def write_manifest(root: str | os.PathLike[str]) -> None:
    """Write ``MANIFEST.sha256`` listing every file under ``root`` (no links) with its sha256."""
    root = Path(root)
    lines = [f"{file_sha256(root / rel)}  {rel}\n" for rel in _files(root)]
    (root / MANIFEST).write_text("".join(lines), encoding="utf-8")


def read_manifest(root: str | os.PathLike[str]) -> dict[str, str]:
    """The manifest as ``{relative path: sha256}``; raises :class:`BundleError` when absent or malformed."""
    path = Path(root) / MANIFEST
    if path.is_symlink() or not path.is_file():
        raise BundleError(f"{str(path)!r} is missing; this is not a cxml bundle (or it is incomplete)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BundleError(f"{MANIFEST} in {str(root)!r} is unreadable: {exc}") from exc
    entries: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), start=1):
        digest, sep, rel = line.partition("  ")
        bad_digest = len(digest) != 64 or not set(digest) <= _HEX
        if not sep or bad_digest or not rel or rel.startswith("/") or ".." in rel.split("/"):
            raise BundleError(f"{MANIFEST} line {n} is malformed: {line[:80]!r}")
        entries[rel] = digest
    return entries


def verify_manifest(root: str | os.PathLike[str]) -> dict[str, str]:
    """Check every file against the manifest before anything is loaded.

    Raises :class:`BundleError` naming the file when one is missing, changed, not listed in the
    manifest, a symbolic link or special file, or looks like a pickle (by suffix or by the pickle
    protocol header). Returns ``{relative path: sha256}`` of every verified file.
    """
    root = Path(root)
    present = set(_files(root))
    entries = read_manifest(root)
    for rel in sorted(present - set(entries)):
        raise BundleError(f"bundle file {rel!r} is not listed in {MANIFEST}; refusing to load")
    for rel, digest in entries.items():
        path = root / rel
        if rel not in present:
            raise BundleError(f"bundle file {rel!r} listed in {MANIFEST} is missing")
        if rel.lower().endswith(_PICKLE_SUFFIXES):
            raise BundleError(f"bundle file {rel!r} is a pickle; cxml never loads pickles")
        if file_sha256(path) != digest:
            raise BundleError(f"bundle file {rel!r} does not match its sha256 in {MANIFEST}; refusing it")
        with path.open("rb") as f:
            head = f.read(2)
        if not rel.endswith((".npz", ".parquet")) and head in _PICKLE_MAGIC:
            raise BundleError(f"bundle file {rel!r} holds pickle data; cxml never loads pickles")
    return entries


def save_bundle(
    path: str | os.PathLike[str],
    *,
    recommender: SavableModel | None = None,
    churn: SavableModel | None = None,
    cltv: SavableModel | None = None,
    metadata: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write fitted models and metadata as one verified bundle directory; returns its path.

    ``metadata`` (JSON-serialisable: as_of, feature lists, params, metrics, ...) is stored under
    ``"metadata"`` in ``bundle.json``. An existing directory at ``path`` is refused unless
    ``overwrite=True``; the new bundle is complete before it replaces the old one.

    Parameters
    ----------
    path
        Bundle directory to create; its parent directories are created when missing. The bundle
        is built in a temporary sibling directory and renamed to ``path``.
    recommender
        Fitted recommender, saved under ``recommender/`` by its ``save(dir)``; ``None`` leaves it
        out. :func:`load_bundle` reads it back with :meth:`cxml.recommend.BaseRecommender.load`.
    churn
        Fitted churn model (e.g. :class:`cxml.churn.ChurnModel`), saved under ``churn/``; ``None``
        leaves it out. :func:`load_bundle` reads it back with the ``cxml.churn`` class of that name.
    cltv
        Fitted CLTV model (e.g. :class:`cxml.churn.CLTVModel`), saved under ``cltv/``; ``None``
        leaves it out.
    metadata
        JSON-serialisable mapping stored under ``"metadata"`` in ``bundle.json`` (values JSON
        cannot encode are written with ``str``); ``None`` stores ``{}``.
    overwrite
        Replace whatever exists at ``path``; when ``False`` an existing ``path`` raises.

    Returns
    -------
    pathlib.Path
        ``path``. Its ``bundle.json`` holds ``format_version``, ``cxml_version``, ``created_at``
        (UTC, ISO seconds), ``components`` (``{name: {"class", "module"}}`` per saved model) and
        ``metadata``; ``MANIFEST.sha256`` lists every other file with its sha256.

    Raises
    ------
    BundleError
        When all three models are ``None``, or ``path`` exists and ``overwrite`` is false.
    """
    target = Path(path)
    models = {"recommender": recommender, "churn": churn, "cltv": cltv}
    if all(m is None for m in models.values()):
        raise BundleError("save_bundle needs at least one model (recommender=, churn= or cltv=)")
    if target.exists() and not overwrite:
        raise BundleError(f"{str(target)!r} already exists; pass overwrite=True to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        components: dict[str, dict[str, str]] = {}
        for name, model in models.items():
            if model is None:
                continue
            model.save(tmp / name)
            components[name] = {"class": type(model).__name__, "module": type(model).__module__}
        meta = {
            "format_version": BUNDLE_FORMAT_VERSION,
            "cxml_version": __version__,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "components": components,
            "metadata": dict(metadata or {}),
        }
        (tmp / META).write_text(json.dumps(meta, indent=2, sort_keys=True, default=str), encoding="utf-8")
        write_manifest(tmp)
        _replace_dir(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _replace_dir(new: Path, target: Path) -> None:
    if not target.exists():
        os.replace(new, target)
        return
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    os.replace(target, old)
    try:
        os.replace(new, target)
    except BaseException:
        os.replace(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``bundle.json`` after verifying the manifest and the format version.

    A bundle written by a newer cxml (same format) loads with a :class:`cxml.CxmlWarning`.

    Parameters
    ----------
    path
        Bundle directory written by :func:`save_bundle`.

    Returns
    -------
    dict
        The parsed ``bundle.json``: ``format_version``, ``cxml_version``, ``created_at``,
        ``components`` and ``metadata``. No component is loaded.

    Raises
    ------
    BundleError
        When ``path`` is not a directory, a file is missing, changed, not listed in the manifest,
        a link or a pickle (:func:`verify_manifest`), ``bundle.json`` is not UTF-8 JSON of the
        expected shape or has no positive integer ``format_version``, or the format is newer than
        :data:`BUNDLE_FORMAT_VERSION`.
    """
    root = Path(path)
    if not root.is_dir():
        raise BundleError(f"bundle {str(root)!r} does not exist or is not a directory")
    verify_manifest(root)
    meta = _read_meta(root / META)
    version = meta.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise BundleError(f"{META} in {str(root)!r} has no positive integer format_version (got {version!r})")
    written_by = meta.get("cxml_version")
    if version > BUNDLE_FORMAT_VERSION:
        raise BundleError(
            f"bundle format {version} was written by cxml {written_by or '?'}; this cxml "
            f"{__version__} reads formats up to {BUNDLE_FORMAT_VERSION} — upgrade cxml to load it"
        )
    if isinstance(written_by, str) and _release(written_by) > _release(__version__):
        warnings.warn(
            f"bundle {str(root)!r} was written by cxml {written_by}, newer than this cxml {__version__}; "
            "it loads (same format), but upgrade cxml if its models behave unexpectedly",
            CxmlWarning,
            stacklevel=2,
        )
    return meta


def _read_meta(path: Path) -> dict[str, Any]:
    meta = read_json_object(path, lambda why: BundleError(f"{META} in {str(path.parent)!r} {why}"))
    components = meta.get("components", {})
    if not isinstance(components, dict) or not all(
        isinstance(info, dict) and isinstance(info.get("class"), str) for info in components.values()
    ):
        raise BundleError(
            f"{META} in {str(path.parent)!r}: 'components' must map each name to {{'class': ..., 'module': ...}}"
        )
    if not isinstance(meta.get("metadata", {}), dict):
        raise BundleError(f"{META} in {str(path.parent)!r}: 'metadata' must be a JSON object")
    return meta


def _release(version: str) -> tuple[int, ...]:
    """The leading numeric release of a version string (``"1.2.0rc1"`` -> ``(1, 2, 0)``)."""
    match = re.match(r"\d+(?:\.\d+)*", version.strip())
    return tuple(int(part) for part in match.group(0).split(".")) if match else ()


def _loader(name: str, class_name: str) -> Any:
    if name == "recommender":
        return BaseRecommender.load
    cls = getattr(churn_models, class_name, None)
    if not isinstance(cls, type) or not hasattr(cls, "load"):
        raise BundleError(f"bundle component {name!r} has unknown class {class_name!r}")
    return cls.load


def load_bundle(path: str | os.PathLike[str]) -> Bundle:
    """Verify and load the bundle directory ``path`` written by :func:`save_bundle`. Never unpickles.

    Every file is checked (:func:`read_metadata`) before any component is read.

    Returns
    -------
    Bundle
        ``path`` (as a :class:`pathlib.Path`), ``metadata`` (the whole ``bundle.json``), the loaded
        ``recommender``, ``churn`` and ``cltv`` models (``None`` when absent) and ``components``,
        the names of the loaded ones.

    Raises
    ------
    BundleError
        When verification fails (see :func:`read_metadata`), a component's name or class is
        unknown, or a component's files pass their hash check but cannot be parsed (the message
        names the file, or at least the component directory).
    """
    root = Path(path)
    meta = read_metadata(root)
    loaded: dict[str, Any] = {}
    for name, info in meta.get("components", {}).items():
        if name not in COMPONENTS:
            raise BundleError(f"bundle component {name!r} is unknown; expected one of {COMPONENTS}")
        load = _loader(name, info["class"])
        try:
            loaded[name] = load(root / name)
        except (BundleError, MemoryError):
            raise
        except Exception as exc:  # any parser failure on hash-checked content means a corrupt bundle
            raise BundleError(
                f"bundle component {name!r} in {str(root)!r} cannot be loaded: {type(exc).__name__}: {exc}"
            ) from exc
    return Bundle(path=root, metadata=meta, components=tuple(loaded), **loaded)
