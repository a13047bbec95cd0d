"""The shape of the house, checked on every run (read from the source, nothing imported).

- Imports point one way: `bot/` -> `handlers/` -> `storage/` -> `knowledge/`; `knowledge/`
  imports nothing of ours, `storage/` only `knowledge/`, `handlers/` never `bot/`.
- The SQLAlchemy rows (`storage.models`) stay inside `storage/`: the layers above get the
  repositories' records (`storage.records`).
- No import cycle between our modules (imports under `if TYPE_CHECKING:` do not count).
- No import inside a function unless its line (or the line above) says why in a comment.
- No function over 80 lines, unless a comment in its first lines says why (`# long: ...`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("knowledge", "storage", "handlers", "bot")
MAY_IMPORT = {
    "knowledge": {"knowledge"},
    "storage": {"storage", "knowledge"},
    "handlers": {"handlers", "storage", "knowledge"},
    "bot": {"bot", "handlers", "storage", "knowledge"},
}
MAX_FUNCTION_LINES = 80
SKIPPED_PARTS = {"migrations", "__pycache__"}


@dataclass(frozen=True)
class ImportEdge:
    module: str
    target: str
    line: int
    in_function: bool
    type_checking: bool


def _modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if SKIPPED_PARTS & set(path.relative_to(ROOT).parts):
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            yield ".".join(parts), path


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _edges(module: str, path: Path) -> Iterator[ImportEdge]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"

    def visit(node: ast.AST, in_function: bool, type_checking: bool) -> Iterator[ImportEdge]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                for alias in child.names:
                    yield ImportEdge(module, alias.name, child.lineno, in_function, type_checking)
            elif isinstance(child, ast.ImportFrom):
                target = _resolve(module, is_package, child)
                yield ImportEdge(module, target, child.lineno, in_function, type_checking)
                # `from handlers import petitions` imports the submodule
                for alias in child.names:
                    sub = f"{target}.{alias.name}"
                    if sub in ALL_MODULES:
                        yield ImportEdge(module, sub, child.lineno, in_function, type_checking)
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                yield from visit(child, in_function, True)
            else:
                nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
                yield from visit(child, nested, type_checking)

    yield from visit(tree, False, False)


ALL_MODULES = {name for name, _ in _modules()}
EDGES = [edge for name, path in _modules() for edge in _edges(name, path)]


def _ours(target: str) -> bool:
    return target.split(".")[0] in PACKAGES


def test_the_scan_sees_the_project() -> None:
    assert len(ALL_MODULES) > 60
    assert any(e.module.startswith("bot") and e.target.startswith("handlers") for e in EDGES)


def test_imports_point_one_way() -> None:
    wrong = [
        f"{e.module}:{e.line} imports {e.target}"
        for e in EDGES
        if _ours(e.target) and e.target.split(".")[0] not in MAY_IMPORT[e.module.split(".")[0]]
    ]
    assert not wrong, "imports against the layering:\n" + "\n".join(wrong)


def test_rows_stay_in_storage() -> None:
    leaking = [
        f"{e.module}:{e.line} imports {e.target}"
        for e in EDGES
        if e.target == "storage.models" and not e.module.startswith("storage")
    ]
    assert not leaking, "use the repositories' records instead:\n" + "\n".join(leaking)


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: the groups of modules that import each other in a circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_no_import_cycles() -> None:
    graph: dict[str, set[str]] = {}
    for e in EDGES:
        if e.type_checking or e.in_function or e.target not in ALL_MODULES:
            continue
        # a package's __init__ importing its own modules is how a package is assembled
        if e.target.startswith(e.module + "."):
            continue
        graph.setdefault(e.module, set()).add(e.target)
    assert not _strongly_connected(graph)


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [
        ["a", "b", "c"]
    ]


def _comment_near(lines: list[str], line: int) -> bool:
    here = lines[line - 1]
    above = lines[line - 2].strip() if line >= 2 else ""
    return "#" in here or above.startswith("#")


def test_no_unexplained_imports_inside_functions() -> None:
    sources = {name: path.read_text(encoding="utf-8").splitlines() for name, path in _modules()}
    unexplained = [
        f"{e.module}:{e.line} imports {e.target}"
        for e in EDGES
        if e.in_function and not _comment_near(sources[e.module], e.line)
    ]
    assert not unexplained, "imports inside functions without a reason:\n" + "\n".join(unexplained)


def _long_functions() -> Iterator[str]:
    for name, path in _modules():
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            head = "\n".join(lines[node.lineno - 1 : node.lineno + 6])
            if length > MAX_FUNCTION_LINES and "# long:" not in head:
                yield f"{name}.{node.name} ({path.name}:{node.lineno}) has {length} lines"


def test_functions_stay_short() -> None:
    long = list(_long_functions())
    assert not long, "functions over 80 lines without a '# long:' reason:\n" + "\n".join(long)


@pytest.mark.parametrize("package", PACKAGES)
def test_every_module_says_what_it_is_for(package: str) -> None:
    undocumented = [
        name
        for name, path in _modules()
        if name.split(".")[0] == package
        and path.stat().st_size > 0
        and ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) is None
    ]
    assert not undocumented, f"modules without a docstring: {undocumented}"
