"""The operating-system sandbox each submission's kernel runs in (bubblewrap).

``python -m backprop.grade`` starts every Jupyter kernel as::

    bwrap --unshare-all --die-with-parent --new-session --cap-drop ALL
          --ro-bind (what Python and the kernel need) --bind SCRATCH SCRATCH ...
          python -c LIMITS python -m ipykernel_launcher -f CONNECTION

- **Read-only view of what the kernel needs, nothing else**: ``/usr`` and
  ``/etc``, the Python installation and the virtual environment, and a
  *redacted copy* of the ``backprop`` package (``prepare_view``). The
  repository itself (so ``exercises/solutions``), other submissions, the
  grader's temporary files and its output paths are not in the sandbox.
  ``/tmp`` is an empty tmpfs.
- **Private writable scratch**: one folder per submission (HOME, IPYTHONDIR,
  MPLCONFIGDIR, the kernel's IPC sockets, its answers); the grader reads
  answers back from it as plain data only (``backprop.grade.plain.read``).
- **No network** (a new, empty network namespace); the kernel speaks
  Jupyter's protocol over IPC sockets in the scratch folder.
- **Own PID namespace, ``--die-with-parent``**: when the grader kills the
  kernel (or dies), every process the submission started dies with it,
  ``setsid`` or not.
- **Limits**: address space (``--memory-limit``, default 2048 MB) and file
  size set as hard rlimits before the kernel starts; no capabilities, so
  they cannot be raised. The time limits are the grader's (``kernel``).
- **Disabled references**: in the redacted package copy, the body of every
  function a question forbids, and of every ``reference_*`` function in a
  checks module, is replaced by ``raise ForbiddenReferenceError(...)``.
  The code is not in the sandbox at all, so no import route (aliases,
  ``__wrapped__``, code-object copies, ``importlib.reload``, reading the
  file) can reach it.
- **NumPy only**: for an exercise with a ``numpy_only`` question, the torch
  package directory is replaced by one ``__init__.py`` that raises
  ``ImportError`` saying why.
"""

from __future__ import annotations

import ast
import compileall
import importlib.util
import os
import shutil
import subprocess
import sys

from backprop.grade.checks.core import FORBIDDEN_KIND

DEFAULT_MEMORY_MB = 2048
MAX_FILE_BYTES = 256 * 2**20

INSTALL_HINT = "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap)"

_LIMITS = ("import os, resource, sys\n"
           "m, f = int(sys.argv[1]), int(sys.argv[2])\n"
           "resource.setrlimit(resource.RLIMIT_AS, (m, m))\n"
           "resource.setrlimit(resource.RLIMIT_FSIZE, (f, f))\n"
           "resource.setrlimit(resource.RLIMIT_CORE, (0, 0))\n"
           "os.execv(sys.argv[3], sys.argv[3:])\n")


class SandboxUnavailable(Exception):
    """bubblewrap is missing or cannot create namespaces here."""


def bwrap() -> str | None:
    return shutil.which("bwrap")


def probe() -> None:
    """Raise ``SandboxUnavailable`` unless a bwrap sandbox can start on this machine."""
    exe = bwrap()
    if exe is None:
        raise SandboxUnavailable(f"bubblewrap (bwrap) is not installed: {INSTALL_HINT}")
    cmd = [exe, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
           *_system_binds(), "--proc", "/proc", "--dev", "/dev", "--", "/bin/true"]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise SandboxUnavailable(f"bubblewrap could not start: {e}") from None
    if proc.returncode != 0:
        raise SandboxUnavailable("bubblewrap cannot create a sandbox here (user namespaces disabled?): "
                                 + " ".join(proc.stderr.split())[:300])


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for d in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(d):
            args += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            args += ["--ro-bind", d, d]
    if os.path.isdir("/etc"):
        args += ["--ro-bind", "/etc", "/etc"]
    return args


def package_dir() -> str:
    import backprop
    return os.path.dirname(os.path.abspath(backprop.__file__))


def _package_site(name: str) -> str | None:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return list(spec.submodule_search_locations)[0]


def disabled_functions(registry: dict, exercise: str) -> dict[str, list[str]]:
    """{module file relative to the package: [function names]} to disable for ``exercise``."""
    pkg = package_dir()
    out: dict[str, set] = {}
    for q in registry[exercise]:
        for dotted in q.forbidden:
            mod, _, fn = dotted.rpartition(".")
            if not mod.startswith("backprop."):
                continue
            parts = mod.split(".")[1:]
            rel = os.path.join(*parts) + ".py"
            if not os.path.exists(os.path.join(pkg, rel)):
                rel = os.path.join(*parts, "__init__.py")
            out.setdefault(rel, set()).add(fn)
    checks = os.path.join(pkg, "grade", "checks")
    for name in sorted(os.listdir(checks)):
        if name.endswith(".py"):
            with open(os.path.join(checks, name), encoding="utf-8") as f:
                tree = ast.parse(f.read())
            refs = {n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("reference_")}
            if refs:
                out.setdefault(os.path.join("grade", "checks", name), set()).update(refs)
    return {k: sorted(v) for k, v in out.items()}


