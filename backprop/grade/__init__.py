"""The grading wing: the exercises' checks and the batch grader.

- ``backprop.grade.checks``: one module per exercise; each question is defined
  once (cases, how the learner's function is called, the comparison) and
  serves both the instant feedback in the notebook (``check``) and the batch
  grader.
- ``python -m backprop.grade PATH... --csv grades.csv``: the batch grader
  (``cli``). Submissions are found and read before anything runs
  (``intake``); each runs in a sandboxed kernel (``sandbox``, ``kernel``);
  its answers come back as plain data (``plain``) to a process that never
  runs learner code and judges them (``runner``); the rows go to an atomic
  CSV (``gradebook``) and the instructor's page (``report``).
- ``demo``: a three-question exercise that the grader's own tests use.

Nothing in the reference implementation or the labs imports this wing.
"""
