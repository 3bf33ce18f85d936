"""Run a submission's code in a sandboxed Jupyter kernel and collect its answers as plain data.

Used by ``backprop.grade.runner`` (the trusted side). The notebook's code
cells are copied into a new notebook without outputs, metadata or tags
(stored outputs count for nothing, and a ``skip-execution`` tag cannot hide a
cell), minus the check cells (cells made only of ``check(...)``/
``run_question(...)`` calls and imports); if another cell also calls them, a
first cell of ours makes them no-ops in the kernel.

The kernel runs inside bubblewrap (``backprop.grade.sandbox``) and talks to
nbclient over IPC sockets in the submission's scratch folder. Cells run one
by one, errors allowed, each limited to ``min(cell_timeout, what is left of
the submission's budget)``. Then, **one question at a time**, a cell of ours
reads that question's inputs (plain data the trusted side wrote to a
read-only folder), runs ``core.collect`` on the kernel's namespace and
writes the result as plain data (``backprop.grade.plain``) into
``out/<question>``; each is limited to ``question_timeout``. A cell or a
question that times out is interrupted (an ``interrupt_request`` message);
if the kernel does not answer after the interrupt, or dies, the kernel is
restarted (a new sandbox) and the notebook re-run without that cell, and the
questions not yet collected are collected from the new kernel (at most
``MAX_RESTARTS`` times). So one bad cell or answer costs only the questions
it touches.

Only error outputs are kept from the kernel's messages (name and value,
truncated): printed text and displays are dropped as they arrive.
"""

from __future__ import annotations

import ast
import os
import re
import time

MAX_RESTARTS = 3
INTERRUPT_GRACE = 5  # seconds a kernel gets to answer after an interrupt
STARTUP_TIMEOUT = 60

CHECK_CELL = re.compile(r"""\bchecks\s*\.\s*(check|run_question)\s*\(|\b(check|run_question)\s*\(\s*['"]""")

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


COLLECT_CELL = """
def __backprop_grade_collect(module, exercise, question, indir, outdir):
    import importlib
    from backprop.grade import plain
    from backprop.grade.checks import core
    q = core.get_question(exercise, question, importlib.import_module(module).EXERCISES)
    cases = plain.read(indir, keep_dtype=True) if q.cases is not None else None
    plain.write(core.collect(q, globals(), cases), outdir)
__backprop_grade_collect(%r, %r, %r, %r, %r)
"""


def _client_class():
    from nbclient import NotebookClient

    class QuietClient(NotebookClient):
        """Keeps only error outputs (truncated): a submission cannot flood the grader's memory."""

        def process_message(self, msg, cell, cell_index):
            kind = msg.get("msg_type")
            if kind == "error":
                content = msg.get("content") or {}
                cell.outputs[:] = cell.outputs[:1] or [{
                    "output_type": "error", "ename": str(content.get("ename", ""))[:100],
                    "evalue": str(content.get("evalue", ""))[:500], "traceback": []}]
                return None
            if kind in ("status", "execute_input"):
                return super().process_message(msg, cell, cell_index)
            return None

    return QuietClient


