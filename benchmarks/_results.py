"""What the scale and scoring benchmarks share: the bundle they score, the child run, the machine block, the JSON."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil

import cxml
from cxml.churn import ChurnModel, CLTVModel
from cxml.recommend import ALSRecommender


def machine_block(load_start: Any) -> dict[str, Any]:
    """Python, cores, memory, library versions and the load average at the start and now."""
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "cxml": cxml.__version__,
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1), "numpy": np.__version__,
            "pandas": pd.__version__, "loadavg_start": load_start, "loadavg_end": os.getloadavg()}


def write_result(result: dict[str, Any], out: Path, *, skip: bool) -> None:
    """Write ``result`` as indented JSON to ``out`` unless ``skip`` (a quick or --no-write run)."""
    if skip:
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, default=str) + "\n")
    print(f"\nwrote {out}")


def run_child(script: str, spec: dict[str, Any], work: Path) -> dict[str, Any]:
    """Run ``script --child SPEC`` in a fresh process; its result JSON plus ``child_maxrss`` (bytes)."""
    spec_path = work / f"spec-{spec['tag']}.json"
    spec_path.write_text(json.dumps(spec))
    log = work / f"child-{spec['tag']}.log"
    with open(log, "wb") as fh:
        proc = subprocess.Popen([sys.executable, script, "--child", str(spec_path)],
                                stdout=fh, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"child {spec['tag']} failed: {log.read_text()[-3000:]}")
    result = dict(json.loads(Path(spec["result"]).read_text()))
    result["child_maxrss"] = usage.ru_maxrss * 1024
    return result


def fit_models(events: pd.DataFrame, as_of: str) -> tuple[dict[str, Any], dict[str, float]]:
    """The benchmark bundle's models fitted on ``events`` and each fit's seconds.

    ALS (64 factors, 10 iterations), churn (90 days) and CLTV (180 days) with 2 snapshots, seed 0;
    the synthetic data's snapshot/cutoff notes (DataWarning) are silenced.
    """
    makers = {
        "als": lambda: ALSRecommender(factors=64, iterations=10, random_state=0).fit(events),
        "churn": lambda: ChurnModel(horizon="90D", n_snapshots=2, random_state=0).fit(events, as_of=as_of),
        "cltv": lambda: CLTVModel(horizon="180D", n_snapshots=2, random_state=0).fit(events, as_of=as_of),
    }
    models: dict[str, Any] = {}
    seconds: dict[str, float] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", cxml.DataWarning)
        for name, make in makers.items():
            t0 = time.perf_counter()
            models[name] = make()
            seconds[name] = time.perf_counter() - t0
    return models, seconds
