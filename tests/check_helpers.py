"""Assertions shared by the per-exercise check tests (tests/test_checks_exNN.py)."""


def assert_hint(res, *words):
    """``res`` failed, and the hints of its failed cases name every one of ``words``."""
    assert res.status == "failed", res.text()
    hints = " ".join(c.hint for c in res.cases if not c.passed)
    for w in words:
        assert w in hints, (w, res.text())
