"""The exported surface: every name in DESIGN.md is importable from where DESIGN.md says."""

from __future__ import annotations

import importlib
import logging
from pathlib import Path

import pytest

import cxml

EXPECTED = {
    "cxml": {"load_events", "Columns", "IdMap", "CxmlError", "SchemaError", "NotFittedError", "BundleError",
             "validate_events", "DataWarning"},
    "cxml.data": {"load_events", "IdMap", "describe_events"},
    "cxml.schema": {"Columns", "EventTypes", "validate_events", "purchase_mask"},
    "cxml.report": {"build", "SECTION_TITLES"},
    "cxml.evaluate": {"backtest", "paired_bootstrap"},
}


@pytest.mark.parametrize("module", sorted(EXPECTED))
def test_exports(module: str) -> None:
    mod = importlib.import_module(module)
    assert EXPECTED[module] <= set(mod.__all__)
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.__all__ lists {name} but it is not defined"


def test_errors_subclass_builtins() -> None:
    assert issubclass(cxml.SchemaError, ValueError)
    assert issubclass(cxml.NotFittedError, AttributeError)
    assert issubclass(cxml.SourceError, FileNotFoundError)
    for name in cxml.exceptions.__all__:
        cls = getattr(cxml.exceptions, name)
        assert issubclass(cls, cxml.CxmlError | Warning)


_STATE_PROBE = """
import json, logging, os, sys, warnings
import numpy as np

def state():
    root = logging.getLogger()
    loggers = {name: (lg.level, [type(h).__name__ for h in lg.handlers], lg.propagate)
               for name, lg in logging.Logger.manager.loggerDict.items()
               if isinstance(lg, logging.Logger) and name.startswith("cxml")
               and (lg.level or lg.handlers or not lg.propagate)}  # a plain getLogger() is no change
    return {
        "warnings": [repr(f) for f in warnings.filters],
        "root": [root.level, [repr(h) for h in root.handlers]],
        "cxml_loggers": {k: v for k, v in loggers.items() if k != "cxml"},
        "cxml_logger": [logging.getLogger("cxml").level,
                        [type(h).__name__ for h in logging.getLogger("cxml").handlers]],
        "environ": dict(os.environ),
        "numpy_err": np.geterr(),
        "numpy_print": {k: repr(v) for k, v in np.get_printoptions().items()},
        "random": repr(np.random.get_state()[1][:4].tolist()),
        "path": list(sys.path),
        "recursion": sys.getrecursionlimit(),
    }

import ast, importlib, pathlib
# third-party packages may change global state when imported (urllib3 adds warning filters): import
# every module cxml's source names first, so that the comparison isolates cxml's own code
src = pathlib.Path(sys.argv[1])
for path in src.rglob("*.py"):
    for node in ast.walk(ast.parse(path.read_text())):
        mods = ([a.name for a in node.names] if isinstance(node, ast.Import)
                else [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module
                else [])
        for mod in mods:
            if mod.split(".")[0] not in ("cxml", "__future__"):
                try:
                    importlib.import_module(mod)
                except ImportError:
                    pass
before = state()
import pkgutil, cxml
names = sorted(m.name for m in pkgutil.walk_packages(cxml.__path__, "cxml.")
               if not m.name.endswith("__main__") and not m.name.startswith("cxml.spark"))
for name in names:
    importlib.import_module(name)
after = state()
after["cxml_logger"][1] = [h for h in after["cxml_logger"][1] if h != "NullHandler"]
print(json.dumps({"n": len(names), "before": before, "after": after}, default=str))
"""


def test_importing_any_submodule_changes_no_global_state() -> None:
    """Importing every cxml module (in a fresh interpreter) leaves warnings filters, logging,
    the environment, numpy's error/print settings and global RNG exactly as they were; the only
    addition allowed is the NullHandler on the ``cxml`` logger (what a library should add)."""
    import json
    import subprocess
    import sys

    src = Path(importlib.util.find_spec("cxml").origin).parent  # type: ignore[union-attr, arg-type]
    out = subprocess.run([sys.executable, "-c", _STATE_PROBE, str(src)], capture_output=True, text=True,
                         check=True)
    probe = json.loads(out.stdout.strip().splitlines()[-1])
    assert probe["n"] > 40  # every submodule was imported, not just the package
    before, after = probe["before"], probe["after"]
    for key in before:
        assert after[key] == before[key], f"importing cxml changed {key}"
    assert all(isinstance(h, logging.NullHandler) for h in logging.getLogger("cxml").handlers)
