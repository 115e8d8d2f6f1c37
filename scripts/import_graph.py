#!/usr/bin/env python3
"""The import graph between consult's apps, imports inside functions included, and its cycles.

    python scripts/import_graph.py          # edges, then cycles; exit 1 when there is a cycle

Reads the source with `ast`, so nothing is imported or configured. Migrations are left out:
they name other apps' migrations, not their code. Edge modules (the admin, Celery tasks,
management commands, views, URLs, template tags) may import any layer; their imports are
listed apart and left out of the cycles. The layers themselves are enforced by import-linter
(pyproject.toml), which `make test` runs.
"""

import ast
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "consult"
EDGE_MODULES = {"admin", "tasks", "management", "views", "urls", "api", "templatetags"}


def app_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "consult" or len(parts) < 2:
        return None
    candidate = PACKAGE / parts[1]
    return parts[1] if candidate.is_dir() else None


def module_name(path: Path) -> str:
    relative = path.relative_to(ROOT).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path):
    """(imported module, inside a function?) for every import statement of the file."""
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    package = module_name(path).rsplit(".", 0 if path.name == "__init__.py" else 1)[0]
    found = []

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                found.extend((alias.name, in_function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")
                    base = base[: len(base) - (child.level - 1)]
                    target = ".".join(base + ([child.module] if child.module else []))
                else:
                    target = child.module or ""
                found.append((target, in_function))
            visit(child, nested)

    visit(tree, False)
    return found


def is_edge(path: Path) -> bool:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return any(part in EDGE_MODULES for part in parts[1:])


def graph(*, edge: bool):
    edges = defaultdict(lambda: defaultdict(set))  # app -> app -> {(file, in_function)}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts or is_edge(path) != edge:
            continue
        source_app = app_of(module_name(path))
        if source_app is None:
            continue
        for target, in_function in imports(path):
            target_app = app_of(target)
            if target_app and target_app != source_app:
                edges[source_app][target_app].add((str(path.relative_to(ROOT)), in_function))
    return edges


def cycles(edges) -> list[list[str]]:
    found = []
    apps = sorted(set(edges) | {t for targets in edges.values() for t in targets})

    def walk(start, node, path):
        for target in sorted(edges.get(node, {})):
            if target == start:
                found.append([*path, start])
            elif target not in path and target > start:
                walk(start, target, [*path, target])

    for app in apps:
        walk(app, app, [app])
    return found


def print_edges(edges, prefix=""):
    for source in sorted(edges):
        for target in sorted(edges[source]):
            where = sorted(edges[source][target])
            inner = [file for file, in_function in where if in_function]
            note = f"  (inside functions: {', '.join(sorted(set(inner)))})" if inner else ""
            print(f"{prefix}{source} -> {target}{note}")


def main() -> int:
    edges = graph(edge=False)
    print_edges(edges)
    print_edges(graph(edge=True), prefix="edge modules: ")
    found = cycles(edges)
    for cycle in found:
        print("cycle: " + " -> ".join(cycle))
    print(f"{len(found)} cycle(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
