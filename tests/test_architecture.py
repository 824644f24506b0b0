"""The shape of portal/, read from the source with `ast` (nothing is imported, so it runs anywhere CI does):
portal/core depends on no area, the modules import each other without a cycle, and an import hidden inside a
function says why it is there.

The graph has one node per module of portal/ and an edge for every `import` / `from … import` of another
portal module — at module level and inside functions alike, relative imports resolved. `from a import b` is an
edge to the module a.b when there is one, else to a. Importing a.b also runs a/__init__.py, but that implicit
edge is left out: every module would otherwise "import" portal/__init__.py, the app factory that imports
everything, and the graph would say nothing.
"""
from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass
from functools import cache
from pathlib import Path


PORTAL = Path(__file__).resolve().parent.parent / "portal"

# What portal/core may import besides itself: the extension objects and the configuration, which know no area.
# portal.models is not among them: it imports every area's models (it is the schema's aggregator), so a core
# module importing it would depend on all the areas at once.
CORE_MAY_IMPORT = ("portal.core", "portal.extensions", "portal.config")

# The composition roots, whose function-level imports are their purpose: the app factory wires every area
# together, and a CLI command loads what it runs only when it runs (so `flask --help` and the web process do
# not pay for it). Their function-level imports are neither cycles nor hidden dependencies; their module-level
# imports count like any other.
APP_FACTORY = ("portal", "create_app")
CLI_MODULES = {"portal.cli"}  # the `flask` commands' registration
CLI_DECORATORS = {"command", "group"}  # @app.cli.command(...), @click.command(), @cli.group(...)

@dataclass(frozen=True)
class Import:
    source: str  # importing module
    target: str  # imported portal module
    line: int
    in_function: bool
    composition: bool  # inside the app factory or a CLI command (see above)
    commented: bool  # a comment on the import's own line(s) or on the line before its group


def module_name(path: Path) -> str:
    parts = path.relative_to(PORTAL.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PORTAL.rglob("*.py"))}


def areas() -> set[str]:
    """The subpackages of portal other than core: auth, tickets, metrics…"""
    return {f"portal.{p.name}" for p in PORTAL.iterdir()
            if p.is_dir() and (p / "__init__.py").exists() and p.name != "core"}


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _targets(module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> list[str]:
    known = modules()
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        base = _resolve(module, is_package, node)
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
    out = []
    for name in names:
        while name and name not in known:  # `import portal.a.b.Thing`-style names: the longest module prefix
            name = name.rpartition(".")[0]
        if name.startswith("portal") and name not in out:
            out.append(name)
    return out


def _comment_lines(source: str) -> set[int]:
    return {tok.start[0] for tok in tokenize.generate_tokens(io.StringIO(source).readline)
            if tok.type == tokenize.COMMENT}


def _is_cli_command(fn: ast.AST) -> bool:
    for d in getattr(fn, "decorator_list", []):
        call = d.func if isinstance(d, ast.Call) else d
        if isinstance(call, ast.Attribute) and call.attr in CLI_DECORATORS:
            return True
    return False


@cache
def imports() -> tuple[Import, ...]:
    out: list[Import] = []
    for module, path in modules().items():
        source = path.read_text(encoding="utf-8")
        comments = _comment_lines(source)
        is_package = path.name == "__init__.py"

        def visit(body: list[ast.stmt], functions: tuple[ast.AST, ...]) -> None:
            group_start = None  # first line of the run of consecutive import statements this one belongs to
            for stmt in body:
                if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                    group_start = group_start or stmt.lineno
                    names = {getattr(f, "name", "") for f in functions}
                    composition = bool(functions) and (
                        module in CLI_MODULES
                        or (module == APP_FACTORY[0] and APP_FACTORY[1] in names)
                        or any(_is_cli_command(f) for f in functions))
                    commented = bool(comments & ({group_start - 1} | set(range(group_start, stmt.end_lineno + 1))))
                    for target in _targets(module, is_package, stmt):
                        if target != module:
                            out.append(Import(module, target, stmt.lineno, bool(functions), composition, commented))
                    continue
                group_start = None
                if isinstance(stmt, ast.If) and _is_type_checking(stmt.test):
                    continue  # never runs: no dependency at run time
                inner = functions + (stmt,) if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) else functions
                for field in ("body", "orelse", "finalbody", "handlers"):
                    block = getattr(stmt, field, None)
                    if isinstance(block, list) and block:
                        if field == "handlers":
                            for h in block:
                                visit(h.body, inner)
                        else:
                            visit(block, inner)
                if isinstance(stmt, ast.Match):
                    for case in stmt.cases:
                        visit(case.body, inner)

        visit(ast.parse(source, str(path)).body, ())
    return tuple(out)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _where(i: Import) -> str:
    return f"{modules()[i.source].relative_to(PORTAL.parent)}:{i.line}"


def _in(name: str, packages) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def upward_imports() -> list[Import]:
    return [i for i in imports() if _in(i.source, ["portal.core"]) and not _in(i.target, CORE_MAY_IMPORT)]


def cycles() -> list[list[str]]:
    """One cycle (as a path a → … → a) for every strongly connected group of modules (Tarjan)."""
    graph: dict[str, set[str]] = {m: set() for m in modules()}
    for i in imports():
        if not i.composition:
            graph[i.source].add(i.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def strongconnect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strongconnect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            strongconnect(v)
    return [_cycle_in(graph, g) for g in groups]


def _cycle_in(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """A shortest path from the group's first module back to itself, inside the group (breadth first)."""
    start = min(group)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(graph[v] & group):
                if w == start:
                    path = [v]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), start]
                if w not in came_from:
                    came_from[w] = v
                    nxt.append(w)
        frontier = nxt
    return [start]


def uncommented_function_imports() -> list[Import]:
    seen, out = set(), []
    for i in imports():
        if i.in_function and not i.composition and not i.commented and (i.source, i.line) not in seen:
            seen.add((i.source, i.line))
            out.append(i)
    return out


def test_the_graph_sees_what_the_source_says():
    # The reader itself: relative imports, `from package import submodule`, function-level imports.
    found = {(i.source, i.target, i.in_function, i.composition) for i in imports()}
    assert ("portal.core.templating", "portal.core.htmx", False, False) in found
    assert ("portal", "portal.tickets.routes", True, True) in found  # create_app
    assert ("portal.cli", "portal.search", True, True) in found  # `from portal import search`
    assert {"portal.core", "portal.tickets", "portal.metrics"} <= areas() | {"portal.core"}
    assert "portal.core" not in areas()


def test_core_imports_no_area():
    bad = upward_imports()
    assert not bad, f"{len(bad)} import(s) from portal/core into an area:\n" + "\n".join(
        f"  {_where(i)}  {i.source} → {i.target}{' (in a function)' if i.in_function else ''}" for i in bad)


def test_no_import_cycles():
    found = cycles()
    assert not found, f"{len(found)} import cycle(s):\n" + "\n".join("  " + " → ".join(c) for c in found)


def test_function_level_imports_are_commented():
    bad = uncommented_function_imports()
    assert not bad, (f"{len(bad)} import(s) inside a function (outside the app factory and CLI) without a comment "
                     "saying why, on the same or the previous line:\n"
                     + "\n".join(f"  {_where(i)}  {i.target}" for i in bad))
