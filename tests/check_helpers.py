"""Assertions shared by the per-exercise check tests (tests/test_checks_exNN.py)."""


def assert_hint(res, *words):
    """``res`` failed, and the hints of its failed cases name every one of ``words``."""
    assert res.status == "failed", res.text()
    hints = " ".join(c.hint for c in res.cases if not c.passed)
    for w in words:
        assert w in hints, (w, res.text())


def assert_registered(exercise, question_ids, points, correct):
    """The exercise has exactly these questions and points, and ``correct``
    answers every name they ask for."""
    from backprop.grade.checks import EXERCISES

    qs = EXERCISES[exercise]
    assert [q.id for q in qs] == list(question_ids)
    assert sum(q.points for q in qs) == points
    assert {n for q in qs for n in q.answers} == set(correct)


def assert_right_answer_passes(exercise, question, correct):
    """The reference answers in ``correct`` get full marks."""
    from backprop.grade.checks import run_question

    res = run_question(exercise, question, correct)
    assert res.status == "passed", res.text()
    assert res.points == res.max_points


def assert_stub_not_attempted(exercise, question, correct):
    """An answer left as the student notebook has it (``None``, or a function
    that raises NotImplementedError) is "not attempted", not failed."""
    from backprop.grade.checks import EXERCISES, run_question

    def stub(*args, **kwargs):
        raise NotImplementedError()

    name = next(q for q in EXERCISES[exercise] if q.id == question).answers[0]
    res = run_question(exercise, question, {**correct, name: None})
    assert res.status == "not_attempted", res.text()
    if callable(correct[name]):
        res = run_question(exercise, question, {**correct, name: stub})
        assert res.status == "not_attempted", res.text()
