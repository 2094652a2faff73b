"""The synthetic sample at scale: a partitioned parquet events dataset written block by block.

Layout of ``out_dir`` (read back with ``cxml.load_events(out_dir)``, ``pd.read_parquet(out_dir)``
or ``pyarrow.dataset.dataset(out_dir)``; readers skip ``_``-prefixed files)::

    out_dir/
      part-00000.parquet     customers C0000000..C0049999, sorted by timestamp (then customer, type)
      part-00001.parquet     the next block of customers
      ...
      _cxml_dataset.json     parameters, calibrated rates, seeds, row counts per part and type

Every customer's events are in exactly one part file (parts are customer blocks, so a reader can
stream the dataset part by part without splitting a customer). Columns are the canonical events
(``customer_id, timestamp, event_type, item_id, quantity, amount, value``) plus ``order_id``;
missing values are parquet nulls; timestamps are ``timestamp[ns]``.

Randomness: customers are simulated in *units* of :data:`SEED_BLOCK` customers, unit ``u`` from
``SeedSequence(entropy, spawn_key=(1, u))`` and the catalogue (and item id shuffle) from
``spawn_key=(0,)``. A block (one part file) is a run of whole units, so the rows do not depend
on the block size or the memory budget: only how they are cut into files does. Peak memory is
about :data:`BYTES_PER_ROW` bytes per row of one block (plus the catalogue), whatever the total.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

from cxml._checks import check_bool, check_int, check_random_state
from cxml._version import __version__
from cxml.data._sample_calibrate import Counter, Counts, calibrate, count_rows
from cxml.data._sample_catalogue import Catalogue, make_catalogue
from cxml.data._sample_events import simulate
from cxml.data._sample_knobs import Knobs, check_knobs, check_target, check_window
from cxml.data._sample_table import IdFormat, Unit, block_table, id_names, make_unit
from cxml.exceptions import OutputExistsError

__all__ = ["BYTES_PER_ROW", "DEFAULT_MEMORY_BUDGET", "MANIFEST", "SEED_BLOCK", "write_dataset"]

#: customers per random stream: fixed, so the data never depends on the block size
SEED_BLOCK = 1_000
#: peak bytes per row of a block while it is simulated, sorted and encoded (measured, with margin)
BYTES_PER_ROW = 400
DEFAULT_MEMORY_BUDGET = 512 * 2**20
MANIFEST = "_cxml_dataset.json"
PART = "part-{:05d}.parquet"
ROW_GROUP_ROWS = 1 << 20
#: the calibration simulates the dataset's first units, about this many rows, at most PILOT_UNITS
PILOT_ROWS, PILOT_UNITS = 1_000_000, 20


@dataclass(frozen=True)
class _Spec:
    """Validated arguments of :func:`write_dataset` (what the manifest records)."""

    n_customers: int
    n_events: int | None
    n_items: int
    start: str
    end: str
    purchase_share: float | None
    zipf_exponent: float | None
    basket_size: float | None
    repeat_rate: float | None
    n_categories: int | None
    random_state: int | None


def write_dataset(
    out_dir: str | os.PathLike[str],
    *,
    n_customers: int,
    n_events: int | None = None,
    n_items: int = 10_000,
    start: Any = "2023-01-01",
    end: Any = "2024-12-31",
    purchase_share: float | None = None,
    zipf_exponent: float | None = None,
    basket_size: float | None = None,
    repeat_rate: float | None = None,
    n_categories: int | None = None,
    random_state: int | None = 0,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    block_customers: int | None = None,
    overwrite: bool = False,
    progress: bool = False,
) -> Path:
    """Write a synthetic events dataset of any size as partitioned parquet (layout: module docstring).

    The same model as :func:`cxml.data.sample.generate_sample` (BG/NBD purchases, Dirichlet
    tastes, returns, engagement, feedback), generated one block of customers at a time so that
    memory is bounded by the block, not the total; the item catalogue is drawn once.

    Parameters
    ----------
    out_dir
        Directory to create. Written into a temporary sibling and renamed into place at the end.
    n_customers
        Customers (≥ 1).
    n_events
        Target number of rows (≥ ``n_customers``). The purchase and engagement rates are
        calibrated on the dataset's own first units (all of them up to ~20k customers, so a small
        dataset lands within ~2 %; a big one within its sampling noise, ~1-3 %); ``None``: what
        the default rates give.
    n_items
        Items in the catalogue (≥ 1).
    start, end
        First and last day of the window (date-like, ``end`` inclusive).
    purchase_share, zipf_exponent, basket_size, repeat_rate, n_categories
        The knobs of :func:`cxml.data.sample.generate_sample` (``None`` keeps its defaults).
    random_state
        Seed (int in ``[0, 2**32)``) of the ``SeedSequence`` every stream derives from; ``None``
        draws fresh entropy (recorded in the manifest). The same seed gives the same rows.
    memory_budget
        Bytes the generation may hold at once (≥ 16 MiB): sets the customers per block from the
        expected rows per customer. A block is at least :data:`SEED_BLOCK` customers.
    block_customers
        Customers per block (part file), overriding ``memory_budget``; rounded up to a multiple
        of :data:`SEED_BLOCK`. Does not change the rows, only how they are cut into files.
    overwrite
        Replace an existing non-empty ``out_dir`` (only once the new dataset is complete).
    progress
        Show a ``tqdm`` progress bar over the blocks.

    Returns
    -------
    pathlib.Path
        ``out_dir``.

    Raises
    ------
    ParameterError
        An argument out of range, or an ``n_events`` the model cannot reach.
    OutputExistsError
        ``out_dir`` exists and is not empty, and ``overwrite`` is false.

    Examples
    --------
    >>> import tempfile, cxml
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = write_dataset(f"{tmp}/events", n_customers=2_500, n_events=60_000, n_items=300,
    ...                         block_customers=1_000)
    ...     print(sorted(p.name for p in out.iterdir()))
    ...     print(cxml.load_events(out)["customer_id"].nunique())
    ['_cxml_dataset.json', 'part-00000.parquet', 'part-00001.parquet', 'part-00002.parquet']
    2500
    """
    spec = _check(
        n_customers=n_customers,
        n_events=n_events,
        n_items=n_items,
        start=start,
        end=end,
        purchase_share=purchase_share,
        zipf_exponent=zipf_exponent,
        basket_size=basket_size,
        repeat_rate=repeat_rate,
        n_categories=n_categories,
        random_state=random_state,
    )
    memory_budget = check_int("memory_budget", memory_budget, minimum=16 * 2**20)
    if block_customers is not None:
        block_customers = check_int("block_customers", block_customers, minimum=1)
    overwrite, progress = check_bool("overwrite", overwrite), check_bool("progress", progress)
    out = _check_output(Path(out_dir), overwrite)
    first, days = check_window(start, end)
    entropy = np.random.SeedSequence(spec.random_state).entropy
    catalogue, ids, knobs, expected_rows = _prepare(spec, entropy, days)
    if block_customers is None:
        per_row = memory_budget / BYTES_PER_ROW
        block_customers = int(per_row * spec.n_customers / max(expected_rows, 1))
    units_per_block = max(1, math.ceil(block_customers / SEED_BLOCK))

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        blocks = _blocks(spec.n_customers, units_per_block)
        day0 = first.normalize().to_datetime64().astype("datetime64[s]")
        parts = _write_parts(tmp, blocks, entropy, spec, catalogue, knobs, ids, day0, days, progress)
        manifest = _manifest(spec, entropy, knobs, units_per_block, parts)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        _move_into_place(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _check(**args: Any) -> _Spec:
    """Validate the dataset's parameters (the arguments of :func:`write_dataset` the rows depend on)."""
    n_customers = check_int("n_customers", args["n_customers"], minimum=1)
    n_items = check_int("n_items", args["n_items"], minimum=1)
    check_window(args["start"], args["end"])
    n_events, purchase_share = check_target(n_customers, args["n_events"], args["purchase_share"])
    knobs = check_knobs(
        n_items,
        zipf_exponent=args["zipf_exponent"],
        n_categories=args["n_categories"],
        basket_size=args["basket_size"],
        repeat_rate=args["repeat_rate"],
    )
    return _Spec(
        n_customers=n_customers,
        n_events=n_events,
        n_items=n_items,
        start=str(args["start"]),
        end=str(args["end"]),
        purchase_share=purchase_share,
        zipf_exponent=knobs.zipf_exponent,
        basket_size=knobs.basket_size,
        repeat_rate=knobs.repeat_rate,
        n_categories=knobs.n_categories,
        random_state=check_random_state(args["random_state"]),
    )


