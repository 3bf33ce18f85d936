"""nbgrader settings for running nbgrader's own commands in exercises/ (optional).

`make exercises` (scripts/make_exercises.py) does not need a course directory
and does not read this file: it applies nbgrader's ClearSolutions and
ClearOutput preprocessors directly, with the same delimiters and stub as here
(plus `name = None` stubs for top-level answer variables). This file lets
`nbgrader validate exercises/exNN_name.ipynb` and a formgrader setup agree.
"""

c = get_config()  # noqa: F821 (provided by nbgrader's config loader)

c.ClearSolutions.begin_solution_delimeter = "BEGIN SOLUTION"
c.ClearSolutions.end_solution_delimeter = "END SOLUTION"
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.enforce_metadata = True
