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
and refuses files that are missing, changed, not listed, or pickles.

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

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from cxml.exceptions import BundleError

__all__ = [
    "BUNDLE_FORMAT_VERSION",
    "Bundle",
    "load_bundle",
    "read_manifest",
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


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _files(root: Path) -> list[str]:
    return sorted(
        p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() and p.name != MANIFEST
    )


def write_manifest(root: str | os.PathLike[str]) -> None:
    """Write ``MANIFEST.sha256`` listing every file under ``root`` with its sha256."""
    root = Path(root)
    lines = [f"{_sha256(root / rel)}  {rel}\n" for rel in _files(root)]
    (root / MANIFEST).write_text("".join(lines), encoding="utf-8")


def read_manifest(root: str | os.PathLike[str]) -> dict[str, str]:
    """The manifest as ``{relative path: sha256}``; raises :class:`BundleError` when absent or malformed."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise BundleError(f"{str(path)!r} is missing; this is not a cxml bundle (or it is incomplete)")
    entries: dict[str, str] = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        digest, sep, rel = line.partition("  ")
        if not sep or len(digest) != 64 or not rel or rel.startswith("/") or ".." in rel.split("/"):
            raise BundleError(f"{MANIFEST} line {n} is malformed: {line[:80]!r}")
        entries[rel] = digest
    return entries


def verify_manifest(root: str | os.PathLike[str]) -> dict[str, str]:
    """Check every file against the manifest before anything is loaded.

    Raises :class:`BundleError` naming the file when one is missing, changed, not listed in the
    manifest, or looks like a pickle (by suffix or by the pickle protocol header).
    """
    root = Path(root)
    entries = read_manifest(root)
    present = set(_files(root))
    for rel in sorted(present - set(entries)):
        raise BundleError(f"bundle file {rel!r} is not listed in {MANIFEST}; refusing to load")
    for rel, digest in entries.items():
        path = root / rel
        if not path.is_file():
            raise BundleError(f"bundle file {rel!r} listed in {MANIFEST} is missing")
        if rel.lower().endswith(_PICKLE_SUFFIXES):
            raise BundleError(f"bundle file {rel!r} is a pickle; cxml never loads pickles")
        if _sha256(path) != digest:
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
    from cxml import __version__

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
        When ``path`` is not a directory, a file is missing, changed, not listed in the manifest or
        a pickle (:func:`verify_manifest`), ``bundle.json`` is unreadable or has no integer
        ``format_version``, or the format is newer than :data:`BUNDLE_FORMAT_VERSION`.
    """
    from cxml import __version__

    root = Path(path)
    if not root.is_dir():
        raise BundleError(f"bundle {str(root)!r} does not exist or is not a directory")
    verify_manifest(root)
    try:
        meta = json.loads((root / META).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BundleError(f"{META} in {str(root)!r} is unreadable: {exc}") from exc
    version = meta.get("format_version")
    if not isinstance(version, int):
        raise BundleError(f"{META} has no integer format_version (got {version!r})")
    if version > BUNDLE_FORMAT_VERSION:
        raise BundleError(
            f"bundle format {version} was written by cxml {meta.get('cxml_version', '?')}; this cxml "
            f"{__version__} reads formats up to {BUNDLE_FORMAT_VERSION} — upgrade cxml to load it"
        )
    return dict(meta)


def _loader(name: str, class_name: str) -> Any:
    # Imported here: the bundle layer sits above recommend/churn and only needs them on load.
    if name == "recommender":
        from cxml.recommend import BaseRecommender

        return BaseRecommender.load
    from cxml import churn as churn_pkg

    cls = getattr(churn_pkg, class_name, None)
    if cls is None or not hasattr(cls, "load"):
        raise BundleError(f"bundle component {name!r} has unknown class {class_name!r}")
    return cls.load


def load_bundle(path: str | os.PathLike[str]) -> Bundle:
    """Verify and load a bundle written by :func:`save_bundle`. Never unpickles.

    Every file is checked (:func:`read_metadata`) before any component is read.

    Parameters
    ----------
    path
        Bundle directory written by :func:`save_bundle`.

    Returns
    -------
    Bundle
        ``path`` (as a :class:`pathlib.Path`), ``metadata`` (the whole ``bundle.json``), the loaded
        ``recommender``, ``churn`` and ``cltv`` models (``None`` when absent) and ``components``,
        the names of the loaded ones.

    Raises
    ------
    BundleError
        When verification fails (see :func:`read_metadata`), or a component's name or class is
        unknown; a component's own ``load`` may raise it too (e.g. a missing file).
    """
    root = Path(path)
    meta = read_metadata(root)
    loaded: dict[str, Any] = {}
    for name, info in meta.get("components", {}).items():
        if name not in COMPONENTS:
            raise BundleError(f"bundle component {name!r} is unknown; expected one of {COMPONENTS}")
        loaded[name] = _loader(name, str(info.get("class")))(root / name)
    return Bundle(path=root, metadata=meta, components=tuple(loaded), **loaded)
