"""The shape of the package: layers, no import cycles, small modules and functions, cxml errors only.

These read the source with :mod:`ast` (nothing is imported), so they check every import — at
module top, inside functions and under ``TYPE_CHECKING`` alike. The layer order is the one drawn
in docs/architecture.md.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "cxml"

#: lowest first; a module may import its own layer and the ones below. Names are the first one or two
#: dotted parts below ``cxml``; siblings on one layer listed in a tuple may not import each other.
LAYERS: list[tuple[str, ...]] = [
    ("_version", "_uri", "_docs", "_params"),
    ("exceptions",),
    ("schema", "_checks", "_files"),
    ("data",),
    ("features",),
    ("segment",),
    ("recommend", "churn"),
    ("bundle",),
    ("batch",),
    ("scoring",),
    ("evaluate", "report"),
    ("tracking",),
    ("spark",),
    ("cli", "demo", "__main__"),
]
#: layers whose members may import each other (within the layer); the rest are siblings that may not
SHARED_LAYERS = {("schema", "_checks", "_files"), ("cli", "demo", "__main__")}
#: modules that import nothing from cxml
LEAVES = {"cxml._version", "cxml._uri", "cxml._docs", "cxml._params"}

MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(SRC).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """Every cxml module ``name`` imports (the most specific module each import statement names)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        found.update(t for t in targets if t == "cxml" or t.startswith("cxml."))
    return {t for t in found if t != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _layer(module: str) -> tuple[int, str]:
    parts = module.split(".")
    key = parts[1] if len(parts) > 1 else ""
    for i, layer in enumerate(LAYERS):
        if key in layer:
            return i, key
    raise AssertionError(f"module {module} is in no layer of tests/test_architecture.py; add it to LAYERS")


def test_every_module_has_a_layer() -> None:
    for module in MODULES:
        if module != "cxml":
            _layer(module)


def test_no_module_imports_a_higher_layer_or_a_sibling() -> None:
    problems = []
    for module, targets in GRAPH.items():
        if module == "cxml":
            continue
        (level, key) = _layer(module)
        for target in targets:
            if target == "cxml":
                problems.append(f"{module} imports the package root cxml (import from the defining module)")
                continue
            t_level, t_key = _layer(target)
            if t_level > level:
                problems.append(f"{module} (layer {LAYERS[level]}) imports {target} (higher layer {LAYERS[t_level]})")
            elif t_level == level and t_key != key and LAYERS[level] not in SHARED_LAYERS:
                problems.append(f"{module} imports its sibling {target}")
    assert not problems, "\n".join(problems)


def test_leaves_import_no_cxml_code() -> None:
    for leaf in LEAVES:
        assert not GRAPH[leaf], f"{leaf} must import no cxml module, imports {sorted(GRAPH[leaf])}"


def test_no_import_cycles() -> None:
    # Tarjan's strongly connected components over the module graph (package __init__ files included)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH[v]:
            if w not in GRAPH or v.startswith(w + "."):
                continue  # a module may use its own package's face
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in GRAPH:
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_recommend_and_churn_import_on_their_own() -> None:
    import subprocess
    import sys

    for pkg, other in (("cxml.recommend", "cxml.churn"), ("cxml.churn", "cxml.recommend")):
        code = (f"import sys; import {pkg}; "
                f"print(*(m in sys.modules for m in ('{other}', 'cxml.scoring', 'mlflow')))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert out.stdout.split() == ["False"] * 3, f"importing {pkg} pulls in ({other}, scoring, mlflow): {out.stdout}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_is_small(module: str) -> None:
    n = len(MODULES[module].read_text().splitlines())
    assert n <= MAX_MODULE_LINES, f"{module} has {n} lines (> {MAX_MODULE_LINES}): split it by concept"


def _body_lines(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    body = fn.body
    if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        body = body[1:]  # the docstring does not count
    if not body:
        return 0
    return (body[-1].end_lineno or body[-1].lineno) - body[0].lineno + 1


def test_functions_are_short() -> None:
    long = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _body_lines(node) > MAX_FUNCTION_LINES:
                long.append(f"{module}.{node.name}: {_body_lines(node)} lines")
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines (docstring not counted): {long}"


def test_no_bare_builtin_errors() -> None:
    bare = []
    builtins = {"ValueError", "TypeError", "KeyError", "AttributeError"}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text())
        # a module-level __getattr__ must raise AttributeError: that is Python's protocol (PEP 562)
        protocol = {id(n) for f in ast.walk(tree) if isinstance(f, ast.FunctionDef) and f.name == "__getattr__"
                    for n in ast.walk(f)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Raise) and node.exc is not None and id(node) not in protocol:
                exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                if isinstance(exc, ast.Name) and exc.id in builtins:
                    bare.append(f"{module}:{node.lineno} raises {exc.id}")
    assert not bare, "raise the cxml error that names the problem instead:\n" + "\n".join(bare)
