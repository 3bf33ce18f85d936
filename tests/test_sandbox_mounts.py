"""The sandbox's mounts come in an order that keeps a checkout under /tmp visible.

bwrap applies its mount arguments in order, so an empty ``--tmpfs /tmp`` given
after the binds of the virtual environment and the package would hide them
when the checkout lives under /tmp (as a CI clone may): every kernel would
then fail to start and every question time out.
"""

import os
import sys

from backprop.grade import sandbox


def _args():
    view = {"package": "/tmp/view/backprop", "hide": []}
    return sandbox.command(view, "/tmp/ro", "/tmp/box", ["echo"], memory_mb=256)


def _index(args, *seq):
    for i in range(len(args) - len(seq) + 1):
        if tuple(args[i:i + len(seq)]) == seq:
            return i
    raise AssertionError(f"{seq} not in the bwrap command")


def test_the_empty_tmp_comes_before_every_bind():
    args = _args()
    tmp = _index(args, "--tmpfs", "/tmp")
    binds = [i for i, a in enumerate(args) if a in ("--ro-bind", "--bind")]
    assert binds and tmp < min(binds)
    # and the environment and the package are among those binds
    prefix = os.path.abspath(sys.prefix)
    if not prefix.startswith("/usr/"):
        assert _index(args, "--ro-bind", prefix, prefix) > tmp
    assert _index(args, "--ro-bind", "/tmp/view/backprop", sandbox.package_dir()) > tmp
