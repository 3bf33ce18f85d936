"""Run a submission's code in a fresh Jupyter kernel and collect its answers.

Used by ``backprop.grade.runner`` (see its docstring for the whole design).
The notebook's code cells are copied into a new notebook without outputs,
metadata or tags (stored outputs count for nothing, and a ``skip-execution``
tag cannot hide a cell), minus the check cells (cells made only of
``check(...)``/``run_question(...)`` calls and imports: the checks run
elsewhere); if another cell also calls them, a first cell of ours makes them
no-ops in the kernel. nbclient runs the cells one by one in a fresh
``python3`` kernel, errors allowed, each limited to ``min(cell_timeout,
what is left of the submission's budget)``. A cell that times out is
interrupted; if the kernel does not answer after the interrupt, or the
kernel dies (``os._exit``), the kernel is restarted and the notebook re-run
without that cell (at most ``MAX_RESTARTS`` times), so one bad cell costs
only the questions whose answers it defines. A last cell, ours, writes each
answer with cloudpickle to ``<answers>/<name>.pkl`` and a JSON status per
name; nothing from the kernel is unpickled by the caller.
"""

from __future__ import annotations

import ast
import json
import os
import re
import sys
import time

MAX_RESTARTS = 3
INTERRUPT_GRACE = 5  # seconds a kernel gets to answer after an interrupt
DUMP_TIMEOUT = 60  # seconds for our own answer-collecting cell

CHECK_CELL = re.compile(r"""\bchecks\s*\.\s*(check|run_question)\s*\(|\b(check|run_question)\s*\(\s*['"]""")

_DUMP = '''
def __backprop_grade_dump(names, outdir):
    import json, os, cloudpickle
    ns, status = globals(), {}
    for name in names:
        if name not in ns:
            status[name] = ["missing", ""]
            continue
        try:
            blob = cloudpickle.dumps(ns[name])
        except BaseException as e:
            status[name] = ["unpicklable", f"{type(e).__name__}: {e}"[:200]]
            continue
        with open(os.path.join(outdir, name + ".pkl"), "wb") as f:
            f.write(blob)
        status[name] = ["ok", ""]
    with open(os.path.join(outdir, "status.json"), "w") as f:
        json.dump(status, f)
__backprop_grade_dump(%r, %r)
del __backprop_grade_dump
'''


def import_nbformat():
    """nbformat, without the 5-10 s import of ``rfc3987_syntax`` that jsonschema pulls in.

    jsonschema imports ``rfc3987_syntax`` (a Lark grammar built at import time,
    python-jsonschema/jsonschema#1428) only to check the ``iri`` string format,
    which the notebook schema does not use. This process is ours alone, so
    marking the module absent is safe here.
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)
    import nbformat
    return nbformat


def kernel_env() -> dict:
    env = dict(os.environ)
    env.update(MPLBACKEND="Agg", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYDEVD_DISABLE_FILE_VALIDATION="1", PYTHONWARNINGS="ignore")
    return env


MUTE_CELL = '''
def __backprop_grade_mute(name):
    # the grader checks elsewhere: make the kernel's check calls cheap no-ops
    import importlib, sys
    try:
        importlib.import_module(name)
    except Exception:
        return
    for key, mod in list(sys.modules.items()):
        if key == name or key.startswith(name + "."):
            for attr in ("check", "run_question"):
                if callable(getattr(mod, attr, None)):
                    setattr(mod, attr, lambda *a, **k: None)
__backprop_grade_mute(%r)
del __backprop_grade_mute
'''


def calls_check(source: str) -> bool:
    """The cell mentions a call of ``check``/``run_question``."""
    return bool(CHECK_CELL.search(source))


def _is_check_call(node) -> bool:
    return any(isinstance(n, ast.Call) and (getattr(n.func, "id", None) or getattr(n.func, "attr", None))
               in ("check", "run_question") for n in ast.walk(node))


def is_check_cell(source: str) -> bool:
    """A check cell: only check calls (bare, assigned or printed) and imports. Skipped when grading.

    A cell that also defines something is run instead, with the kernel's
    ``check``/``run_question`` turned into no-ops (see ``MUTE_CELL``).
    """
    if not calls_check(source):
        return False
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    return all(isinstance(s, (ast.Import, ast.ImportFrom, ast.Pass))
               or (isinstance(s, (ast.Expr, ast.Assign, ast.AnnAssign)) and _is_check_call(s)) for s in body)


def defined_names(source: str) -> set[str]:
    """Top-level names a cell binds (functions, classes, assignments, imports); regex if it does not parse."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        names = set(re.findall(r"^\s*(?:async\s+)?(?:def|class)\s+(\w+)", source, re.M))
        names |= set(re.findall(r"^(\w+)\s*(?::[^=\n]*)?=(?!=)", source, re.M))
        return names
    names = set()
    stack = list(tree.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
            continue
        for child in ast.walk(node):
            if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store):
                names.add(child.id)
            elif isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and child is not node:
                names.add(child.name)
    return names