def _check_output(out: Path, overwrite: bool) -> Path:
    if out.exists() and not overwrite and (not out.is_dir() or any(out.iterdir())):
        raise OutputExistsError(
            f"out_dir={str(out)!r} exists and is not empty; expected a new or empty directory, "
            "or overwrite=True to replace it"
        )
    return out


def _prepare(spec: _Spec, entropy: Any, days: float) -> tuple[Catalogue, IdFormat, Knobs, float]:
    """The catalogue, the id formats and the calibrated knobs, shared by every block."""
    rng = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(0,)))
    knobs = Knobs(spec.zipf_exponent, spec.n_categories, spec.basket_size, spec.repeat_rate)
    catalogue = make_catalogue(rng, spec.n_items, zipf_exponent=knobs.zipf_exponent,
                               n_categories=knobs.n_categories)
    item_names = id_names("I", rng.permutation(spec.n_items), len(str(spec.n_items - 1)))
    counter = _first_units_counter(spec, entropy, days, catalogue)
    knobs = calibrate(knobs, counter, spec.n_customers, spec.n_events, spec.purchase_share)
    expected = spec.n_events
    if expected is None:
        expected = int(sum(counter(knobs)) * spec.n_customers)
    # orders are fewer than rows; twice the expected rows leaves room for sampling noise
    ids = IdFormat(len(str(spec.n_customers - 1)), len(str(2 * expected)), item_names)
    return catalogue, ids, knobs, float(expected)


