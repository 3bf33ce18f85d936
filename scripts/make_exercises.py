"""Generate the student exercise notebooks from the solution notebooks.

    python scripts/make_exercises.py             # re-run the solutions (outputs refreshed in place),
                                                 # then write and run exercises/exNN_*.ipynb
    python scripts/make_exercises.py ex03_backward_pass   # one exercise
    python scripts/make_exercises.py --no-execute --out DIR  # sources only (the test uses this)

One source: ``exercises/solutions/exNN_name.ipynb`` carries nbgrader markup
(``### BEGIN SOLUTION`` / ``### END SOLUTION`` and nbgrader cell metadata).
The student version is made by nbgrader's own preprocessors, run through
nbconvert without an nbgrader course directory:

1. ``ClearSolutions`` (subclassed as ``AnswerStubs`` below) replaces each
   solution region. A region inside a function gets nbgrader's stub
   ``raise NotImplementedError()``, raised only when the function is called.
   A region at the top level of a cell gets ``name = None`` for each graded
   answer name it assigns, so a student notebook runs top to bottom and its
   checks say "not attempted".
2. ``ClearOutput`` removes the solution's outputs.
3. ``metadata["backprop"]["exercise"]`` is set; every check cell (a code
   cell calling ``check(...)``) is tagged ``remove-output``, so the HTML book
   does not show a stored "NOT ATTEMPTED" block under every check (nbval still
   compares those outputs, and a JupyterLab learner sees the live feedback).
4. The notebook is executed with nbclient (without storing widget state,
   whose model ids change every run) so that its stored outputs show "not
   attempted" for nbval.
"""

from __future__ import annotations

import argparse
import ast
import copy
import os
import re
import sys
from pathlib import Path

import nbformat
from nbgrader.preprocessors import ClearOutput, ClearSolutions

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / "exercises" / "solutions"
STUDENT = ROOT / "exercises"
TOP_LEVEL_STUB = "# YOUR CODE HERE"
# Solution notebooks are titled "# Exercise N: ... (solution)"; the student
# version drops the suffix.
SOLUTION_TITLE = " (solution)"
# A check cell: `q1_result = check("ex03_backward_pass", "q1", globals())`.
CHECK_CALL = re.compile(r"(^|[^\w.])check\(", re.MULTILINE)
HIDE_OUTPUT = "remove-output"


