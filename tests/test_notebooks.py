"""Every chapter and exercise notebook shows in JupyterLab what the book shows.

Learners run the notebooks in JupyterLab, where MyST-NB's build-time features
do not render. So each listing, figure and number must be a cell *output*, and
the Markdown must not rely on anything only the book builder resolves:

* no ``literalinclude`` (a listing is the output of a ``show_source`` cell,
  tagged ``remove-input``) and no ``glue`` directive such as ``glue:figure``
  (a figure is the output of the cell that makes it);
* every ``{glue:text}`key:fmt``` role names a glued key, and its value,
  formatted exactly as myst-nb formats it, is printed in an output of the
  same notebook (a stream, ``text/plain`` or ``text/markdown``; the glue
  record itself is invisible in JupyterLab and does not count);
* every image output sits in a cell whose metadata gives its alt text
  (``metadata.mystnb.image.alt``), every ``<img>`` in an HTML output has an
  ``alt``, and a figure cell has one display output and no listing;
* the kernelspec is the same everywhere, so JupyterLab does not rewrite a
  notebook (and autosave write it) when it is opened;
* no raw ``{ref}``, ``{numref}``, ``{cite}``, ``{doc}``, ``{eq}`` role, no
  ``(label)=`` line and no backtick-fenced directive (JupyterLab shows those
  as text or as a code block; colon fences render their body as Markdown);
* code lines and printed lines fit the book's column (88 characters),
  except what the book removes (``remove-input`` code, ``remove-output``
  outputs).

Each property is a function returning the list of problems it finds; the
``test_checker_*`` tests feed each one a small notebook that breaks it, so no
check here is one that cannot fail.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat
import pytest
from myst_nb.core.variables import format_plain_text
from myst_nb.ext.glue import extract_glue_data_cell
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(
    [*ROOT.glob("chapters/*.ipynb"), *ROOT.glob("exercises/*.ipynb"),
     *ROOT.glob("exercises/solutions/*.ipynb")])
IDS = [p.relative_to(ROOT).as_posix() for p in NOTEBOOKS]

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
MAX_LINE = 88

# A fenced block: ``` or ~~~ (three or more), closed by the same fence.
FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})(?P<info>[^\n]*)\n(?P<body>.*?)^(?P=fence)[ \t]*$",
                   re.MULTILINE | re.DOTALL)
COLON_DIRECTIVE = re.compile(r"^:{3,}\{(?P<name>[^}]+)\}", re.MULTILINE)
ROLE = re.compile(r"\{(?P<name>[a-z][\w:-]*)\}`(?P<content>[^`]*)`")
RAW_ROLES = re.compile(r"^(ref|numref|cite(:[\w-]+)?|doc|eq|term|download)$")
LABEL_LINE = re.compile(r"^\s*\([\w.:-]+\)=\s*$", re.MULTILINE)
IMAGE_MIMES = ("image/png", "image/jpeg", "image/svg+xml", "image/gif")
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
IMG_TAG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
ALT_ATTR = re.compile(r"""\balt\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)


def read(path: Path):
    return nbformat.read(path, as_version=4)


def _markdown_cells(nb):
    return [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "markdown"]


def _code_cells(nb):
    return [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]


