"""The committed student notebooks are what scripts/make_exercises.py makes from the solutions.

Sources and metadata are compared exactly. Outputs and execution counts are
not compared here (executing twelve notebooks would double the test time);
nbval checks them against a fresh run (`pytest --nbval exercises/`), and the
tests below check what they must say: every question passed in a solution,
"not attempted" in a student notebook.

In a student notebook every check cell is tagged ``remove-output``: the HTML
book shows no stored "NOT ATTEMPTED" block under each check, while nbval still
compares those outputs and a JupyterLab learner sees the live feedback.
"""

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

from backprop.grade.checks import EXERCISES

ROOT = Path(__file__).resolve().parents[1]
IDS = sorted(EXERCISES)
# exNN_name is the exercise of the chapter numbered NN (chapters/NN_*.ipynb).
CHAPTERS = {ex: [p.stem for p in sorted((ROOT / "chapters").glob(f"{ex[2:4]}_*.ipynb"))] for ex in IDS}


def _generator():
    spec = importlib.util.spec_from_file_location("make_exercises", ROOT / "scripts" / "make_exercises.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _read(path):
    return nbformat.read(path, as_version=4)


def _text(cell):
    out = []
    for o in cell.get("outputs", []):
        if o.output_type == "stream":
            out.append(o.text)
        elif o.output_type == "error":
            out.append(f"ERROR {o.ename}: {o.evalue}")
        elif "text/plain" in o.get("data", {}):
            out.append(o.data["text/plain"])
    return "\n".join(out)


def _check_cells(nb):
    pat = re.compile(r'^(q\d+)_result = check\("(\w+)", "(q\d+)", globals\(\)\)$')
    found = []
    for cell in nb.cells:
        m = pat.match(cell.source) if cell.cell_type == "code" else None
        if m:
            assert m.group(1) == m.group(3)
            found.append((m.group(2), m.group(3), cell))
    return found


@pytest.mark.parametrize("ex", IDS)
def test_student_notebook_is_generated_from_solution(ex, tmp_path):
    gen = _generator()
    gen.main(["--no-execute", "--out", str(tmp_path), ex])
    fresh = _read(tmp_path / f"{ex}.ipynb")
    committed = _read(ROOT / "exercises" / f"{ex}.ipynb")
    assert committed.metadata == fresh.metadata
    assert committed.metadata["backprop"] == {"exercise": ex}
    assert len(committed.cells) == len(fresh.cells)
    for i, (c, f) in enumerate(zip(committed.cells, fresh.cells)):
        assert (c.cell_type, c.source) == (f.cell_type, f.source), f"cell {i} differs: run `make exercises`"
        assert c.metadata == f.metadata, f"cell {i} metadata differs: run `make exercises`"
    assert "BEGIN SOLUTION" not in "".join(c.source for c in committed.cells)


@pytest.mark.parametrize("ex", IDS)
def test_solution_markup_and_points(ex):
    nb = _read(ROOT / "exercises" / "solutions" / f"{ex}.ipynb")
    assert nb.metadata["backprop"] == {"exercise": ex}
    checks = _check_cells(nb)
    assert [(e, q) for e, q, _ in checks] == [(ex, q.id) for q in EXERCISES[ex]]
    for (_, qid, cell), q in zip(checks, EXERCISES[ex]):
        meta = cell.metadata["nbgrader"]
        assert meta["grade"] and meta["locked"] and not meta["solution"]
        assert meta["points"] == q.points and meta["grade_id"] == f"{qid}_check"
    solution_cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
    assert len(solution_cells) >= len(EXERCISES[ex])
    for c in solution_cells:
        assert "### BEGIN SOLUTION" in c.source and "### END SOLUTION" in c.source
    ids = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if "nbgrader" in c.metadata]
    assert len(ids) == len(set(ids))
    intro = nb.cells[0].source
    assert len(CHAPTERS[ex]) == 1, f"{ex}: expected one chapter numbered {ex[2:4]}, found {CHAPTERS[ex]}"
    assert f"../chapters/{CHAPTERS[ex][0]}.ipynb" in intro
    total = sum(q.points for q in EXERCISES[ex])
    assert f"{total:g} points" in intro


@pytest.mark.parametrize("ex", IDS)
def test_stored_outputs(ex):
    sol = _read(ROOT / "exercises" / "solutions" / f"{ex}.ipynb")
    stu = _read(ROOT / "exercises" / f"{ex}.ipynb")
    for nb, word in ((sol, "PASSED"), (stu, "NOT ATTEMPTED")):
        assert not any(o.output_type == "error" for c in nb.cells if c.cell_type == "code"
                       for o in c.get("outputs", []))
        assert "widgets" not in nb.metadata
        for e, q, cell in _check_cells(nb):
            text = _text(cell)
            assert f'{q} "' in text and f": {word} (" in text, text
            assert "Traceback" not in text


@pytest.mark.parametrize("ex", IDS)
def test_student_check_outputs_are_hidden_in_the_book(ex, tmp_path):
    """The generator tags each check cell, and only those, ``remove-output``."""
    gen = _generator()
    gen.main(["--no-execute", "--out", str(tmp_path), ex])
    fresh = _read(tmp_path / f"{ex}.ipynb")
    solution = _read(ROOT / "exercises" / "solutions" / f"{ex}.ipynb")
    checks = _check_cells(fresh)
    assert [q for _, q, _ in checks] == [q.id for q in EXERCISES[ex]]
    check_ids = {id(cell) for _, _, cell in checks}
    for _, q, cell in checks:
        assert cell.metadata.get("tags", []).count("remove-output") == 1, f"{ex} {q}: check cell not hidden"
    hidden_in_solution = sum("remove-output" in c.metadata.get("tags", []) for c in solution.cells)
    hidden_others = sum("remove-output" in c.metadata.get("tags", [])
                        for c in fresh.cells if id(c) not in check_ids)
    assert hidden_others <= hidden_in_solution, f"{ex}: cells other than checks were tagged remove-output"
    # The solutions keep their PASSED feedback visible in the book.
    for _, q, cell in _check_cells(solution):
        assert "remove-output" not in cell.metadata.get("tags", []), f"{ex} {q}: solution check hidden"
    # Tagging again (a regenerated notebook) does not add a second tag.
    gen.hide_check_outputs(fresh)
    assert all(c.metadata["tags"].count("remove-output") == 1 for _, _, c in _check_cells(fresh))
