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


def _imported(node: ast.AST) -> list[str]:
    """The modules an import statement names (none for any other node)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    return [node.module or ""] if isinstance(node, ast.ImportFrom) else []


def test_every_mlflow_import_is_in_the_tracking_package():
    outside = []
    for path in SOURCES:
        if "tracking" in path.relative_to(ROOT).parts or path.parent.name == "tools":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = _imported(node)
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


# A library's private modules, and the one module of ours allowed to use each (pinned exactly
# in pyproject.toml, with why in its docstring).
PRIVATE = {
    "keras_tuner.src": "src/search/kt_private.py",
    "keras.src": "src/model/keras_file.py",
    "tensorflow.python": "src/runtime/tf.py",
    "mlflow.utils": "src/tracking/mlflow_private.py",
    "mlflow.system_metrics": "src/tracking/mlflow_private.py",
    "mlflow.store": "src/tracking/mlflow_private.py",
    "mlflow.server": "src/tracking/mlflow_private.py",
    "hydra._internal": "none",
    "omegaconf._": "src/config/omegaconf_private.py",
}


def test_every_private_use_of_a_library_is_in_its_one_module():
    outside = []
    for path in SOURCES:
        where = str(path.relative_to(ROOT))
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = _imported(node)
            for name in names:
                for private, home in PRIVATE.items():
                    if name.startswith(private) and where != home:
                        outside.append(f"{where}: {name}")
            if isinstance(node, ast.Attribute) and node.attr == "_get_node":
                outside += [f"{where}: {node.attr}"] if where != PRIVATE["omegaconf._"] else []
    assert not outside, outside


def test_every_library_used_privately_is_pinned_exactly():
    pyproject = (ROOT / "pyproject.toml").read_text()
    for pin in ("keras-tuner==", "keras==", "tensorflow-cpu==", "mlflow[auth]==", "omegaconf=="):
        assert f'"{pin}' in pyproject, pin


def test_every_module_and_test_file_is_on_the_layout_page():
    page = (ROOT / "docs" / "layout.md").read_text()
    modules = [p.relative_to(ROOT / "src").as_posix() for p in (ROOT / "src").rglob("*.py")]
    tests = [p.name for p in (ROOT / "tests").glob("test_*.py")]
    missing = [m for m in [*modules, *tests] if f"`{m}`" not in page and m != "__init__.py"]
    missing = [m for m in missing if not m.endswith("/__init__.py") or m == "pictures/__init__.py"]
    assert not missing, f"add to docs/layout.md: {missing}"


def test_no_dictconfig_past_the_door():
    """Hydra's DictConfig is taken by the config package, the entry points and the door
    (job/preflight.py, and job/run.py's run_job which calls it first); nothing else."""
    door = {"src/job/preflight.py", "src/job/run.py"}
    found = []
    for path in (ROOT / "src").rglob("*.py"):
        where = str(path.relative_to(ROOT))
        entry = path.parent == ROOT / "src" or path.name == "__main__.py"
        if entry or where in door or where.startswith("src/config/"):
            continue
        if "DictConfig" in path.read_text():
            found.append(where)
    assert not found, found


def test_a_module_that_imports_inside_functions_says_why_once():
    """Imports inside functions keep processes light (no TensorFlow in the entry process, no
    MLflow in a job); each module that has some says why, in one comment."""
    silent = []
    for path in SOURCES:
        if path.parent.name == "tools":
            continue
        text = path.read_text()
        inner = any(
            isinstance(n, ast.Import | ast.ImportFrom)
            for fn in ast.walk(ast.parse(text))
            if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
            for n in ast.walk(fn)
        )
        if inner and text.count("# Imported inside functions:") != 1:
            silent.append(str(path.relative_to(ROOT)))
    assert not silent, silent
