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
from cxml.bundle import BUNDLE_FORMAT_VERSION, load_bundle, read_metadata, save_bundle, verify_manifest


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


# --------------------------------------------------------------------------- links and malformed content
@pytest.fixture(scope="module")
def rec_bundle(sample_events, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from cxml.recommend import PopularityRecommender

    rec = PopularityRecommender().fit(sample_events)
    return save_bundle(tmp_path_factory.mktemp("rec") / "b", recommender=rec)


@pytest.fixture
def copy(rec_bundle: Path, tmp_path: Path) -> Path:
    import shutil

    return Path(shutil.copytree(rec_bundle, tmp_path / "b"))


def _resign(root: Path) -> None:
    """Re-write the manifest after tampering: what a careless tool or an attacker with write access does."""
    from cxml.bundle import write_manifest

    write_manifest(root)


def test_a_listed_symlink_to_a_file_outside_is_refused(copy: Path, tmp_path: Path) -> None:
    import hashlib

    outside = tmp_path / "outside.json"
    outside.write_text("{}")
    (copy / "recommender" / "extra.json").symlink_to(outside)
    digest = hashlib.sha256(outside.read_bytes()).hexdigest()
    with (copy / "MANIFEST.sha256").open("a") as f:
        f.write(f"{digest}  recommender/extra.json\n")
    with pytest.raises(cxml.BundleError, match=r"'recommender/extra.json' is a symbolic link"):
        load_bundle(copy)


def test_a_symlinked_directory_or_replaced_file_is_refused(copy: Path, tmp_path: Path) -> None:
    target = copy / "recommender" / "arrays.npz"
    moved = tmp_path / "arrays.npz"
    target.rename(moved)
    target.symlink_to(moved)  # same content, same hash: still refused
    with pytest.raises(cxml.BundleError, match=r"'recommender/arrays.npz' is a symbolic link"):
        load_bundle(copy)
    target.unlink()
    moved.rename(target)
    (copy / "linked").symlink_to(copy / "recommender", target_is_directory=True)
    with pytest.raises(cxml.BundleError, match=r"'linked' is a symbolic link"):
        load_bundle(copy)
    with pytest.raises(cxml.BundleError, match="symbolic link"):
        _resign(copy)  # the manifest writer refuses links too


def test_the_bundle_directory_itself_may_be_a_link(copy: Path, tmp_path: Path) -> None:
    latest = tmp_path / "latest"
    latest.symlink_to(copy, target_is_directory=True)
    assert load_bundle(latest).recommender is not None


def test_a_special_file_is_refused(copy: Path) -> None:
    os.mkfifo(copy / "recommender" / "pipe")
    with pytest.raises(cxml.BundleError, match=r"'recommender/pipe' is not a regular file"):
        load_bundle(copy)


@pytest.mark.parametrize("content, match", [
    (b"\xff\xfe{}", r"bundle.json in .* unreadable"),
    (b"[1, 2]", r"bundle.json in .* holds a JSON list"),
    (b'{"format_version": "1"}', "no positive integer format_version"),
    (b'{"format_version": true}', "no positive integer format_version"),
    (b'{"format_version": 0}', "no positive integer format_version"),
    (b'{"format_version": -3}', "no positive integer format_version"),
    (b'{"format_version": 1, "components": ["recommender"]}', "'components' must map"),
    (b'{"format_version": 1, "components": {"recommender": {"class": 7}}}', "'components' must map"),
    (b'{"format_version": 1, "components": {}, "metadata": [1]}', "'metadata' must be a JSON object"),
])
def test_malformed_bundle_json_is_a_bundle_error(copy: Path, content: bytes, match: str) -> None:
    (copy / "bundle.json").write_bytes(content)
    _resign(copy)
    with pytest.raises(cxml.BundleError, match=match):
        load_bundle(copy)


def test_a_bundle_from_a_newer_cxml_loads_with_a_warning(copy: Path) -> None:
    meta = json.loads((copy / "bundle.json").read_text())
    meta["cxml_version"] = "99.1.0"
    (copy / "bundle.json").write_text(json.dumps(meta))
    _resign(copy)
    with pytest.warns(cxml.CxmlWarning, match=r"written by cxml 99.1.0, newer than this cxml"):
        assert load_bundle(copy).recommender is not None


def _edit_params(copy: Path, edit) -> None:
    path = copy / "recommender" / "params.json"
    meta = json.loads(path.read_text())
    edit(meta)
    path.write_text(json.dumps(meta))


@pytest.mark.parametrize("edit, match", [
    (lambda m: m.pop("state"), r"params.json' *: 'state' is missing or not a JSON object"),
    (lambda m: m.update(params=[1]), r"params.json' *: 'params' is missing or not a JSON object"),
    (lambda m: m.update(state={"reference_time": "2024-01-01T00:00:00"}), r"params.json' has no 'weight'"),
    (lambda m: m.update({"class": None}), r"params.json' *: 'class' is None"),
])
def test_wrong_shaped_recommender_params_are_a_bundle_error(copy: Path, edit, match: str) -> None:
    _edit_params(copy, edit)
    _resign(copy)
    with pytest.raises(cxml.BundleError, match=match):
        load_bundle(copy)


def test_non_utf8_recommender_params_are_a_bundle_error(copy: Path) -> None:
    (copy / "recommender" / "params.json").write_bytes(b'{"format": "\xff"}')
    _resign(copy)
    with pytest.raises(cxml.BundleError, match=r"params.json' unreadable"):
        load_bundle(copy)


def _edit_arrays(copy: Path, edit) -> None:
    path = copy / "recommender" / "arrays.npz"
    with np.load(path) as npz:
        arrays = {k: npz[k] for k in npz.files}
    edit(arrays)
    np.savez(path, **arrays)


@pytest.mark.parametrize("edit, match", [
    (lambda a: a.update(item_popularity=np.array([{"a": 1}], dtype=object)), "not a numpy archive of plain arrays"),
    (lambda a: a.pop("item_popularity"), "arrays.npz' has no array 'item_popularity'"),
    (lambda a: a.update(user_items__indices=a["user_items__indices"] + a["user_items__shape"][1]),
     r"sparse matrix 'user_items' is malformed: column indices span"),
    (lambda a: a.update(user_items__indices=-a["user_items__indices"] - 1), "outside"),
    (lambda a: a.update(user_items__indptr=a["user_items__indptr"][::-1].copy()), "indptr"),
    (lambda a: a.update(user_items__data=a["user_items__data"][:-1]), "indices and .* values"),
    (lambda a: a.update(user_items__shape=np.array([1.5, 2.0])), "shape"),
])
def test_malformed_arrays_are_a_bundle_error_naming_the_file(copy: Path, edit, match: str) -> None:
    _edit_arrays(copy, edit)
    _resign(copy)
    with pytest.raises(cxml.BundleError, match=match) as info:
        load_bundle(copy)
    assert "arrays.npz" in str(info.value)


def test_a_pickle_posing_as_npz_is_refused(copy: Path) -> None:
    (copy / "recommender" / "arrays.npz").write_bytes(pickle.dumps({"item_popularity": [1, 2]}))
    _resign(copy)
    with pytest.raises(cxml.BundleError, match=r"arrays.npz' is not a numpy archive .*pickle"):
        load_bundle(copy)
    np.save(copy / "recommender" / "single.npy", np.arange(3))
    (copy / "recommender" / "single.npy").rename(copy / "recommender" / "arrays.npz")
    _resign(copy)
    with pytest.raises(cxml.BundleError, match=r"arrays.npz' holds a single array"):
        load_bundle(copy)


@pytest.mark.parametrize("content", [b"not parquet at all", None])
def test_a_garbage_id_map_is_a_bundle_error(copy: Path, content: bytes | None) -> None:
    import pandas as pd

    path = copy / "recommender" / "users.parquet"
    if content is None:
        pd.DataFrame({"something": ["else"]}).to_parquet(path)
    else:
        path.write_bytes(content)
    _resign(copy)
    with pytest.raises(cxml.BundleError, match=r"users.parquet' is not a readable id map"):
        load_bundle(copy)


def test_a_malformed_manifest_is_a_bundle_error(copy: Path) -> None:
    (copy / "MANIFEST.sha256").write_bytes(b"\xff\xfe")
    with pytest.raises(cxml.BundleError, match="MANIFEST.sha256 in .* unreadable"):
        load_bundle(copy)
    (copy / "MANIFEST.sha256").write_text("z" * 64 + "  bundle.json\n")
    with pytest.raises(cxml.BundleError, match="MANIFEST.sha256 line 1 is malformed"):
        load_bundle(copy)
