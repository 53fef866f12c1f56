"""The house stays easy to walk: the import-linter contracts (.importlinter) hold, and no two modules of
chalicelib import each other, directly or round a loop."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_import_contracts_hold():
    done = subprocess.run([str(Path(sys.executable).with_name("lint-imports"))], cwd=ROOT, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]


def test_no_import_cycles():
    import grimp

    graph = grimp.build_graph("chalicelib", cache_dir=None)
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    cycles = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph.find_modules_directly_imported_by(module)):
            if state.get(target) == 1:
                cycles.append(path[path.index(target):] + [target] if target in path else [module, target])
            elif target not in state:
                visit(target, path + [target])
        state[module] = 2

    for module in sorted(graph.modules):
        if module not in state:
            visit(module, [module])
    assert not cycles, cycles[:5]


def test_no_module_of_chalicelib_hides_an_import_inside_a_function():
    """A cycle broken by importing inside a function still is a cycle: every chalicelib import is at the
    top of its module, where the two checks above see it."""
    import ast

    hidden = []
    for path in sorted((ROOT / "chalicelib").rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        top = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("chalicelib") and id(node) not in top:
                hidden.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.module}")
            if isinstance(node, ast.Import) and id(node) not in top:
                hidden += [f"{path.relative_to(ROOT)}:{node.lineno} {a.name}" for a in node.names if a.name.startswith("chalicelib")]
    assert not hidden, hidden


def test_services_are_folders_of_a_few_hundred_lines_each():
    services = ROOT / "chalicelib" / "services"
    assert not [p.name for p in services.glob("*.py") if p.name != "__init__.py"], "services/ holds folders only"
    long = {str(p.relative_to(ROOT)): n for p in services.rglob("*.py") if (n := len(p.read_text().splitlines())) > 400}
    assert not long, long
