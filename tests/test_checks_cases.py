"""Every question's cases, as the grader draws them: plain data from the seed it is given.

The notebook's ``check`` draws from ``NOTEBOOK_SEED`` and the batch grader from a
secret seed, so an answer table built on the notebook's inputs must not match the
grader's; and the case names, which nbval compares in the stored feedback and the
report shows, must not change with the draw.
"""

import numpy as np
import pytest

from backprop.grade.checks import EXERCISES
from backprop.grade.checks.core import NOTEBOOK_SEED, make_cases
from backprop.grade.plain import roundtrip

# ex04 q3 is about ten fixed seeds by design (the README says so): its inputs are not secret.
FIXED_BY_DESIGN = {("ex04_training_xor", "q3")}
WITH_CASES = [(ex, q.id) for ex, qs in sorted(EXERCISES.items()) for q in qs if q.cases is not None]


def _question(ex, qid):
    return next(q for q in EXERCISES[ex] if q.id == qid)


def _leaves(x):
    if isinstance(x, (list, tuple)):
        for v in x:
            yield from _leaves(v)
    elif isinstance(x, dict):
        for k in sorted(x):
            yield from _leaves(x[k])
    else:
        yield x


def _same(a, b):
    la, lb = list(_leaves(a)), list(_leaves(b))
    return len(la) == len(lb) and all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(la, lb))


# Part II's function questions, each in a notebook that says "Use NumPy only" (or "NumPy and math")
PART_TWO = {"ex07_numerical_stability": ["q1", "q2", "q3"], "ex08_initialisation": ["q1", "q2"],
            "ex09_batch_normalisation": ["q1", "q2", "q3"], "ex10_training_in_practice": ["q1", "q2", "q3"]}


@pytest.mark.parametrize("ex", sorted(PART_TWO))
def test_part_two_function_questions_have_cases_and_are_numpy_only(ex):
    assert [q.id for q in EXERCISES[ex] if q.cases is not None] == PART_TWO[ex]
    assert [q.id for q in EXERCISES[ex] if q.numpy_only] == PART_TWO[ex]


@pytest.mark.parametrize("ex,qid", WITH_CASES)
def test_cases_are_plain_and_named_independently_of_the_draw(ex, qid):
    q = _question(ex, qid)
    a, b = make_cases(q, NOTEBOOK_SEED), make_cases(q, [987654321, 3])
    assert [n for n, _ in a] == [n for n, _ in b]
    assert all(isinstance(n, str) and isinstance(args, tuple) for n, args in a)
    assert _same(roundtrip(a, keep_dtype=True), a)          # plain data: survives the transport
    if (ex, qid) in FIXED_BY_DESIGN:
        assert _same(a, b)
    else:
        assert not _same(a, b), "the grader's secret seed must change the inputs"


def test_zero_dimensional_arrays_keep_their_shape():
    """ex05's "scalars 1e-12 vs 0" sends 0-d arrays; a learner's 0-d result must not come back as (1,)."""
    for keep in (True, False):
        back = roundtrip((np.array(1e-12), np.array(3, dtype=np.int64), np.ones((2, 0))), keep_dtype=keep)
        assert [a.shape for a in back] == [(), (), (2, 0)]
    assert roundtrip(np.array(3, dtype=np.int64), keep_dtype=True).dtype == np.int64
