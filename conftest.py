"""Repository-wide pytest configuration (applies to the notebooks under nbval).

nbval does not compare plain ``image/png`` outputs (rendering is not part of
what a notebook asserts); figures stored through myst-nb's ``glue`` carry the
same PNG under another MIME type, so they are skipped the same way. Their
text outputs, and everything else, are still compared.
"""

GLUED_IMAGES = (
    "application/papermill.record/image/png",
    "application/papermill.record/image/jpeg",
    "application/papermill.record/image/svg+xml",
)


def pytest_collection_modifyitems(session, config, items):
    seen = set()
    for item in items:
        notebook = getattr(item, "parent", None)
        if type(notebook).__name__ == "IPyNbFile" and id(notebook) not in seen:
            seen.add(id(notebook))
            notebook.skip_compare = tuple(notebook.skip_compare) + GLUED_IMAGES
