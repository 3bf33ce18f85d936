"""Repository-wide pytest configuration (applies to the notebooks under nbval).

``make test`` runs nbval twice: once as the machine is, once under
``OPENBLAS_CORETYPE=Sandybridge OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1``.
The second run only proves something if OpenBLAS really switched kernel, so
when ``OPENBLAS_CORETYPE`` is set the session stops unless the OpenBLAS that
numpy loaded reports that kernel (and the requested thread count). The
notebooks' kernels inherit the same environment and load the same library.

nbval does not compare plain ``image/png`` outputs (rendering is not part of
what a notebook asserts); a figure glued with myst-nb's ``glue`` carries the
same PNG under another MIME type, skipped the same way. The chapters no
longer glue figures (tests/test_notebooks.py forbids it); this only keeps an
old notebook's glued PNG from being compared byte for byte.
"""

import os

import pytest

GLUED_IMAGES = (
    "application/papermill.record/image/png",
    "application/papermill.record/image/jpeg",
    "application/papermill.record/image/svg+xml",
)


def blas_problems(environ=os.environ) -> list[str]:
    """What differs between the requested OpenBLAS kernel/threads and the loaded one."""
    wanted = environ.get("OPENBLAS_CORETYPE")
    if not wanted:
        return []
    import numpy  # noqa: F401  (loads numpy's OpenBLAS)
    from threadpoolctl import threadpool_info

    blas = [i for i in threadpool_info() if i.get("internal_api") == "openblas"]
    if not blas:
        return [f"OPENBLAS_CORETYPE={wanted} is set but numpy loaded no OpenBLAS"]
    problems = []
    for lib in blas:
        if str(lib.get("architecture", "")).lower() != wanted.lower():
            problems.append(f"OPENBLAS_CORETYPE={wanted} but {lib['filepath']} runs "
                            f"the {lib.get('architecture')} kernel")
        threads = environ.get("OPENBLAS_NUM_THREADS")
        if threads and lib.get("num_threads") != int(threads):
            problems.append(f"OPENBLAS_NUM_THREADS={threads} but {lib['filepath']} "
                            f"uses {lib.get('num_threads')} threads")
    return problems


def pytest_sessionstart(session):
    problems = blas_problems()
    if problems:
        pytest.exit("the forced BLAS environment did not take effect: " + "; ".join(problems),
                    returncode=pytest.ExitCode.USAGE_ERROR)


def pytest_collection_modifyitems(session, config, items):
    seen = set()
    for item in items:
        notebook = getattr(item, "parent", None)
        if type(notebook).__name__ == "IPyNbFile" and id(notebook) not in seen:
            seen.add(id(notebook))
            notebook.skip_compare = tuple(notebook.skip_compare) + GLUED_IMAGES
