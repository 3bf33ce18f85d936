"""Plain data: the only thing that crosses between a learner's kernel and the checks.

A value is encoded as one JSON document (``data.json``) plus one ``.npy`` file
per array. Nothing in either can carry code: JSON is read with the standard
parser, arrays with ``numpy.load(allow_pickle=False)``. What the encoder
cannot express becomes ``Opaque(type name)``, which compares equal to
nothing and is not a number.

The kernel side (``encode``/``write``) trusts nothing it is given either,
but its output is never trusted: the checking side reads it with ``read``,
which opens every path component without following links, refuses
anything but regular files, caps sizes and nesting, and returns only
``None``, ``bool``, ``int``, ``float``, ``str``, ``list``, ``tuple``,
``dict`` (string keys), ``float64`` arrays and ``Opaque``.

Tags in the JSON: ``{"t": [...]}`` a tuple, ``{"a": "a3.npy"}`` an array,
``{"d": [[key, value], ...]}`` a dict, ``{"o": "type"}`` an opaque value;
a JSON list is a list, other JSON scalars are themselves.
"""

from __future__ import annotations

import io
import json
import os
import stat

MAX_DEPTH = 32  # nesting of lists, tuples and dicts
MAX_ITEMS = 100_000  # items in one list, tuple or dict
MAX_JSON_BYTES = 16 * 2**20
MAX_ARRAY_BYTES = 256 * 2**20  # all arrays of one document together
MAX_ARRAYS = 10_000
MAX_STR = 100_000


class Opaque:
    """A value that plain data cannot hold (a function, a generator, an object): only its type name."""

    __slots__ = ("kind",)

    def __init__(self, kind: str):
        self.kind = str(kind)[:80]

    def __repr__(self):
        return f"<{self.kind}>"

    def __eq__(self, other):
        return False

    __hash__ = object.__hash__


def type_name(x) -> str:
    """The type name to show for ``x`` (an ``Opaque`` shows the learner's type)."""
    return x.kind if isinstance(x, Opaque) else type(x).__name__


# ---------------------------------------------------------------- encoding (either side)

def encode(value, arrays: list) -> object:
    """``value`` as JSON-ready data; arrays are appended to ``arrays`` and referenced by name."""
    import numpy as np

    def enc(v, depth):
        if v is None or type(v) in (bool, str):
            return v[:MAX_STR] if type(v) is str else v
        if type(v) is int:
            return v if abs(v) < 2**63 else float(v)
        if type(v) is float:
            return v
        if depth > MAX_DEPTH:
            return {"o": "too deeply nested"}
        if isinstance(v, (np.bool_, np.integer, np.floating)):
            return v.item()
        if isinstance(v, np.ndarray):
            if v.dtype.kind not in "biuf" or len(arrays) >= MAX_ARRAYS:
                return {"o": f"ndarray of {v.dtype}"}
            arrays.append(np.array(v, order="C"))  # a copy; ascontiguousarray would make a 0-d array 1-d
            return {"a": f"a{len(arrays) - 1}.npy"}
        if type(v) in (list, tuple):
            if len(v) > MAX_ITEMS:
                return {"o": f"{type(v).__name__} of {len(v)} items"}
            items = [enc(x, depth + 1) for x in v]
            return items if type(v) is list else {"t": items}
        if type(v) is dict:
            if len(v) > MAX_ITEMS or not all(type(k) is str for k in v):
                return {"o": "dict"}
            return {"d": [[k, enc(x, depth + 1)] for k, x in v.items()]}
        return {"o": type(v).__name__}

    return enc(value, 0)


