"""Bundle layer: manifest, atomic write, refusal of tampered/unlisted/pickled files and newer formats.

Round-trips of real fitted models through bundles live with the Scorer tests."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

import cxml
from cxml.bundle import BUNDLE_FORMAT_VERSION, read_metadata, save_bundle, verify_manifest


class ArraysComponent:
    """A minimal component that saves like the real models do: JSON params + an npz."""

    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    def save(self, path: str | os.PathLike[str]) -> None:
        p = Path(path)
        p.mkdir(parents=True)
        (p / "params.json").write_text(json.dumps({"k": 3}))
        np.savez(p / "arrays.npz", w=np.arange(5.0))
        if self.fail:
            raise RuntimeError("disk full")


def _bundle(tmp_path: Path) -> Path:
    return save_bundle(tmp_path / "b", churn=ArraysComponent(), metadata={"as_of": "2024-01-01"})


def test_layout_and_metadata(tmp_path: Path) -> None:
    root = _bundle(tmp_path)
    listed = verify_manifest(root)
    assert set(listed) == {"bundle.json", "churn/params.json", "churn/arrays.npz"}
    meta = read_metadata(root)
    assert meta["format_version"] == BUNDLE_FORMAT_VERSION
    assert meta["cxml_version"] == cxml.__version__
    assert meta["metadata"] == {"as_of": "2024-01-01"}
    assert meta["components"]["churn"]["class"] == "ArraysComponent"
    assert [p.name for p in tmp_path.iterdir()] == ["b"]  # no temp dirs left behind


def test_one_flipped_byte_is_refused(tmp_path: Path) -> None:
    root = _bundle(tmp_path)
    target = root / "churn" / "arrays.npz"
    data = bytearray(target.read_bytes())
    data[-1] ^= 0x01
    target.write_bytes(bytes(data))
    with pytest.raises(cxml.BundleError, match=r"'churn/arrays.npz' does not match its sha256"):
        read_metadata(root)


def test_missing_unlisted_and_pickle_files_are_refused(tmp_path: Path) -> None:
    root = _bundle(tmp_path)
    (root / "churn" / "extra.json").write_text("{}")
    with pytest.raises(cxml.BundleError, match=r"'churn/extra.json' is not listed"):
        verify_manifest(root)
    (root / "churn" / "extra.json").unlink()
    (root / "churn" / "params.json").unlink()
    with pytest.raises(cxml.BundleError, match=r"'churn/params.json' listed in MANIFEST.sha256 is missing"):
        verify_manifest(root)


def test_pickles_are_refused_even_when_listed(tmp_path: Path) -> None:
    from cxml.bundle import write_manifest

    root = _bundle(tmp_path)
    (root / "churn" / "model.pkl").write_bytes(pickle.dumps({"a": 1}))
    write_manifest(root)
    with pytest.raises(cxml.BundleError, match="is a pickle"):
        verify_manifest(root)
    (root / "churn" / "model.pkl").rename(root / "churn" / "model.bin")
    write_manifest(root)
    with pytest.raises(cxml.BundleError, match="holds pickle data"):
        verify_manifest(root)


def test_newer_format_is_refused_with_the_writing_version(tmp_path: Path) -> None:
    from cxml.bundle import write_manifest

    root = _bundle(tmp_path)
    meta = json.loads((root / "bundle.json").read_text())
    meta.update(format_version=BUNDLE_FORMAT_VERSION + 1, cxml_version="9.0.0")
    (root / "bundle.json").write_text(json.dumps(meta))
    write_manifest(root)
    with pytest.raises(cxml.BundleError, match=r"written by cxml 9.0.0.*upgrade cxml"):
        read_metadata(root)


def test_existing_bundle_is_not_overwritten_unless_asked(tmp_path: Path) -> None:
    root = _bundle(tmp_path)
    before = (root / "bundle.json").read_text()
    with pytest.raises(cxml.BundleError, match="already exists; pass overwrite=True"):
        _bundle(tmp_path)
    assert (root / "bundle.json").read_text() == before
    save_bundle(root, churn=ArraysComponent(), metadata={"as_of": "2025-01-01"}, overwrite=True)
    assert read_metadata(root)["metadata"]["as_of"] == "2025-01-01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]


def test_a_failing_write_leaves_nothing_and_keeps_the_old_bundle(tmp_path: Path) -> None:
    root = _bundle(tmp_path)
    with pytest.raises(RuntimeError, match="disk full"):
        save_bundle(root, churn=ArraysComponent(fail=True), overwrite=True)
    assert read_metadata(root)["metadata"]["as_of"] == "2024-01-01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b"]
    with pytest.raises(cxml.BundleError, match="at least one model"):
        save_bundle(tmp_path / "empty")
    with pytest.raises(cxml.BundleError, match="not a cxml bundle"):
        read_metadata(tmp_path)