def _redact(source: str, module: str, names: list[str], exercise: str) -> str:
    tree = ast.parse(source)
    body = tree.body
    insert_at = 0
    for i, node in enumerate(body):
        if (i == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)) or (
                isinstance(node, ast.ImportFrom) and node.module == "__future__"):
            insert_at = i + 1
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in names:
            msg = (f"{module}.{node.name} is the package's own solution to a question of {exercise}; "
                   f"the grader disables it: write your own")
            node.body = [ast.Raise(exc=ast.Call(func=ast.Name(FORBIDDEN_KIND, ast.Load()),
                                                args=[ast.Constant(msg)], keywords=[]), cause=None)]
            node.decorator_list = []
    cls = ast.parse(f"class {FORBIDDEN_KIND}(RuntimeError):\n"
                    f"    '''A reference function the grader disabled in its sandbox.'''\n").body
    tree.body = body[:insert_at] + cls + body[insert_at:]
    return ast.unparse(ast.fix_missing_locations(tree)) + "\n"


def prepare_view(registry: dict, exercise: str, root: str) -> dict:
    """Build ``root/backprop`` (the redacted package) and the torch stub; returns what ``command`` needs."""
    pkg = package_dir()
    dest = os.path.join(root, "backprop")
    shutil.copytree(pkg, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"), symlinks=False)
    for rel, names in disabled_functions(registry, exercise).items():
        path = os.path.join(dest, rel)
        module = "backprop." + rel[:-3].replace(os.sep, ".").removesuffix(".__init__")
        with open(path, encoding="utf-8") as f:
            src = f.read()
        with open(path, "w", encoding="utf-8") as f:
            f.write(_redact(src, module, names, exercise))
    compileall.compile_dir(dest, quiet=2)
    view = {"package": dest, "hide": []}
    if any(q.numpy_only for q in registry[exercise]):
        stub = os.path.join(root, "torch_stub.py")
        with open(stub, "w") as f:
            f.write(f"raise ImportError({exercise + ' says NumPy only: the grader runs it without torch'!r})\n")
        for name in ("torch", "functorch", "torchgen"):
            site = _package_site(name)
            if site and os.path.isdir(site):
                view["hide"].append((site, stub))
    return view


def command(view: dict, ro: str, box: str, argv: list[str], memory_mb: int) -> list[str]:
    """The bwrap command line that runs ``argv`` in the sandbox (``ro`` read-only, ``box`` writable)."""
    home = os.path.join(box, "home")
    # /proc, /dev and the empty /tmp first: a later bind lands on top of them,
    # so a Python or a checkout that lives under /tmp (a CI clone) stays visible.
    args = [bwrap() or "bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", *_system_binds()]
    for prefix in sorted({os.path.realpath(sys.base_prefix), os.path.abspath(sys.prefix),
                          os.path.realpath(sys.prefix)}):
        if not prefix.startswith("/usr/"):
            args += ["--ro-bind", prefix, prefix]
    args += ["--ro-bind", view["package"], package_dir()]
    for site, stub in view["hide"]:
        args += ["--tmpfs", site, "--ro-bind", stub, os.path.join(site, "__init__.py")]
    args += ["--ro-bind", ro, ro, "--bind", box, box, "--chdir", home, "--clearenv"]
    env = {"HOME": home, "IPYTHONDIR": os.path.join(home, ".ipython"),
           "MPLCONFIGDIR": os.path.join(home, ".matplotlib"), "JUPYTER_CONFIG_DIR": os.path.join(home, ".jupyter"),
           "JUPYTER_DATA_DIR": os.path.join(home, ".local/share/jupyter"),
           "JUPYTER_RUNTIME_DIR": os.path.join(box, "runtime"), "JUPYTER_PLATFORM_DIRS": "1",
           "PATH": os.path.dirname(sys.executable) + ":/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
           "TMPDIR": "/tmp", "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1",
           "PYTHONWARNINGS": "ignore", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    for k, v in env.items():
        args += ["--setenv", k, v]
    limit = max(64, int(memory_mb)) * 2**20
    return args + ["--", sys.executable, "-c", _LIMITS, str(limit), str(MAX_FILE_BYTES), *argv]


def make_box(box: str) -> None:
    for d in ("home", "home/.ipython", "home/.matplotlib", "runtime", "ipc", "out"):
        os.makedirs(os.path.join(box, d), exist_ok=True)
