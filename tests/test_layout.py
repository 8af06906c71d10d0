"""The package's shape: no import cycle among darncodec's modules (module-level imports)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"darncodec": ROOT / "darncodec", "darncodec.cli": ROOT / "cli", "darncodec.corpora": ROOT / "corpora"}


def _modules() -> dict[str, Path]:
    found = {}
    for package, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[0] in ("cli", "corpora") and package == "darncodec":
                continue
            name = ".".join((package, *parts))
            found[name.removesuffix(".__init__")] = path
    return found


def _imports(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """darncodec modules imported at module level, TYPE_CHECKING blocks included (not inside functions)."""
    out = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    body = ast.parse(path.read_text()).body
    for node in body + [inner for block in body if isinstance(block, ast.If) for inner in block.body]:
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        out |= {target for target in targets if target in modules and target != name}
    return out


def test_no_import_cycle():
    modules = _modules()
    graph = {name: _imports(path, name, modules) for name, path in modules.items()}
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join(trail[trail.index(nxt):] + [nxt]))
            if nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert len(graph) > 20


def test_coding_path_by_stage():
    """darncodec/coding/ shows the data path: the ANS coder, the integer network, the mixing."""
    coding = ROOT / "darncodec" / "coding"
    for stage in ("ans", "network", "mixing"):
        assert (coding / stage / "__init__.py").exists(), stage


def test_every_package_is_installed():
    """pyproject.toml lists every package folder (a folder left out works in the checkout but is
    missing from `pip install .`)."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {".".join(("darncodec", *init.parent.relative_to(ROOT / "darncodec").parts)).rstrip(".")
               for init in (ROOT / "darncodec").rglob("__init__.py")}
    assert folders | {"darncodec.cli", "darncodec.corpora"} <= listed
