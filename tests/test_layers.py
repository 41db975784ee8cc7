"""The packages of `src/` in layers (docs/layout.md): a package imports only from its own layer
or the layers below, and no modules or packages import each other in a circle. Read from the
code's own import statements, those under `TYPE_CHECKING` and inside functions included."""

import ast
from collections import defaultdict
from pathlib import Path

from helpers import ROOT

SRC = ROOT / "src"

# Bottom to top. `src/errors.py` is the exceptions every layer raises; the entry points are
# src/*.py (the commands, the API, cli's shared handling) and every package's `__main__`.
LAYERS = [
    {"errors", "config", "runtime", "model"},
    {"pictures", "data", "tracking", "search"},
    {"reporting"},
    {"job"},
    {"serving"},
    {"entry"},
]


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


# `src/__init__.py` only quiets TensorFlow's start-up notices; it imports nothing of the project.
MODULES = {_name(p): p for p in SRC.rglob("*.py") if p != SRC / "__init__.py"}


def _owner(target: str) -> str | None:
    """The project module an import names (a submodule if it is one, else its package)."""
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target or None


def _imports(module: str) -> set[str]:
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {_owner(a.name) for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, *([base] if base else [])])
            found |= {_owner(f"{base}.{a.name}") for a in node.names}
    return found - {None, module}


GRAPH = {m: _imports(m) for m in MODULES}


def package(module: str) -> str:
    """The package a module is in; `entry` for a command or the API."""
    parts = module.split(".")
    if parts[-1] == "__main__" or (not (SRC / parts[1]).is_dir() and parts[1] != "errors"):
        return "entry"
    return parts[1]


def layer(name: str) -> int:
    return next(i for i, names in enumerate(LAYERS) if name in names)


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan's algorithm)."""
    index, low, stack, on, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while not component or component[-1] != v:
                component.append(stack.pop())
                on.discard(component[-1])
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_every_package_has_a_layer():
    unplaced = {package(m) for m in MODULES} - set().union(*LAYERS)
    assert not unplaced, f"add to LAYERS (and docs/layout.md): {unplaced}"


def test_no_module_imports_from_a_higher_layer():
    upward = [
        f"{a} -> {b}"
        for a, targets in GRAPH.items()
        for b in targets
        if layer(package(b)) > layer(package(a))
    ]
    assert not upward, upward


def test_no_modules_import_each_other_in_a_circle():
    assert not circles(GRAPH)


def test_no_packages_import_each_other_in_a_circle():
    packages = defaultdict(set)
    for a, targets in GRAPH.items():
        packages[package(a)] |= {package(b) for b in targets} - {package(a)}
    assert not circles(packages)


def test_the_checks_see_a_circle_and_an_upward_arrow():
    """The checks themselves: a made-up circle is found, and a lower layer importing a higher
    one is upward."""
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert layer(package("src.tracking.writes")) < layer(package("src.reporting.summary"))
    assert package("src.data.__main__") == "entry" and package("src.errors") == "errors"
    assert "src.job.best" in GRAPH["src.job.run"]  # a lazy import inside a function
