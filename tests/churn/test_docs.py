"""The churn docstrings composed by ``_docs.fill_doc``: every marker filled, every section once.

Some fragments carry their section's header (``bad_arrays``, ``predict_raises`` ...); a docstring
that also writes the header above such a marker would show the section twice.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Iterator

import pytest

import cxml.churn
from cxml.churn._docs import FRAGMENTS, fill_doc

_HEADER = re.compile(r"^[ \t]*(\w[\w ]*)\n[ \t]*-{3,}[ \t]*$", flags=re.M)


def _docstrings() -> Iterator[tuple[str, str]]:
    for info in pkgutil.iter_modules(cxml.churn.__path__, "cxml.churn."):
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if getattr(obj, "__module__", None) != info.name or not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            members = [(name, obj)] + [(f"{name}.{attr}", value) for attr, value in vars(obj).items()
                                       if inspect.isfunction(value) or isinstance(value, classmethod)]
            for label, member in members:
                doc = getattr(member, "__doc__", None)
                if doc:
                    yield f"{info.name}.{label}", doc


DOCSTRINGS = dict(_docstrings())


def test_the_walk_sees_the_filled_docstrings() -> None:
    assert "cxml.churn.bgnbd.BGNBDModel.p_alive" in DOCSTRINGS
    assert "cxml.churn.evaluation.evaluate_churn" in DOCSTRINGS


@pytest.mark.parametrize("name", sorted(DOCSTRINGS))
def test_every_marker_is_filled_and_every_section_appears_once(name: str) -> None:
    doc = DOCSTRINGS[name]
    assert not re.search(r"^[ \t]*\{\{\w+\}\}[ \t]*$", doc, flags=re.M), f"{name}: unfilled marker"
    headers = _HEADER.findall(doc)
    assert len(headers) == len(set(headers)), f"{name}: a section twice: {headers}"


def test_a_header_written_above_a_section_fragment_is_caught() -> None:
    def f() -> None:
        """Do it.

        Raises
        ------
        {{predict_raises}}
        """

    doc = fill_doc(f).__doc__ or ""
    assert "Raises" in FRAGMENTS["predict_raises"]
    assert len(_HEADER.findall(doc)) == 2 and len(set(_HEADER.findall(doc))) == 1
