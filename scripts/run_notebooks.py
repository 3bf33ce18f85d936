"""Execute notebooks in place, in a fresh kernel each, and store their outputs.

    python scripts/run_notebooks.py                      # every chapter
    python scripts/run_notebooks.py chapters/05_gradient_checking.ipynb

Like ``jupyter nbconvert --execute --inplace``, but it keeps the stored
notebooks clean for review and for nbval: no per-cell execution timestamps,
no widget state (its model ids change on every run). It prints each
notebook's wall time, to hold the chapters to their 30-second budget.
Exercise notebooks are made by ``scripts/make_exercises.py`` instead.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def run(path: Path, timeout: int) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    # Widget state must be recorded while running (nbclient's Output-widget
    # hook needs it); it is dropped before writing.
    NotebookClient(nb, timeout=timeout, kernel_name="python3", store_widget_state=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    seconds = time.perf_counter() - start
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nbformat.write(nb, path)
    return seconds


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("notebooks", nargs="*", type=Path)
    ap.add_argument("--timeout", type=int, default=300, help="seconds per cell")
    args = ap.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "chapters").glob("[0-9]*.ipynb"))
    for path in paths:
        print(f"{path}: {run(path, args.timeout):.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