def write(value, directory: str) -> None:
    """Encode ``value`` into ``directory`` (created): ``data.json`` and ``aK.npy``."""
    import numpy as np

    os.makedirs(directory, exist_ok=True)
    arrays: list = []
    doc = encode(value, arrays)
    for i, a in enumerate(arrays):
        with open(os.path.join(directory, f"a{i}.npy"), "wb") as f:
            np.save(f, a, allow_pickle=False)
    with open(os.path.join(directory, "data.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f)


def roundtrip(value, keep_dtype=False):
    """``decode(encode(value))`` in memory: what the other side would see after a grading run."""
    import numpy as np

    arrays: list = []
    doc = json.loads(json.dumps(encode(value, arrays)))
    blobs = {}
    for i, a in enumerate(arrays):
        buf = io.BytesIO()
        np.save(buf, a, allow_pickle=False)
        blobs[f"a{i}.npy"] = buf.getvalue()
    return decode(doc, blobs.get, keep_dtype)


# ---------------------------------------------------------------- decoding (checking side)

class PlainError(Exception):
    """The data could not be read as plain data (missing, too large, malformed)."""


def decode(doc, get_blob, keep_dtype=False):
    """Rebuild a value from a JSON document; ``get_blob(name)`` returns an array file's bytes or None.

    Arrays become plain ``float64`` arrays (what the checks compare), or keep
    their numeric dtype with ``keep_dtype`` (the inputs the kernel receives:
    integer labels stay integers).
    """
    import numpy as np

    budget = [MAX_ARRAY_BYTES]

    def load(name):
        if not isinstance(name, str) or not name.endswith(".npy") or "/" in name or name.startswith("."):
            return Opaque("bad array reference")
        blob = get_blob(name)
        if blob is None or len(blob) > budget[0]:
            return Opaque("missing or oversized array")
        budget[0] -= len(blob)
        try:
            arr = np.load(io.BytesIO(blob), allow_pickle=False)
        except Exception:  # noqa: BLE001 - malformed file: an opaque value, not a crash
            return Opaque("unreadable array")
        if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biuf":
            return Opaque("non-numeric array")
        return np.array(arr, dtype=None if keep_dtype else np.float64)  # a fresh, plain array

    def dec(v, depth):
        if v is None or type(v) in (bool, int):
            return v
        if type(v) is float:
            return float(v)
        if type(v) is str:
            return str(v)
        if depth > MAX_DEPTH:
            return Opaque("too deeply nested")
        if type(v) is list:
            return [dec(x, depth + 1) for x in v]
        if type(v) is dict and len(v) == 1:
            (tag, body), = v.items()
            if tag == "t" and type(body) is list:
                return tuple(dec(x, depth + 1) for x in body)
            if tag == "a":
                return load(body)
            if tag == "d" and type(body) is list and all(
                    type(p) is list and len(p) == 2 and type(p[0]) is str for p in body):
                return {str(k): dec(x, depth + 1) for k, x in body}
            if tag == "o":
                return Opaque(body if type(body) is str else "object")
        return Opaque("malformed")

    return dec(doc, 0)


def _open_under(root: str, relparts: list[str]) -> int:
    """An fd for ``root/relparts...``, following no link on the way; OSError otherwise."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        for part in relparts:
            nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = nxt
    except BaseException:
        os.close(fd)
        raise
    return fd


def _read_regular(dir_fd: int, name: str, cap: int) -> bytes | None:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > cap:
            return None
        chunks, left = [], cap + 1
        while left > 0:
            b = os.read(fd, min(left, 1 << 20))
            if not b:
                break
            chunks.append(b)
            left -= len(b)
        data = b"".join(chunks)
        return data if len(data) <= cap else None
    finally:
        os.close(fd)


def read(root: str, *relparts: str, keep_dtype: bool = False):
    """Read plain data written by ``write`` into ``root/relparts`` (an untrusted folder).

    Raises ``PlainError`` when there is nothing readable there.
    """
    try:
        fd = _open_under(root, list(relparts))
    except OSError as e:
        raise PlainError(f"no output ({type(e).__name__})") from None
    try:
        raw = _read_regular(fd, "data.json", MAX_JSON_BYTES)
        if raw is None:
            raise PlainError("no readable data.json")
        try:
            doc = json.loads(raw.decode("utf-8", "surrogatepass"))
        except (ValueError, RecursionError, UnicodeDecodeError) as e:
            raise PlainError(f"malformed data.json ({type(e).__name__})") from None
        return decode(doc, lambda name: _read_regular(fd, name, MAX_ARRAY_BYTES), keep_dtype)
    finally:
        os.close(fd)