def _first_units_counter(spec: _Spec, entropy: Any, days: float, catalogue: Catalogue) -> Counter:
    """Calibrate on the dataset's own first units (all of a small one): about
    :data:`PILOT_ROWS` rows, at most :data:`PILOT_UNITS` units."""
    n_units = math.ceil(spec.n_customers / SEED_BLOCK)
    per_customer = 40.0 if spec.n_events is None else spec.n_events / spec.n_customers
    k = int(np.clip(round(PILOT_ROWS / per_customer / SEED_BLOCK), 1, min(PILOT_UNITS, n_units)))
    n = min(k * SEED_BLOCK, spec.n_customers)

    def counter(knobs: Knobs) -> Counts:
        totals = np.zeros(4)
        for u in range(k):
            rng = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(1, u)))
            size = min(SEED_BLOCK, spec.n_customers - u * SEED_BLOCK)
            totals += np.asarray(count_rows(rng, size, days, catalogue, knobs)) * size
        return Counts(*(totals / n))

    return counter


def _blocks(n_customers: int, units_per_block: int) -> list[range]:
    """Unit indices of each block."""
    n_units = math.ceil(n_customers / SEED_BLOCK)
    return [range(b, min(b + units_per_block, n_units)) for b in range(0, n_units, units_per_block)]


def _units(
    block: range, entropy: Any, spec: _Spec, catalogue: Catalogue, knobs: Knobs, days: float, first_order: int
) -> Iterator[Unit]:
    for u in block:
        rng = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(1, u)))
        n = min(SEED_BLOCK, spec.n_customers - u * SEED_BLOCK)
        unit = make_unit(simulate(rng, n, days, catalogue, knobs), u * SEED_BLOCK, first_order)
        first_order += unit.order_number.size
        yield unit


def _write_parts(
    tmp: Path,
    blocks: list[range],
    entropy: Any,
    spec: _Spec,
    catalogue: Catalogue,
    knobs: Knobs,
    ids: IdFormat,
    day0: np.datetime64,
    days: float,
    progress: bool,
) -> list[dict[str, Any]]:
    """Simulate and write every block; returns what the manifest says about each part."""
    iterator: Any = blocks
    if progress:
        from tqdm.auto import tqdm  # imported only when asked: tqdm.auto probes for notebooks

        iterator = tqdm(blocks, desc="generating", unit="block")
    parts, first_order = [], 0
    for b, block in enumerate(iterator):
        units = list(_units(block, entropy, spec, catalogue, knobs, days, first_order))
        first_order += sum(u.order_number.size for u in units)
        table = block_table(units, day0, days, ids)
        del units
        name = PART.format(b)
        pq.write_table(table, tmp / name, row_group_size=ROW_GROUP_ROWS)
        kinds = pc.value_counts(table.column("event_type")).to_pylist()
        parts.append(
            {
                "file": name,
                "rows": table.num_rows,
                "first_customer": block.start * SEED_BLOCK,
                "customers": min(block.stop * SEED_BLOCK, spec.n_customers) - block.start * SEED_BLOCK,
                "by_event_type": {k["values"]: k["counts"] for k in kinds},
            }
        )
        del table
    return parts


def _manifest(
    spec: _Spec, entropy: Any, knobs: Knobs, units_per_block: int, parts: list[dict[str, Any]]
) -> dict[str, Any]:
    by_type: dict[str, int] = {}
    for part in parts:
        for kind, n in part["by_event_type"].items():
            by_type[kind] = by_type.get(kind, 0) + n
    return {
        "format": "cxml-synthetic-events",
        "format_version": 1,
        "cxml_version": __version__,
        "parameters": asdict(spec),
        "seed_entropy": str(entropy),
        "seed_block_customers": SEED_BLOCK,
        "block_customers": units_per_block * SEED_BLOCK,
        "calibration": {"rate_scale": knobs.rate_scale, "engagement_scale": knobs.engagement_scale},
        "counts": {
            "rows": sum(p["rows"] for p in parts),
            "customers": spec.n_customers,
            "items": spec.n_items,
            "parts": len(parts),
            "by_event_type": dict(sorted(by_type.items())),
        },
        "parts": parts,
    }


def _move_into_place(tmp: Path, out: Path) -> None:
    """Rename the finished ``tmp`` to ``out``; an old ``out`` is removed only after that succeeded."""
    old = None
    if out.exists() or out.is_symlink():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(old)
    try:
        tmp.rename(out)
    except BaseException:
        if old is not None:
            old.rename(out)
        raise
    if old is not None:
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old)
        else:
            old.unlink()