def _kernel_manager(view, ro, box, memory_mb, attempt):
    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.manager import AsyncKernelManager

    from backprop.grade import sandbox

    class SandboxedKernelManager(AsyncKernelManager):
        def format_kernel_cmd(self, extra_arguments=None):
            import sys
            argv = [sys.executable, "-m", "ipykernel_launcher", "-f", self.connection_file]
            return sandbox.command(view, ro, box, argv + list(extra_arguments or []), memory_mb)

    km = SandboxedKernelManager(transport="ipc", ip=os.path.join(box, "ipc", f"k{attempt}"),
                                connection_file=os.path.join(ro, f"kernel-{attempt}.json"))
    km._kernel_spec = KernelSpec(argv=["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                                 display_name="sandboxed", language="python", interrupt_mode="message")
    return km


def execute(cells, questions, *, view, ro, box, module, exercise, timeout, cell_timeout, question_timeout,
            memory_mb, setup=""):
    """Run ``cells`` [(number, source)], then collect each question id in ``questions``.

    Returns ``(outcomes, collected, note)``: ``outcomes`` maps a cell number to
    ``("ok",)``, ``("error", ename, evalue)``, ``("timeout", seconds)``,
    ``("died",)`` or ``("not_run", why)``; ``collected`` maps a question id to
    ``("ok",)`` (its plain data is in ``box/out/<id>``), ``("timeout", s)``,
    ``("died",)``, ``("error", why)``; ``note`` says why the kernel could not be
    used at all ("" otherwise).
    """
    import nbformat
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from nbclient.util import run_sync

    Client = _client_class()
    deadline = time.monotonic() + timeout
    fatal: dict[int, tuple] = {}  # cell index -> outcome, never re-run
    collected: dict[str, tuple] = {}
    nb = nbformat.v4.new_notebook()
    code = ([setup] if setup else []) + [src for _, src in cells]
    first = 1 if setup else 0
    nb.cells = [nbformat.v4.new_code_cell(src) for src in code]
    probe = len(nb.cells)
    nb.cells.append(nbformat.v4.new_code_cell("pass"))
    qcell = {}
    for qid in questions:
        qcell[qid] = len(nb.cells)
        nb.cells.append(nbformat.v4.new_code_cell(COLLECT_CELL % (
            module, exercise, qid, os.path.join(ro, "in", qid), os.path.join(box, "out", qid))))
    outcomes: dict[int, tuple] = {}
    note = ""
    for attempt in range(MAX_RESTARTS + 1):
        outcomes = {}
        if attempt and deadline - time.monotonic() < 1:
            note = f"the submission's time budget of {timeout:g} s was used up"
            break
        restart = False
        client = Client(nb, km=_kernel_manager(view, ro, box, memory_mb, attempt), timeout=cell_timeout,
                        allow_errors=True, shutdown_kernel="immediate", startup_timeout=STARTUP_TIMEOUT,
                        resources={"metadata": {"path": os.path.join(box, "home")}})

        def interrupted(index, limit):
            """Interrupt; True when the kernel answers again (else it must be restarted)."""
            try:
                run_sync(client.km.interrupt_kernel)()
                client.timeout = INTERRUPT_GRACE
                client.execute_cell(nb.cells[probe], probe)
                return True
            except (CellTimeoutError, DeadKernelError):
                return False
            except Exception:  # noqa: BLE001 - a kernel in a bad state: restart it
                return False

        try:
            with client.setup_kernel():
                for i in range(len(code)):
                    number = cells[i - first][0] if i >= first else 0
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
                        if not interrupted(i, limit):
                            fatal[i] = ("timeout", limit)
                            restart = True
                            break
                        continue
                    except DeadKernelError:
                        fatal[i] = ("died",)
                        restart = True
                        break
                    except Exception as e:  # noqa: BLE001 - a message nbclient could not handle
                        fatal[i] = ("error", "GraderError", f"{type(e).__name__}: {e}"[:300])
                        restart = True
                        break
                    errors = [o for o in cell.outputs if o.get("output_type") == "error"]
                    outcomes[number] = ("error", errors[0].get("ename", ""), errors[0].get("evalue", "")) \
                        if errors else ("ok",)
                if not restart:
                    for qid in questions:
                        if qid in collected:
                            continue
                        client.timeout = max(1, int(question_timeout))
                        try:
                            cell = client.execute_cell(nb.cells[qcell[qid]], qcell[qid])
                        except CellTimeoutError:
                            collected[qid] = ("timeout", question_timeout)
                            if not interrupted(qcell[qid], question_timeout):
                                restart = True
                                break
                            continue
                        except DeadKernelError:
                            collected[qid] = ("died",)
                            restart = True
                            break
                        except Exception as e:  # noqa: BLE001
                            collected[qid] = ("error", f"{type(e).__name__}: {e}"[:300])
                            restart = True
                            break
                        errors = [o for o in cell.outputs if o.get("output_type") == "error"]
                        if errors:
                            e = errors[0]
                            if e.get("ename") == "KeyboardInterrupt":
                                collected[qid] = ("timeout", question_timeout)
                            else:
                                collected[qid] = ("error", f"{e.get('ename', '')}: {e.get('evalue', '')}")
                        else:
                            collected[qid] = ("ok",)
        except (RuntimeError, TimeoutError, OSError) as e:  # the kernel failed to start
            note = f"the kernel could not be started: {e}"
            break
        if not restart:
            break
    else:
        note = f"the kernel died or hung {MAX_RESTARTS + 1} times"
    for i, (number, _) in enumerate(cells):
        outcomes.setdefault(number, fatal.get(i + first, ("not_run", note or "not run")))
    return outcomes, collected, note
