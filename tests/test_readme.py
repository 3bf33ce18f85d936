"""The README's sample feedback is what the check really prints."""

import re
from pathlib import Path

from backprop.grade.checks import run_question

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_feedback_sample_is_what_exercise_3_prints():
    text = README.read_text(encoding="utf-8")
    block = re.search(r"```text\n(\s*q1 \"dense layer backward\".*?)```", text, re.S)
    assert block, "README has no feedback sample for ex03 q1"
    sample = "\n".join(line.strip() for line in block.group(1).strip().splitlines())

    def dense_backward(dout, x, W):          # dW transposed, the README's slip
        return dout @ W.T, (x.T @ dout).T, dout.sum(axis=0)

    result = run_question("ex03_backward_pass", "q1", {"dense_backward": dense_backward})
    printed = "\n".join(line.strip() for line in result.text().strip().splitlines())
    assert printed == sample
