"""``python -m backprop.grade``: the batch grader's command line (see ``cli``)."""

import sys

from backprop.grade.cli import main

sys.exit(main())
