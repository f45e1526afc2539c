"""The shape of the tree, checked: layers, import cycles, private names across packages, module size.

The AST of every module of the four packages is read (imports inside functions and under
``TYPE_CHECKING`` count). Known debts are listed in ``architecture_baseline.json`` next to this file;
the test fails on any NEW violation, and also when a listed debt is gone (so the list only shrinks:
delete the line). ``python tests/test_architecture.py`` prints the current state.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("lakehouse", "catalog", "engine", "tpcds")
LAYER = {"lakehouse": 0, "catalog": 1, "engine": 2, "tpcds": 3}
MAX_LINES = 500
BASELINE = Path(__file__).with_name("architecture_baseline.json")
# The one documented upward import: `lakehouse.connect` forwards to `engine.connect`.
ALLOWED_UPWARD = {("lakehouse", "engine")}


def _modules() -> dict[str, Path]:
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            rel = path.relative_to(ROOT).with_suffix("")
            parts = list(rel.parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _resolve(module: str, node: ast.ImportFrom, is_pkg: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_pkg else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str, path: Path) -> list[tuple[str, list[str]]]:
    """(imported module, names taken from it) for every import statement in the module."""
    tree = ast.parse(path.read_text())
    is_pkg = path.name == "__init__.py"
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((a.name, []) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node, is_pkg)
            names = [a.name for a in node.names]
            # `from pkg import submodule` imports the submodule (and runs pkg/__init__, which is not
            # counted as a dependency: the package's own modules may import their siblings this way)
            subs = [n for n in names if f"{target}.{n}" in MODULES]
            out.extend((f"{target}.{n}", []) for n in subs)
            if len(subs) < len(names):
                out.append((target, [n for n in names if n not in subs]))
    return out


def _package(module: str) -> str:
    return module.split(".")[0]


def _subpackage(module: str) -> str:
    """The package a module belongs to (its directory), used for the private-name rule."""
    path = MODULES[module]
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _owner(target: str) -> str | None:
    while target and target not in MODULES:
        target = target.rpartition(".")[0]
    return target or None


def _violations() -> dict[str, list[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    upward, private = [], []
    for module, path in MODULES.items():
        for target, names in _imports(module, path):
            owner = _owner(target)
            if owner is None:
                continue
            src, dst = _package(module), _package(owner)
            if owner != module and (src, dst) not in ALLOWED_UPWARD:
                graph[module].add(owner)
            if LAYER[dst] > LAYER[src] and (src, dst) not in ALLOWED_UPWARD:
                upward.append(f"{module} -> {owner}")
            outside = not (module + ".").startswith(_subpackage(owner) + ".") and module != owner
            if outside:
                hidden = [p for p in owner.split(".") if p.startswith("_") and not p.startswith("__")]
                hidden += [n for n in names if n.startswith("_") and not n.startswith("__")]
                if hidden and _package(module) != _package(owner):
                    private.append(f"{module} -> {owner}:{','.join(hidden)}")
    private += _private_attributes()
    big = [
        f"{m} ({n} lines)" for m, p in MODULES.items() if (n := len(p.read_text().splitlines())) > MAX_LINES
    ]
    return {
        "upward_imports": sorted(set(upward)),
        "private_across_packages": sorted(set(private)),
        "modules_in_import_cycles": _cycles(graph),
        "modules_over_500_lines": sorted(big),
    }


def _private_attributes() -> list[str]:
    """``obj._name`` where no module of the accessing module's package defines ``_name``."""
    defined: dict[str, set[str]] = {}
    uses: list[tuple[str, str]] = []
    for module, path in MODULES.items():
        names = defined.setdefault(_subpackage(module), set())
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.Attribute) and _is_private(node.attr):
                if isinstance(node.ctx, ast.Store):
                    names.add(node.attr)
                elif not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                    uses.append((module, node.attr))
    # privates of third-party objects (fsspec's filesystem API, which our file cache extends) are not ours
    import fsspec

    ours = set().union(*defined.values()) - set(dir(fsspec.AbstractFileSystem))
    return [f"{m} uses .{a}" for m, a in uses if a in ours and a not in defined[_subpackage(m)]]


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _cycles(graph: dict[str, set[str]]) -> list[str]:
    """Modules in a strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[str] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.extend(comp)

    import sys

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in graph:
        if v not in index:
            visit(v)
    return sorted(out)


def test_no_new_architecture_violations():
    found = _violations()
    known = json.loads(BASELINE.read_text())
    problems = []
    for kind, items in found.items():
        allowed = set(known.get(kind, []))
        new = [i for i in items if i not in allowed]
        gone = sorted(allowed - set(items))
        problems += [f"new {kind}: {i}" for i in new]
        problems += [f"fixed {kind} (delete it from {BASELINE.name}): {i}" for i in gone]
    assert not problems, "\n".join(problems)


def test_layers_never_import_upward():
    assert _violations()["upward_imports"] == []


if __name__ == "__main__":  # print the current state; --write records it as the baseline (review the diff)
    import sys

    text = json.dumps(_violations(), indent=1) + "\n"
    if "--write" in sys.argv:
        BASELINE.write_text(text)
    print(text, end="")