class AnswerStubs(ClearSolutions):
    """nbgrader's ClearSolutions with a stub chosen per region.

    Indented regions (function bodies) keep ``code_stub``; top-level regions
    become ``# YOUR CODE HERE`` plus ``name = None`` for every graded answer
    name (``answer_names``) that the region assigns.
    """

    answer_names: frozenset = frozenset()

    def _replace_solution_region(self, cell, language):
        if cell.cell_type != "code":
            return super()._replace_solution_region(cell, language)
        lines = cell.source.split("\n")
        out, region, in_region, replaced = [], [], False, False
        for line in lines:
            if self.begin_solution_delimeter in line:
                if in_region:
                    raise RuntimeError("encountered nested begin solution statements")
                in_region, replaced, region = True, True, []
                indent = re.match(r"\s*", line).group(0)
            elif self.end_solution_delimeter in line and in_region:
                in_region = False
                out.extend(self._stub(indent, region, language))
            elif in_region:
                region.append(line)
            else:
                out.append(line)
        if in_region:
            raise RuntimeError("no end solution statement found")
        cell.source = "\n".join(out)
        return replaced

    def _stub(self, indent, region, language):
        if indent:
            return [indent + s for s in self.code_stub[language].split("\n")]
        names = []
        for node in ast.parse("\n".join(region)).body:
            targets = node.targets if isinstance(node, ast.Assign) else (
                [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else [])
            for t in targets:
                for n in ast.walk(t):
                    if isinstance(n, ast.Name) and n.id in self.answer_names and n.id not in names:
                        names.append(n.id)
        return [TOP_LEVEL_STUB] + [f"{n} = None" for n in names]


LINK = re.compile(r"\]\(([^)\s]+)\)")


def relink(source: str, src_dir: Path, dst_dir: Path) -> str:
    """Rewrite the relative Markdown links of ``source``, written for a
    notebook in ``src_dir``, so that they point to the same files from
    ``dst_dir`` (the solutions sit one folder deeper than the exercises)."""
    def fix(m):
        target = m.group(1)
        if re.match(r"[a-z]+:|#|/", target):
            return m.group(0)
        path, _, anchor = target.partition("#")
        new = os.path.relpath((src_dir / path).resolve(), dst_dir.resolve())
        return f"]({Path(new).as_posix()}{'#' + anchor if anchor else ''})"
    return LINK.sub(fix, source)


def is_check_cell(cell) -> bool:
    """A code cell that calls the grader's ``check(...)``."""
    return cell.cell_type == "code" and bool(CHECK_CALL.search(cell.source))


def hide_check_outputs(nb) -> None:
    """Tag every check cell ``remove-output`` (once; other tags are kept)."""
    for cell in nb.cells:
        if is_check_cell(cell):
            tags = cell.metadata.setdefault("tags", [])
            if HIDE_OUTPUT not in tags:
                tags.append(HIDE_OUTPUT)


def exercise_id(nb, path: Path) -> str:
    return nb.metadata.get("backprop", {}).get("exercise") or path.stem


def make_student(solution_path: Path):
    """The student notebook (not executed) for one solution notebook."""
    from backprop.grade.checks import EXERCISES

    nb = nbformat.read(solution_path, as_version=4)
    ex = exercise_id(nb, solution_path)
    if ex not in EXERCISES:
        raise SystemExit(f"{solution_path}: unknown exercise id {ex!r}")
    nb = copy.deepcopy(nb)
    clear = AnswerStubs()
    clear.answer_names = frozenset(n for q in EXERCISES[ex] for n in q.answers)
    resources = {}
    nb, resources = clear.preprocess(nb, resources)
    nb, resources = ClearOutput().preprocess(nb, resources)
    nb.metadata.pop("widgets", None)
    nb.metadata["backprop"] = {"exercise": ex}
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = relink(cell.source, solution_path.parent, STUDENT)
    hide_check_outputs(nb)
    title = nb.cells[0]
    if title.cell_type == "markdown" and SOLUTION_TITLE in title.source.split("\n", 1)[0]:
        title.source = title.source.replace(SOLUTION_TITLE, "", 1)
    return nb


def execute(nb, cwd: Path, timeout: int = 120):
    """Run ``nb`` top to bottom in ``cwd``; outputs are stored, widget state is not.

    nbclient must record widget state while it runs (its Output-widget hook
    fails without it, nbclient 0.11), so the state is dropped afterwards:
    its model ids change on every run.
    """
    from nbclient import NotebookClient

    NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
                   resources={"metadata": {"path": str(cwd)}}).execute()
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    return nb


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=STUDENT, help="where the student notebooks go")
    ap.add_argument("--no-execute", action="store_true", help="do not execute the student notebooks")
    ap.add_argument("--skip-solutions", action="store_true",
                    help="do not re-execute the solution notebooks (their outputs are left as they are)")
    ap.add_argument("names", nargs="*", help="exercise ids (default: all)")
    args = ap.parse_args(argv)

    paths = sorted(SOLUTIONS.glob("ex*.ipynb"))
    if args.names:
        paths = [p for p in paths if p.stem in args.names]
    if not paths:
        raise SystemExit("no solution notebooks found")
    args.out.mkdir(parents=True, exist_ok=True)
    for path in paths:
        if not (args.skip_solutions or args.no_execute):
            sol = nbformat.read(path, as_version=4)
            nbformat.write(execute(sol, SOLUTIONS), path)
            print(f"executed {path.relative_to(ROOT)}")
        nb = make_student(path)
        if not args.no_execute:
            nb = execute(nb, STUDENT)
        target = args.out / path.name
        nbformat.write(nb, target)
        print(f"wrote {target}")


if __name__ == "__main__":
    sys.exit(main())
