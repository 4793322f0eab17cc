"""The package's layout, read from its imports with ``ast``: stages, the Dagster wing, no cycle."""

import ast
from pathlib import Path

import crpv_pipeline

PACKAGE = Path(crpv_pipeline.__file__).parent
STAGES = ("reference", "intake", "warehouse", "outputs", "year", "demo", "orchestration")
LOWER_STAGES = ("reference", "intake", "warehouse", "outputs")
"""Stages that never import Dagster nor the orchestration wing."""


def _stage(name: str) -> str:
    """The subpackage (or top-level module) of ``crpv_pipeline`` that module ``name`` is in."""
    return (name.split(".") + [""])[1]


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def imports_of(name: str) -> set[str]:
    """Every module ``name`` imports, anywhere in it (functions and ``TYPE_CHECKING`` included)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def internal_graph() -> dict[str, set[str]]:
    """Module → the package's modules it imports (a name imported from a module is that module)."""
    return {name: {m for m in imports_of(name) if m in MODULES} - {name} for name in MODULES}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_package_is_the_stages_and_a_few_shared_modules():
    top = sorted(n.rpartition(".")[2] for n in MODULES if n.count(".") == 1)
    assert top == sorted(
        [*STAGES, "_moved", "atomic", "cli", "cli_browse", "cli_checks", "cli_review"]
        + ["cli_upgrade", "cli_validate", "model"]
        + ["gc_pause", "settings", "testpoints"]
    )


def test_every_stage_says_what_comes_in_what_goes_out_and_what_stays_out():
    for stage in STAGES:
        doc = ast.get_docstring(ast.parse((PACKAGE / stage / "__init__.py").read_text("utf-8")))
        assert doc and "out" in doc.lower() and "stays out" in doc.lower(), stage


def test_only_the_orchestration_wing_imports_dagster():
    importers = {
        name
        for name in MODULES
        if any(m == "dagster" or m.startswith("dagster.") for m in imports_of(name))
    }
    assert importers
    assert {n for n in importers if not n.startswith("crpv_pipeline.orchestration")} == set()


def test_the_lower_stages_never_import_the_orchestration_wing():
    wrong = {
        f"{name} imports {module}"
        for name in MODULES
        if _stage(name) in LOWER_STAGES
        for module in imports_of(name)
        if module.startswith("crpv_pipeline.orchestration")
    }
    assert wrong == set()


def test_reference_imports_no_other_stage():
    wrong = {
        f"{name} imports {module}"
        for name in MODULES
        if _stage(name) == "reference"
        for module in imports_of(name)
        if module.startswith("crpv_pipeline.") and _stage(module) in STAGES[1:]
    }
    assert wrong == set()


def test_no_module_imports_back_one_that_imports_it():
    assert cycles(internal_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_of_the_stages_grows_far_beyond_400_lines():
    lengths = {n: len(p.read_text("utf-8").splitlines()) for n, p in MODULES.items()}
    assert {n: count for n, count in lengths.items() if count > 480} == {}


ENVIRONMENT_READERS = {
    "crpv_pipeline.settings": "every CRPV_* variable",
    "crpv_pipeline.orchestration.runs": "DAGSTER_HOME, Dagster's own variable",
}


def test_only_settings_reads_the_environment():
    readers = {
        name
        for name, path in MODULES.items()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
        and node.attr in ("environ", "getenv", "environb", "putenv", "unsetenv")
    }
    assert readers == set(ENVIRONMENT_READERS)


def test_no_module_is_much_over_400_lines():
    """A module that grows past about 400 lines does more than one job: split it by job."""
    long = {
        name: n
        for name, path in MODULES.items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 410
    }
    assert long == {}
