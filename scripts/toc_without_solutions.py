"""Write the book's table of contents without its "Solutions" part.

    python scripts/toc_without_solutions.py OUT.yml

`make book SOLUTIONS=no` builds with the result, for a course that hands the
book to learners before the exercises are due.
"""

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CAPTION = "Solutions"


def without_solutions(toc: dict) -> dict:
    parts = [p for p in toc.get("parts", []) if p.get("caption") != CAPTION]
    if len(parts) == len(toc.get("parts", [])):
        raise SystemExit(f"_toc.yml has no part with caption {CAPTION!r}")
    return {**toc, "parts": parts}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        raise SystemExit("usage: python scripts/toc_without_solutions.py OUT.yml")
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    out = Path(argv[0])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(without_solutions(toc), sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
