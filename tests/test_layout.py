"""The package's three wings (CONTRIBUTING.md): the reference implementation
imports neither the labs nor the grader, and those two never import each other."""

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "backprop"


def wing(path: Path) -> str:
    rel = path.relative_to(PKG).parts
    return rel[0] if rel[0] in ("labs", "grade") else "reference"


def imported_modules(source: str):
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{a.name}" for a in node.names)


FORBIDDEN = {"reference": ("backprop.labs", "backprop.grade"),
             "labs": ("backprop.grade",),
             "grade": ("backprop.labs",)}
MODULES = sorted(PKG.rglob("*.py"))


def test_every_wing_has_modules():
    assert {wing(p) for p in MODULES} == {"reference", "labs", "grade"}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG)))
def test_module_imports_respect_its_wing(path):
    banned = FORBIDDEN[wing(path)]
    bad = violations(path.read_text(encoding="utf-8"), banned)
    assert not bad, f"{path.relative_to(PKG)} ({wing(path)} wing) imports {bad}"


def violations(source, banned):
    return sorted({m for m in imported_modules(source)
                   if any(m == b or m.startswith(b + ".") for b in banned)})


def test_the_rule_catches_each_kind_of_import():
    banned = FORBIDDEN["reference"]
    assert violations("from backprop.labs import xor\n", banned)
    assert violations("import backprop.grade.cli\n", banned)
    assert violations("from backprop import grade\n", banned) == ["backprop.grade"]
    assert not violations("from backprop import layers\nfrom . import init\n", banned)
