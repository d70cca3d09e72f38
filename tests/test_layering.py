"""The layering rules of DESIGN.md, read from the source: config/ is a leaf (it imports nothing of lmforge but
lmforge.errors and its own modules), and train/ and infer/ never import each other (what both need lives
below them). Every import statement counts, also those inside functions."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "lmforge"


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def lmforge_imports(path: Path) -> list[tuple[int, str]]:
    """(line, imported module) for every import of lmforge in the file; `from lmforge import x` counts as
    lmforge.x, relative imports are resolved against the file's package."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found += [(node.lineno, f"{base}.{a.name}" if base == "lmforge" else base) for a in node.names]
    return [(line, name) for line, name in found if name == "lmforge" or name.startswith("lmforge.")]


def subpackage(name: str) -> str:
    return name.split(".")[1] if name.count(".") else ""


def violations(rule) -> list[str]:
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        here = module_name(path)
        for line, name in lmforge_imports(path):
            if not rule(subpackage(here), subpackage(name)):
                bad.append(f"{path.relative_to(SRC)}:{line} imports {name}")
    return bad


def test_the_import_parser_sees_every_form(tmp_path):
    # the rules below are only as good as this reader: each import form must come back as a module name
    pkg = tmp_path / "lmforge" / "train"
    pkg.mkdir(parents=True)
    f = pkg / "x.py"
    f.write_text("import lmforge.infer.api\nfrom lmforge.infer import engine\nfrom lmforge import infer\n"
                 "from ..infer.base import y\nfrom . import losses\n"
                 "def late():\n    from lmforge.infer.engine import left_pad\n")
    global SRC
    saved, SRC = SRC, tmp_path
    try:
        names = [n for _, n in lmforge_imports(f)]
    finally:
        SRC = saved
    assert names == ["lmforge.infer.api", "lmforge.infer", "lmforge.infer", "lmforge.infer.base",
                     "lmforge.train", "lmforge.infer.engine"]


@pytest.mark.parametrize("lower,upper", [("train", "infer"), ("infer", "train")])
def test_train_and_infer_never_import_each_other(lower, upper):
    assert violations(lambda here, there: not (here == lower and there == upper)) == []


def test_config_imports_only_errors_and_itself():
    assert violations(lambda here, there: here != "config" or there in ("config", "errors")) == []
