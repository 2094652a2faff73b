"""What every scale benchmark writes with its results: the machine block and the JSON file."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil

import cxml


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