def _snippet(text: str, width: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _without_code_blocks(markdown: str) -> str:
    """Markdown with plain code blocks blanked (a ```python block may show a role)."""
    return FENCE.sub(lambda m: "" if not m.group("info").strip().startswith("{") else m.group(0),
                     markdown)


def _tags(cell) -> list:
    return cell.metadata.get("tags", [])


# ---------------------------------------------------------------- checkers


def kernelspec_problems(nb) -> list[str]:
    spec = nb.metadata.get("kernelspec")
    return [] if spec == KERNELSPEC else [f"kernelspec is {spec!r}, expected {KERNELSPEC!r}"]


def directive_problems(nb) -> list[str]:
    """literalinclude, glue directives, and directives in backtick fences."""
    problems = []
    for i, cell in _markdown_cells(nb):
        names = [(m.group("info").strip(), "backtick") for m in FENCE.finditer(cell.source)]
        names += [("{" + m.group("name") + "}", "colon") for m in COLON_DIRECTIVE.finditer(cell.source)]
        for info, kind in names:
            if not info.startswith("{"):
                continue
            name = info[1:].split("}", 1)[0]
            if name == "literalinclude":
                problems.append(f"cell {i}: {{literalinclude}} shows nothing in JupyterLab; "
                                "print the listing with show_source")
            elif name.startswith("glue"):
                problems.append(f"cell {i}: {{{name}}} shows nothing in JupyterLab; "
                                "show the figure as the cell's output")
            elif kind == "backtick":
                problems.append(f"cell {i}: ```{{{name}}} renders as a code block in JupyterLab; "
                                "use a colon fence :::{" + name + "}")
    return problems


def raw_markup_problems(nb) -> list[str]:
    """Roles and label lines that JupyterLab shows as raw text."""
    problems = []
    for i, cell in _markdown_cells(nb):
        text = _without_code_blocks(cell.source)
        for m in ROLE.finditer(text):
            name = m.group("name")
            if RAW_ROLES.match(name) or (name.startswith("glue") and name != "glue:text"):
                problems.append(f"cell {i}: raw role {m.group(0)!r}")
        for m in LABEL_LINE.finditer(text):
            problems.append(f"cell {i}: label line {m.group(0).strip()!r}")
    return problems


def glued_text(nb) -> dict[str, str]:
    """``{key: text/plain}`` of every glued value, as myst-nb extracts it."""
    glued = {}
    for _, cell in _code_cells(nb):
        for key, output in extract_glue_data_cell(copy.deepcopy(cell)):
            if "text/plain" in output.get("data", {}):
                glued[key] = output["data"]["text/plain"]
    return glued


def printed_text(nb) -> str:
    """What a JupyterLab reader sees as text: streams, text/plain, text/markdown
    of every output that is not a glue record."""
    parts = []
    for _, cell in _code_cells(nb):
        for out in cell.get("outputs", []):
            if "scrapbook" in out.get("metadata", {}):
                continue
            if out.output_type == "stream":
                parts.append(out.text)
            elif out.output_type in ("display_data", "execute_result"):
                for mime in ("text/plain", "text/markdown"):
                    if mime in out.get("data", {}) and WIDGET_MIME not in out.data:
                        parts.append(out.data[mime])
    return "\n".join(parts)


def appears(value: str, text: str) -> bool:
    """``value`` occurs in ``text`` as a whole token: "2" is not found in
    "1.25" or "-2", "0.5" is not found in "10.55"."""
    pattern = r"(?<![\w.+-])" + re.escape(value) + r"(?![\w]|\.\d)"
    return re.search(pattern, text) is not None


def glue_text_problems(nb) -> list[str]:
    glued = glued_text(nb)
    printed = printed_text(nb)
    problems = []
    for i, cell in _markdown_cells(nb):
        for m in ROLE.finditer(_without_code_blocks(cell.source)):
            if m.group("name") != "glue:text":
                continue
            content = m.group("content")
            # myst-nb: `key:fmt`, the format spec after the last colon, "s" by default
            key, _, fmt = content.rpartition(":") if ":" in content else (content, "", "s")
            if "::" in content:
                problems.append(f"cell {i}: {{glue:text}}`{content}` pastes from another notebook")
                continue
            if key not in glued:
                problems.append(f"cell {i}: {{glue:text}}`{content}`: no value is glued as {key!r}")
                continue
            try:
                value = format_plain_text(glued[key], fmt)
            except (TypeError, ValueError) as exc:
                problems.append(f"cell {i}: {{glue:text}}`{content}` cannot be formatted: {exc}")
                continue
            if not appears(value, printed):
                problems.append(f"cell {i}: {{glue:text}}`{content}` = {value!r} is printed in no output")
    return problems


def image_problems(nb) -> list[str]:
    problems = []
    for i, cell in _code_cells(nb):
        alt = cell.metadata.get("mystnb", {}).get("image", {}).get("alt", "")
        displays, images, listing = 0, 0, False
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "scrapbook" in out.get("metadata", {}):
                if any(m.endswith(IMAGE_MIMES) for m in data):
                    problems.append(f"cell {i}: a glued image (glue key "
                                    f"{out.metadata['scrapbook'].get('name')!r}) shows in no notebook")
                continue
            if out.output_type in ("display_data", "execute_result"):
                displays += 1
            if any(m in data for m in IMAGE_MIMES):
                images += 1
            if data.get("text/markdown", "").lstrip().startswith("```"):
                listing = True
            for tag in IMG_TAG.findall(data.get("text/html", "")):
                m = ALT_ATTR.search(tag)
                if not m or not (m.group(1) or m.group(2) or "").strip():
                    problems.append(f"cell {i}: an <img> in an HTML output has no alt text: {_snippet(tag)}")
        if images and not (isinstance(alt, str) and alt.strip()):
            problems.append(f"cell {i}: image output without metadata.mystnb.image.alt: "
                            f"{_snippet(cell.source)}")
        if images and listing:
            problems.append(f"cell {i}: a figure and a listing in one cell")
        if "figure" in cell.metadata.get("mystnb", {}) and displays != 1:
            problems.append(f"cell {i}: a figure cell has {displays} display outputs (myst-nb needs one)")
    return problems


def listing_problems(nb) -> list[str]:
    """A show_source cell is tagged remove-input and shows a Markdown listing."""
    problems = []
    for i, cell in _code_cells(nb):
        if not re.search(r"(^|[^\w.])show_source\(", cell.source, re.MULTILINE):
            continue
        if "remove-input" not in _tags(cell):
            problems.append(f"cell {i}: a show_source cell is not tagged remove-input")
        if not any("text/markdown" in o.get("data", {}) for o in cell.get("outputs", [])):
            problems.append(f"cell {i}: a show_source cell has no stored listing (run the notebook)")
    return problems


def line_problems(nb, limit: int = MAX_LINE) -> list[str]:
    problems = []

    def check(i, what, text):
        for n, line in enumerate(text.splitlines(), 1):
            if len(line) > limit:
                problems.append(f"cell {i}: {what} line {n} has {len(line)} > {limit} characters: "
                                f"{_snippet(line)}")

    for i, cell in _code_cells(nb):
        # The book shows neither the code of a remove-input cell nor the
        # outputs of a remove-output cell (JupyterLab wraps long output lines).
        if not {"remove-input", "remove-cell"} & set(_tags(cell)):
            check(i, "code", cell.source)
        if {"remove-output", "remove-cell"} & set(_tags(cell)):
            continue
        for out in cell.get("outputs", []):
            if "scrapbook" in out.get("metadata", {}):
                continue
            if out.output_type == "stream":
                check(i, "printed", out.text)
            data = out.get("data", {})
            if WIDGET_MIME in data:
                continue  # text/plain is the widget's repr, shown nowhere
            if "text/markdown" in data:
                check(i, "listing" if data["text/markdown"].lstrip().startswith("```") else "markdown",
                      data["text/markdown"])
            elif "text/plain" in data and not any(m in data for m in (*IMAGE_MIMES, "text/html")):
                check(i, "output", data["text/plain"])
    return problems


def _fail(problems: list[str], path: str) -> None:
    assert not problems, f"{path}:\n  " + "\n  ".join(problems)


# ----------------------------------------------------- the repository's notebooks


def test_every_notebook_is_found():
    assert len([p for p in IDS if p.startswith("chapters/")]) >= 6
    assert len([p for p in IDS if p.startswith("exercises/solutions/")]) >= 6


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_kernelspec_is_the_same_everywhere(path):
    _fail(kernelspec_problems(read(path)), path.name)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_literalinclude_and_no_glue_directive(path):
    _fail(directive_problems(read(path)), path.name)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_no_raw_myst_references(path):
    _fail(raw_markup_problems(read(path)), path.name)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_every_glue_text_value_is_printed(path):
    _fail(glue_text_problems(read(path)), path.name)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_images_have_alt_text_and_figure_cells_one_output(path):
    _fail(image_problems(read(path)), path.name)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_listings_are_show_source_outputs(path):
    _fail(listing_problems(read(path)), path.name)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_lines_fit_the_column(path):
    _fail(line_problems(read(path)), path.name)


# ----------------------------------------------- each checker can fail


def _glue_output(key, value_repr):
    return new_output("display_data", data={"application/papermill.record/text/plain": value_repr},
                      metadata={"scrapbook": {"name": key, "mime_prefix": "application/papermill.record/"}})


def test_checker_kernelspec():
    nb = new_notebook(metadata={"kernelspec": {**KERNELSPEC, "display_name": "Python 3"}})
    assert kernelspec_problems(nb)
    nb.metadata.kernelspec = dict(KERNELSPEC)
    assert not kernelspec_problems(nb)


def test_checker_directives():
    nb = new_notebook(cells=[
        new_markdown_cell("```{literalinclude} ../backprop/layers.py\n:pyobject: f\n```"),
        new_markdown_cell(":::{glue:figure} fig_key\n:alt: a\n:::"),
        new_markdown_cell("```{note}\nHi\n```"),
        new_markdown_cell(":::{note}\nFine in JupyterLab\n:::\n\n```python\nx = 1\n```"),
    ])
    problems = directive_problems(nb)
    assert [p.split(":")[0] for p in problems] == ["cell 0", "cell 1", "cell 2"], problems


def test_checker_raw_markup():
    nb = new_notebook(cells=[
        new_markdown_cell("(ch-intro)=\n# Title\n\nSee {ref}`ch-x` and {cite}`post`."),
        new_markdown_cell("{numref}`fig-a`, {cite:p}`b`, {glue}`k`"),
        new_markdown_cell("A [link](03_backward_pass.ipynb), {glue:text}`k:.2f`, $(a)=b$.\n\n"
                          "```text\n{ref}`shown as code`\n```"),
    ])
    problems = raw_markup_problems(nb)
    assert sum(p.startswith("cell 0") for p in problems) == 3, problems
    assert sum(p.startswith("cell 1") for p in problems) == 3, problems
    assert not any(p.startswith("cell 2") for p in problems), problems


def test_checker_glue_text_values():
    glue_cell = new_code_cell("glue_text(...)", outputs=[
        _glue_output("err", "0.000123456"), _glue_output("n", "1084"), _glue_output("hidden", "0.5"),
        _glue_output("name", "'ReLU'"),
        new_output("stream", name="stdout", text="err: 1.23e-04\nn: 1,084\nactivation: ReLU\n"),
    ])
    nb = new_notebook(cells=[
        glue_cell,
        new_markdown_cell("{glue:text}`err:.2e`, {glue:text}`n:,`, {glue:text}`name`"),
    ])
    assert glue_text_problems(nb) == []
    nb.cells.append(new_markdown_cell("{glue:text}`hidden:.2f`, {glue:text}`err:.3e`, "
                                      "{glue:text}`missing:.1f`"))
    problems = glue_text_problems(nb)
    assert len(problems) == 3, problems
    assert "'0.50' is printed in no output" in problems[0]
    assert "'1.235e-04' is printed in no output" in problems[1]
    assert "no value is glued as 'missing'" in problems[2]
    # the glue record itself does not count as printed
    assert not appears("0.50", printed_text(nb)) and not appears("0.5", printed_text(nb))


def test_checker_appears_matches_whole_tokens():
    assert appears("2", "q1: 2 points")
    assert appears("0.50", "loss 0.50.")
    assert not appears("2", "1.25 and -2 and 25")
    assert not appears("0.5", "10.55 and 0.51")


def test_checker_images():
    png = {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}
    nb = new_notebook(cells=[
        new_code_cell("fig", outputs=[new_output("display_data", data=png)]),
        new_code_cell("fig", metadata={"mystnb": {"image": {"alt": "Loss against epoch."},
                                                  "figure": {"caption": "c", "name": "fig-a"}}},
                      outputs=[new_output("display_data", data=png)]),
        new_code_cell("glue('f', fig, display=False)", outputs=[new_output(
            "display_data", data={"application/papermill.record/image/png": "x"},
            metadata={"scrapbook": {"name": "f", "mime_prefix": "application/papermill.record/"}})]),
        new_code_cell("HTML(...)", outputs=[new_output("display_data", data={
            "text/html": '<img src="a.png"><img src="b.png" alt="ok">'})]),
        new_code_cell("show_source(f); fig", metadata={"mystnb": {"image": {"alt": "a"}}}, outputs=[
            new_output("display_data", data={"text/markdown": "```python\ndef f(): pass\n```"}),
            new_output("display_data", data=png)]),
        new_code_cell("fig; fig", metadata={"mystnb": {"image": {"alt": "a"}, "figure": {"caption": "c"}}},
                      outputs=[new_output("display_data", data=png), new_output("display_data", data=png)]),
    ])
    problems = image_problems(nb)
    cells = sorted({int(p.split(":")[0].split()[1]) for p in problems})
    assert cells == [0, 2, 3, 4, 5], problems
    assert sum("<img>" in p for p in problems) == 1, problems


def test_checker_listings():
    md = new_output("display_data", data={"text/markdown": "```python\ndef f(): pass\n```"})
    nb = new_notebook(cells=[
        new_code_cell("show_source(f)", metadata={"tags": ["remove-input"]}, outputs=[md]),
        new_code_cell("show_source(f)", outputs=[md]),
        new_code_cell("show_source(f)", metadata={"tags": ["remove-input"]}),
        new_code_cell("labs.show_source_of_something = 1"),
    ])
    problems = listing_problems(nb)
    assert [p.split(":")[0] for p in problems] == ["cell 1", "cell 2"], problems


def test_checker_lines():
    long = "x = " + "1 + " * 30 + "1"
    nb = new_notebook(cells=[
        new_code_cell(long, outputs=[new_output("stream", name="stdout", text="y" * 89 + "\n")]),
        new_code_cell("w", outputs=[new_output("display_data", data={
            WIDGET_MIME: {"model_id": "m"}, "text/plain": "VBox(" + "c" * 200 + ")"})]),
        new_code_cell("ok = 1", outputs=[new_output("stream", name="stdout", text="z" * 88 + "\n")]),
        new_code_cell(long, metadata={"tags": ["remove-input", "remove-output"]},
                      outputs=[new_output("stream", name="stdout", text="y" * 89 + "\n")]),
    ])
    problems = line_problems(nb)
    assert len(problems) == 2 and all(p.startswith("cell 0") for p in problems), problems


def test_checker_forced_blas_environment():
    """conftest.py stops nbval's second run if OpenBLAS ignored OPENBLAS_CORETYPE."""
    import importlib.util

    # the repository's conftest.py, not tests/conftest.py (which `conftest` names here)
    spec = importlib.util.spec_from_file_location("root_conftest", ROOT / "conftest.py")
    root_conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(root_conftest)
    blas_problems = root_conftest.blas_problems

    assert blas_problems({}) == []
    problems = blas_problems({"OPENBLAS_CORETYPE": "NoSuchKernel"})
    assert problems and "NoSuchKernel" in problems[0]
