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

Interactive figures (``backprop.labs.explore`` twins) are compared by
``explore.compare`` instead of exactly: their numbers within 1e-3 relative,
their text exactly (see ``compare_with_twins``).
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


PLOTLY_MIME = "application/vnd.plotly.v1+json"


def _is_twin(output) -> bool:
    return PLOTLY_MIME in (output.get("data") or {})


def _without_twins(outputs):
    return [o for o in outputs if not _is_twin(o)]


def compare_with_twins(item, original):
    """nbval's comparison, with interactive figures (twins) compared by
    ``backprop.labs.explore.compare``: their numbers within a stated
    tolerance, everything else exactly. All other outputs go to nbval as
    they are."""

    def compare_outputs(test, ref, skip_compare=None):
        stored = [o["data"] for o in ref if _is_twin(o)]
        fresh = [o["data"] for o in test if _is_twin(o)]
        if stored or fresh:
            from backprop.labs.explore import compare

            problems = ([f"{len(stored)} interactive figure(s) stored, {len(fresh)} drawn"]
                        if len(stored) != len(fresh) else
                        [p for s, f in zip(stored, fresh) for p in compare(s, f)])
            if problems:
                item.comparison_traceback = ["interactive figure differs: " + p for p in problems]
                return False
        return original(_without_twins(test), _without_twins(ref), skip_compare)

    return compare_outputs


def pytest_collection_modifyitems(session, config, items):
    seen = set()
    for item in items:
        notebook = getattr(item, "parent", None)
        if type(notebook).__name__ == "IPyNbFile":
            item.compare_outputs = compare_with_twins(item, item.compare_outputs)
            if id(notebook) not in seen:
                seen.add(id(notebook))
                notebook.skip_compare = tuple(notebook.skip_compare) + GLUED_IMAGES