def execute(cells, names, workdir, answers_dir, timeout, cell_timeout):
    """Run ``cells`` [(number, source)] in fresh kernels; return ({number: outcome}, status of names).

    An outcome is ``("ok",)``, ``("error", ename, evalue)``, ``("timeout", seconds)``,
    ``("died",)`` or ``("not_run", why)``; ``status`` maps each answer name to
    ``[ok|missing|unpicklable, detail]``, or is a string saying why nothing was collected.
    """
    nbformat = import_nbformat()
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from nbclient.util import run_sync

    deadline = time.monotonic() + timeout
    fatal: dict[int, tuple] = {}
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for _, src in cells]
    nb.cells.append(nbformat.v4.new_code_cell("pass"))  # probe after an interrupt
    nb.cells.append(nbformat.v4.new_code_cell(_DUMP % (list(names), answers_dir)))
    probe, dump = len(cells), len(cells) + 1
    outcomes: dict[int, tuple] = {}
    for attempt in range(MAX_RESTARTS + 1):
        outcomes = {}
        if attempt and deadline - time.monotonic() < 1:  # no time left to re-run the notebook
            for i, (number, _) in enumerate(cells):
                outcomes[number] = fatal.get(i, ("not_run", f"the submission's time budget of {timeout:g} s "
                                                            "was used up"))
            return outcomes, {}
        restart = False
        client = NotebookClient(nb, timeout=cell_timeout, allow_errors=True, kernel_name="python3",
                                shutdown_kernel="immediate", startup_timeout=60,
                                resources={"metadata": {"path": workdir}})
        try:
            with client.setup_kernel(env=kernel_env()):
                for i, (number, _) in enumerate(cells):
                    if i in fatal:
                        outcomes[number] = fatal[i]
                        continue
                    left = deadline - time.monotonic()
                    if left < 1:
                        outcomes[number] = ("not_run", f"the submission's time budget of {timeout:g} s was used up")
                        continue
                    limit = max(1, int(min(cell_timeout, left)))
                    client.timeout = limit
                    try:
                        cell = client.execute_cell(nb.cells[i], i)
                    except CellTimeoutError:
                        outcomes[number] = ("timeout", limit)
                        run_sync(client.km.interrupt_kernel)()
                        client.timeout = INTERRUPT_GRACE
                        try:
                            client.execute_cell(nb.cells[probe], probe)
                        except (CellTimeoutError, DeadKernelError):
                            fatal[i] = ("timeout", limit)
                            restart = True
                            break
                        continue
                    except DeadKernelError:
                        fatal[i] = ("died",)
                        restart = True
                        break
                    errors = [o for o in cell.outputs if o.get("output_type") == "error"]
                    outcomes[number] = ("error", errors[0].get("ename", ""), errors[0].get("evalue", "")) \
                        if errors else ("ok",)
                if not restart:
                    client.timeout = DUMP_TIMEOUT
                    try:
                        client.execute_cell(nb.cells[dump], dump)
                    except CellTimeoutError:
                        return outcomes, f"collecting the answers timed out after {DUMP_TIMEOUT} s"
                    except DeadKernelError:
                        return outcomes, "the kernel died while the answers were being collected"
        except (RuntimeError, TimeoutError, OSError) as e:  # the kernel failed to start
            return outcomes, f"the kernel could not be started: {e}"
        if not restart:
            break
    else:
        for i, (number, _) in enumerate(cells):
            outcomes.setdefault(number, ("not_run", f"the kernel was restarted {MAX_RESTARTS} times"))
        return outcomes, f"the kernel died or hung {MAX_RESTARTS + 1} times"
    try:
        with open(os.path.join(answers_dir, "status.json")) as f:
            status = json.load(f)
        if not isinstance(status, dict):
            raise ValueError("not a dict")
        # written by the submission's kernel: keep only well-formed entries
        status = {n: v for n, v in status.items() if n in names and isinstance(v, list) and len(v) == 2
                  and v[0] in ("ok", "missing", "unpicklable") and isinstance(v[1], str)}
    except (OSError, ValueError) as e:
        return outcomes, f"the answers could not be collected ({type(e).__name__}: {e})"
    return outcomes, status
