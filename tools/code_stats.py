#!/usr/bin/env python3
"""Print the longest files and functions of a package, any import cycle among its modules, and
any import against the layers of ARCHITECTURE.md.

Why: the project caps files at 450 lines and functions at 80 (issue #11), forbids import
cycles between packages, and states which way imports go (a lower layer never imports a higher
one; the device side never reaches torch); this makes all of it visible in one command (`make
stats`) and `--check` fails on a cycle or a wrong-way import. Pure static analysis (ast), so it
imports nothing from the package and runs without torch.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def functions(tree: ast.AST) -> list[tuple[str, int, int]]:
    """(qualified name, first line, line count) of every function, nested ones included."""
    found = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                found.append((name, child.lineno, child.end_lineno - child.lineno + 1))
                visit(child, name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def imports(tree: ast.AST, module: str, is_package: bool, modules: set[str]) -> set[str]:
    """The modules (of `modules`) this one imports, lazy imports inside functions included.

    `from pkg import sub` counts as importing `pkg.sub` only (a package's __init__ is always
    run first, but importing a sibling through its package is not a cycle through __init__)."""
    out = set()
    base = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            anchor = base[: len(base) - node.level + 1] if node.level else []
            target = ".".join(anchor + ([node.module] if node.module else []))
            subs = {f"{target}.{a.name}" for a in node.names} & modules
            out.update(subs)
            if len(subs) < len(node.names):  # some names are not modules: they come from target
                out.add(target)
    return {m for m in out if m in modules and m != module}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    sys.setrecursionlimit(10000)

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                strong(w)
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

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return found


def package_of(module: str, depth: int) -> str:
    return ".".join(module.split(".")[:depth])


# ARCHITECTURE.md's layers, lowest first (names below the root package): a package imports only
# packages of lower layers, never one of its own layer or above. A package in no layer is a
# violation too, so a new one has to be placed (here and in ARCHITECTURE.md).
LAYERS = (
    ("errors", "atomic", "signals", "result", "default_models", "distributed", "pages", "numerics"),
    ("plan", "heartbeat"),  # the training plan and progress lines: no edgekd imports
    ("config", "loading", "runlock", "checkpoint", "bench"),
    ("manifest", "objects", "evaluate", "models", "second_runtime"),
    ("data", "export"),
    ("distill", "measure", "quantize"),
    ("teachers", "prune", "report"),
    ("stages",),
    ("pipeline",),
    ("search",),
    ("cli_options",),  # the click options generated from config's fields
    ("cli",),
    ("__main__",),
)
# Packages that run where torch is not installed (beside `edgekd bench` on a device, or to
# render reports): neither they nor any module they import, lazily or not, may import torch.
TORCH_FREE = ("bench", "pages", "report", "config", "manifest", "errors", "atomic", "runlock",
              "plan")  # fmt: skip


def wrong_way_imports(graph: dict[str, set[str]], root: str) -> list[str]:
    """Each import from a package to one of its own layer or a higher one, as one line."""
    layer = {name: i for i, names in enumerate(LAYERS) for name in names}
    found = set()
    for module, deps in graph.items():
        src = module.split(".")[1] if "." in module else None
        if src is None:
            continue  # the root's __init__: lazy names only
        if src not in layer:
            found.add(f"{root}.{src} is in no layer of code_stats.LAYERS; place it there")
            continue
        for dep in deps:
            dst = dep.split(".")[1] if "." in dep else None
            if dst is not None and dst != src and layer.get(dst, len(LAYERS)) >= layer[src]:
                found.add(f"{module} imports {dep}: {src} may import only lower layers")
    return sorted(found)


def torch_reached(graph: dict[str, set[str]], direct: dict[str, set[str]], root: str) -> list[str]:
    """Each module of a TORCH_FREE package that reaches torch, with the module importing it."""
    found = []
    for module in sorted(graph):
        if "." not in module or module.split(".")[1] not in TORCH_FREE:
            continue
        seen, todo = {module}, [module]
        while todo:
            current = todo.pop()
            if "torch" in direct.get(current, set()):
                found.append(f"{module} reaches torch (through {current}): {root} must not")
                break
            todo += [d for d in graph.get(current, ()) if d not in seen]
            seen.update(graph.get(current, ()))
    return found


def external(tree: ast.AST) -> set[str]:
    """The top-level names of every absolute import (`torch`, `onnx`, ...)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", nargs="?", default="edgekd", help="package folder (edgekd)")
    parser.add_argument("--top", type=int, default=10, help="how many files/functions to list")
    parser.add_argument("--max-file", type=int, default=450, help="file line limit")
    parser.add_argument("--max-function", type=int, default=80, help="function line limit")
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 on an import cycle between packages or an import against the layers",
    )
    args = parser.parse_args(argv)
    root = Path(args.root).resolve()
    paths = sorted(root.rglob("*.py"))
    modules = {module_name(p, root) for p in paths}
    files, funcs, graph, direct = [], [], {}, {}
    for path in paths:
        text = path.read_text()
        tree = ast.parse(text)
        module = module_name(path, root)
        files.append((len(text.splitlines()), module))
        funcs.extend((n, f"{module}:{name}:{line}") for name, line, n in functions(tree))
        graph[module] = imports(tree, module, path.name == "__init__.py", modules)
        direct[module] = external(tree)

    print(f"longest files (limit {args.max_file}):")
    for n, module in sorted(files, reverse=True)[: args.top]:
        print(f"  {n:5d}  {module}{'  OVER' if n > args.max_file else ''}")
    print(f"longest functions (limit {args.max_function}):")
    for n, where in sorted(funcs, reverse=True)[: args.top]:
        print(f"  {n:5d}  {where}{'  OVER' if n > args.max_function else ''}")
    over_files = sum(n > args.max_file for n, _ in files)
    over_funcs = sum(n > args.max_function for n, _ in funcs)
    print(
        f"files over {args.max_file}: {over_files}; "
        f"functions over {args.max_function}: {over_funcs}"
    )

    module_cycles = cycles(graph)
    # Packages: a cycle between edgekd.report and edgekd.search (not inside one package).
    pkg_graph: dict[str, set[str]] = {}
    for m, deps in graph.items():
        src = package_of(m, 2)
        pkg_graph.setdefault(src, set()).update(
            package_of(d, 2) for d in deps if package_of(d, 2) != src
        )
    package_cycles = cycles(pkg_graph)
    print("import cycles among modules:" + ("" if module_cycles else " none"))
    for c in module_cycles:
        print("  " + " <-> ".join(c))
    print("import cycles among packages:" + ("" if package_cycles else " none"))
    for c in package_cycles:
        print("  " + " <-> ".join(c))
    wrong = wrong_way_imports(graph, root.name) + torch_reached(graph, direct, root.name)
    print("imports against the layers (ARCHITECTURE.md):" + ("" if wrong else " none"))
    for line in wrong:
        print("  " + line)
    return 1 if args.check and (package_cycles or wrong) else 0


if __name__ == "__main__":
    sys.exit(main())
