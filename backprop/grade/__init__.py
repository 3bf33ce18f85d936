"""The grading wing: the exercises' checks and the batch grader.

- ``backprop.grade.checks``: one module per exercise; each question is defined
  once and serves both the instant feedback in the notebook (``check``) and
  the batch grader.
- ``python -m backprop.grade PATH... --csv grades.csv``: the batch grader
  (``cli``), which runs each submission in its own kernel (``runner``,
  ``kernel``) and checks its answers in a separate process (``worker``).
- ``demo``: a three-question exercise that the grader's own tests use.

Nothing in the reference implementation or the labs imports this wing.
"""
