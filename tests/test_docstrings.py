"""The API reference is complete: every public module, class and function has a docstring, and every
public function or method with parameters documents each of them by name (numpydoc ``Parameters``)."""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

PUBLIC_MODULES = ["cxml", "cxml.schema", "cxml.exceptions", "cxml.data", "cxml.features", "cxml.segment",
                  "cxml.recommend", "cxml.churn", "cxml.bundle", "cxml.tracking", "cxml.scoring", "cxml.batch",
                  "cxml.report", "cxml.evaluate"]


def _public_callables() -> Iterator[tuple[str, Callable[..., Any]]]:
    seen: set[int] = set()
    for name in PUBLIC_MODULES:
        module = importlib.import_module(name)
        for export in getattr(module, "__all__", []):
            obj = getattr(module, export)
            if id(obj) in seen or not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            seen.add(id(obj))
            yield f"{name}.{export}", obj
            if inspect.isclass(obj) and not issubclass(obj, BaseException):
                for attr, value in vars(obj).items():
                    func = value.__func__ if isinstance(value, classmethod | staticmethod) else value
                    if not attr.startswith("_") and inspect.isfunction(func):
                        yield f"{name}.{export}.{attr}", func


def _parameters_section(doc: str) -> set[str]:
    """Names listed in a numpydoc ``Parameters`` section: ``name``, ``name : type`` or ``a, b : type`` lines."""
    match = re.search(r"^Parameters\n-+\n(.*?)(?:\n\S[^\n]*\n-+\n|\Z)", doc, flags=re.S | re.M)
    if not match:
        return set()
    names: set[str] = set()
    for line in re.finditer(r"^(\*{0,2}\w+(?:, \*{0,2}\w+)*)(?:\s*:.*)?$", match.group(1), flags=re.M):
        names.update(name.strip() for name in line.group(1).split(","))
    return names


def test_public_modules_have_docstrings() -> None:
    missing = [m for m in PUBLIC_MODULES if not importlib.import_module(m).__doc__]
    assert not missing, missing


def test_public_objects_have_docstrings() -> None:
    missing = [name for name, obj in _public_callables() if not inspect.getdoc(obj)]
    assert not missing, missing


def test_every_parameter_is_documented_by_name() -> None:
    undocumented: list[str] = []
    for name, obj in _public_callables():
        if inspect.isclass(obj):
            continue
        try:
            signature = inspect.signature(obj)
        except (TypeError, ValueError):  # pragma: no cover - builtins
            continue
        params = [p for p in signature.parameters if p not in ("self", "cls") and not p.startswith("_")]
        if len(params) < 2:  # one obvious argument may be described in prose
            continue
        listed = {n.lstrip("*") for n in _parameters_section(inspect.getdoc(obj) or "")}
        gaps = [p for p in params if p not in listed]
        if gaps:
            undocumented.append(f"{name}: {gaps}")
    assert not undocumented, "\n".join(undocumented)


@pytest.mark.parametrize("doc, expected", [
    ("Sum.\n\nParameters\n----------\na\n    first\nb : int\n    second\n\nReturns\n-------\nint\n    x", {"a", "b"}),
    ("No sections here.", set()),
    ("f.\n\nParameters\n----------\nx, y : float\n    coordinates\n", {"x", "y"}),
])
def test_parameters_section_parser(doc: str, expected: set[str]) -> None:
    assert _parameters_section(doc) == expected
