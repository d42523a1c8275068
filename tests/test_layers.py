"""The package's layers point one way and no module imports itself back (docs/architecture.md).

Each module of `punchbridge` belongs to one layer of `LAYERS` (the most specific prefix wins); a
module may import from its own layer and the layers below it, never from a layer above. Every
import counts, also those inside functions; only imports under `if TYPE_CHECKING:` are left out of
the cycle check (they never run).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FOLDERS = {"core": "punchbridge", "plugins": "punchbridge.plugins", "jobs": "punchbridge.jobs"}
#: The plugin template `punchbridge plugin new` copies: a plugin's files, never imported as punchbridge's modules.
TEMPLATE = REPO / "core" / "scaffold" / "template"

#: Top to bottom. A module's layer is given by the longest prefix (or exact name) that matches it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("package face", ("punchbridge", "punchbridge.__main__")),
    # The conformance kit drives the real command line, which serves the emulators (`emulate`).
    ("test kit", ("punchbridge.testing",)),
    ("command line", ("punchbridge.cli",)),
    ("emulators", ("punchbridge.testing.emulators", "punchbridge.testing.http")),
    ("scheduled jobs", ("punchbridge.jobs",)),
    (
        "engines",
        (
            "punchbridge.sync",
            "punchbridge.reconcile",
            "punchbridge.employees",
            "punchbridge.retention",
            "punchbridge.receiver",
            "punchbridge.scaffold",
        ),
    ),
    (
        "building blocks and plugins",
        ("punchbridge.mapping", "punchbridge.cutoff", "punchbridge.minop", "punchbridge.plugins"),
    ),
    ("plugin API", ("punchbridge.plugin_api",)),
    ("store", ("punchbridge.store",)),
    # The configuration model is made of each feature's settings model, so those sit here too.
    (
        "configuration",
        (
            "punchbridge.config",
            "punchbridge.employees.settings",
            "punchbridge.cutoff.settings",
            "punchbridge.retention.settings",
            "punchbridge.jobs.settings",
            "punchbridge.jobs.cron",
        ),
    ),
    ("rules engine", ("punchbridge.rules",)),
    (
        "shared base",
        (
            "punchbridge.errors",
            "punchbridge.lazy",
            "punchbridge.records",
            "punchbridge.periods",
            "punchbridge._version",
        ),
    ),
]

#: What the root of core/ may hold: the package face and what every layer shares.
ROOT_MODULES = {
    "__init__.py",
    "__main__.py",
    "_version.py",
    "errors.py",
    "lazy.py",
    "records.py",
    "periods.py",
    "py.typed",
}


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int
    type_only: bool


def module_name(path: Path) -> str:
    folder = path.relative_to(REPO).parts[0]
    parts = [FOLDERS[folder], *path.relative_to(REPO / folder).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    found = {}
    for folder in FOLDERS:
        for path in (REPO / folder).rglob("*.py"):
            if "migrations" in path.parts and "versions" in path.parts:
                continue  # frozen migration steps import only SQLAlchemy and Alembic
            if path.is_relative_to(TEMPLATE):
                continue
            found[module_name(path)] = path
    return found


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> Iterator[Import]:
    tree = ast.parse(path.read_text(), str(path))
    type_only = _type_checking_lines(tree)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            submodules = [f"{source}.{alias.name}" for alias in node.names if f"{source}.{alias.name}" in modules]
            # `from package import submodule` needs only the submodule (a parent package is always loaded)
            targets = submodules if len(submodules) == len(node.names) else [source, *submodules]
        for target in targets:
            if target in modules and target != name:
                yield Import(name, target, node.lineno, node.lineno in type_only)


def layer_of(name: str) -> int:
    best, best_length = None, -1
    for index, (_title, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (name == prefix or name.startswith(prefix + ".")) and len(prefix) > best_length:
                best, best_length = index, len(prefix)
    assert best is not None, f"{name} belongs to no layer: add it to LAYERS"
    return best


MODULES = all_modules()
IMPORTS = [found for name, path in MODULES.items() for found in imports_of(name, path, MODULES)]


def test_every_module_belongs_to_a_layer() -> None:
    for name in MODULES:
        layer_of(name)


def test_no_module_imports_a_module_of_a_higher_layer() -> None:
    upward = [
        f"{MODULES[i.importer].relative_to(REPO)}:{i.line}: {i.importer} ({LAYERS[layer_of(i.importer)][0]}) "
        f"imports {i.imported} ({LAYERS[layer_of(i.imported)][0]})"
        for i in IMPORTS
        if layer_of(i.imported) < layer_of(i.importer)
    ]
    assert not upward, "imports against the layers:\n" + "\n".join(upward)


def test_there_is_no_import_cycle() -> None:
    graph: dict[str, set[str]] = {name: set() for name in MODULES}
    for found in IMPORTS:
        if not found.type_only:
            graph[found.importer].add(found.imported)
    cycles = _cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join([*cycle, cycle[0]]) for cycle in cycles)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def test_the_root_of_core_holds_only_the_face_and_what_every_layer_shares() -> None:
    root = {path.name for path in (REPO / "core").iterdir() if path.is_file()}
    assert root <= ROOT_MODULES, (
        f"modules at the root of core/ that belong in a subpackage: {sorted(root - ROOT_MODULES)}"
    )


@pytest.mark.parametrize(
    ("importer", "imported", "allowed"),
    [
        ("punchbridge.store.days", "punchbridge.cli", False),
        ("punchbridge.cli.sync", "punchbridge.store", True),
        ("punchbridge.plugins.odoo", "punchbridge.sync.engine", False),
        ("punchbridge.config.model", "punchbridge.employees.settings", True),
        ("punchbridge.config.model", "punchbridge.employees.engine", False),
    ],
)
def test_the_layer_rule_tells_a_wrong_import_from_a_right_one(importer: str, imported: str, allowed: bool) -> None:
    assert (layer_of(imported) >= layer_of(importer)) is allowed


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
