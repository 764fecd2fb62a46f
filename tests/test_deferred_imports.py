"""An import of a `detlab` module inside a function must defer weight: the module it names pulls in
(through its own top-level imports) a third-party package that the importing module does not.
Everything else is imported at the top of the module, where readers and the type checker see it
(docs/design.md, "Imports"). Reads the source only."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "platform"
# third-party packages that cost start-up time (seconds for the first five)
HEAVY = {"torch", "mmcv", "mmdet", "mmrotate", "ray", "mlflow", "optuna", "matplotlib", "cv2", "pandas", "scipy",
         "pydantic", "yaml", "tqdm", "PIL", "sqlalchemy", "optuna_dashboard", "playwright", "refined_det"}


def module_files(root: Path) -> dict[str, Path]:
    files = {}
    for path in root.rglob("*.py"):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        files[".".join(parts)] = path
    return files


def imports(tree: ast.AST) -> tuple[list[ast.stmt], list[ast.stmt]]:
    """(top-level, inside a function) import statements; `if TYPE_CHECKING:` blocks left out."""
    top: list[ast.stmt] = []
    inner: list[ast.stmt] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                (inner if in_function else top).append(child)
            elif isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            else:
                visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)))

    visit(tree, False)
    return top, inner


def targets(module: str, node: ast.stmt, files: dict[str, Path]) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    assert isinstance(node, ast.ImportFrom)
    base = node.module or ""
    if node.level:
        package = module.split(".") if files[module].name == "__init__.py" else module.split(".")[:-1]
        base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
    return [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]


class Weights:
    """The heavy third-party packages each module pulls in at import time (its own top-level imports,
    those of the modules they name and of their parent packages)."""

    def __init__(self, root: Path):
        self.root = root
        self.files = module_files(root)
        self.edges: dict[str, set[str]] = {}
        self.direct: dict[str, set[str]] = {}
        self.inner: dict[str, list[ast.stmt]] = {}
        for module, path in self.files.items():
            top, self.inner[module] = imports(ast.parse(path.read_text(), filename=str(path)))
            named = [t for node in top for t in targets(module, node, self.files)]
            parents = {".".join(module.split(".")[:i]) for i in range(1, module.count(".") + 1)}
            self.edges[module] = {t for t in named if t in self.files} | (parents & set(self.files))
            self.direct[module] = {t.split(".")[0] for t in named} & HEAVY

    def heavy(self, module: str) -> set[str]:
        seen, stack, found = set(), [module], set()
        while stack:
            m = stack.pop()
            if m not in seen:
                seen.add(m)
                found |= self.direct[m]
                stack += self.edges[m]
        return found

    def needless_deferrals(self) -> list[str]:
        out = []
        for module, nodes in sorted(self.inner.items()):
            for node in nodes:
                named = [t for t in targets(module, node, self.files) if t in self.files and t != module]
                if named and all(self.heavy(t) <= self.heavy(module) for t in named):
                    if not any(module in self.reach(t) for t in named):  # at the top it would be a cycle
                        out.append(f"{self.files[module].relative_to(self.root)}:{node.lineno} {', '.join(named)}")
        return out

    def reach(self, module: str) -> set[str]:
        seen, stack = set(), [module]
        while stack:
            m = stack.pop()
            if m not in seen:
                seen.add(m)
                stack += self.edges[m] - {p for p in self.edges[m] if m.startswith(p + ".")}
        return seen


def test_imports_inside_functions_only_defer_weight():
    needless = Weights(ROOT).needless_deferrals()
    assert not needless, "import these at the top of the module (they add no third-party weight):\n" + "\n".join(
        needless)


@pytest.mark.parametrize("inner, expected", [
    ("from pkg.light import f", ["pkg/user.py:3 pkg.light"]),  # nothing heavier: belongs at the top
    ("from pkg.heavy import g", []),                             # pulls in torch: deferring it is the point
])
def test_the_scan_tells_weight_from_habit(tmp_path, inner, expected):
    """Guards the guard on a three-module package."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "light.py").write_text("import json\n\ndef f():\n    return json\n")
    (pkg / "heavy.py").write_text("import torch\n\ndef g():\n    return torch\n")
    (pkg / "user.py").write_text(f"def run():\n    '''x'''\n    {inner}\n")
    assert Weights(tmp_path).needless_deferrals() == expected
