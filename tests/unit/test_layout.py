"""The package's layering (README "Layout"): which code may import which, and no import cycles.

Each module's imports are read from its source (top-level and function-level alike), so a lazy
import inside a function cannot hide a cycle or an upward dependency.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "ionstack"

#: the server's shared ground: top-level modules that every server-side part may use
GROUND = {"errors", "ids", "logs", "settings", "catalog", "times"}
#: what each part may import of ionstack, besides itself
ALLOWED: dict[str, set[str]] = {
    # the user's HTTP client: only the exception root and settings, so `ionstack submit` starts
    # fast (and the test below checks what loading it brings in)
    "client": {"errors", "settings"},
    "quantum": {"errors"},
    "store": GROUND,
    "service": GROUND | {"quantum", "store"},
    "runtime": GROUND | {"metrics", "quantum", "store", "service"},
    "api": GROUND | {"metrics", "service", "store"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _nodes(tree: ast.AST, *, typing_only: bool) -> list[ast.AST]:
    """Every node, leaving out ``if TYPE_CHECKING:`` blocks unless ``typing_only``."""
    out: list[ast.AST] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        out.append(node)
        if (
            not typing_only
            and isinstance(node, ast.If)
            and isinstance(node.test, ast.Name)
            and node.test.id == "TYPE_CHECKING"
        ):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))
    return out


def _imports(path: Path, *, typing_only: bool = True) -> set[str]:
    """The ionstack modules that a source file imports, anywhere in it (``typing_only=False``:
    leaving out the imports made for type checkers only, which never run)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    name = _module_name(path)
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in _nodes(tree, typing_only=typing_only):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("ionstack"))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            if not module.startswith("ionstack"):
                continue
            found.add(module)
            # `from ionstack.service import billing` imports the module ionstack.service.billing
            for alias in node.names:
                candidate = f"{module}.{alias.name}"
                if _exists(candidate):
                    found.add(candidate)
    return found


def _exists(module: str) -> bool:
    rel = Path(*module.split(".")[1:])
    return (PACKAGE / rel).with_suffix(".py").is_file() or (PACKAGE / rel / "__init__.py").is_file()


def _graph(*, typing_only: bool = True) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        imported = _imports(path, typing_only=typing_only)
        graph[_module_name(path)] = {m for m in imported if _exists(m)}
    return graph


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_part_imports_only_downward() -> None:
    wrong = []
    for module, imported in _graph().items():
        allowed = ALLOWED.get(_part(module))
        if allowed is None:
            continue
        for target in imported:
            part = _part(target)
            if part and part != _part(module) and part not in allowed:
                wrong.append(f"{module} imports {target}")
    assert wrong == []


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_between_modules() -> None:
    """Imports that run (type-checking-only imports cannot make a cycle at run time)."""
    graph = {m: {t for t in ts if t != m} for m, ts in _graph(typing_only=False).items()}
    # a package's __init__ may name its own modules; importing the package is not a cycle
    for m in graph:
        graph[m] = {t for t in graph[m] if not m.startswith(t + ".")}
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_planted_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize(
    "statement",
    [
        "import ionstack.cli",  # `ionstack submit …` imports this first
        "import ionstack.client.cli, ionstack.client.remote, ionstack.client.display",
    ],
)
def test_the_user_commands_load_nothing_of_the_server(statement: str) -> None:
    heavy = ["sqlalchemy", "fastapi", "starlette", "numpy", "cirq", "stim", "uvicorn"]
    ours = [
        "ionstack.api",
        "ionstack.service",
        "ionstack.store",
        "ionstack.quantum",
        "ionstack.runtime",
    ]
    probe = (
        f"import sys; {statement}; "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {heavy!r} "
        f"or any(m == p or m.startswith(p + '.') for p in {ours!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
