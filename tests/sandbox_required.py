"""The grader's tests need bubblewrap: skip with the reason without it, fail in CI (``CI=true``)."""

import os
import shutil

import pytest


def require_sandbox():
    if shutil.which("bwrap"):
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail("bubblewrap (bwrap) is missing in CI: apt-get install bubblewrap")
    pytest.skip("bubblewrap (bwrap) is not installed: apt-get install bubblewrap")
