"""The house rules of the layout: modules small and named for their concern, functions short."""

import ast

from helpers import ROOT

MAX_MODULE_LINES = 250
MAX_FUNCTION_LINES = 60
SOURCES = sorted([*(ROOT / "src").rglob("*.py"), *(ROOT / "tools").rglob("*.py")])


def test_no_module_is_over_250_lines():
    long = {
        str(p.relative_to(ROOT)): n
        for p in SOURCES
        if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not long, long


def test_no_function_is_over_60_lines():
    long = {}
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(ROOT)}:{node.name}"] = length
    assert not long, long


def test_every_mlflow_import_is_in_the_tracking_package():
    outside = []
    for path in SOURCES:
        if "tracking" in path.relative_to(ROOT).parts or path.parent.name == "tools":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(name.split(".")[0] == "mlflow" for name in names):
                outside.append(str(path.relative_to(ROOT)))
    assert not outside, outside


def test_no_search_hyperparameter_is_named_outside_the_model_and_config():
    """A hyperparameter is declared once: nothing in the search, tracking, reporting or serving
    code names one (the old closed list was repeated in nine files)."""
    names = ("hidden_units", "learning_rate", "dropout", "batch_size", "weight_decay")
    found = []
    for folder in ("search", "tracking", "reporting", "serving", "job"):
        for path in (ROOT / "src" / folder).rglob("*.py"):
            code = "\n".join(
                line for line in path.read_text().splitlines() if not line.strip().startswith("#")
            )
            found += [f"{path.relative_to(ROOT)}: {n}" for n in names if f'"{n}"' in code]
    assert not found, found
