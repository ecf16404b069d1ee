"""The kernel's side of the grading interface: answers the grader's requests with plain data (Instructors' guide).

Runs inside the student's (sandboxed) kernel, which is untrusted: the student may replace or
patch this module, and the grader treats whatever comes back as data to be checked, never as
code or objects. The grader sends one request per ``execute_request`` as a user expression
``handle("<base64 JSON>")``; the answer is a JSON string.

Requests (``op``): ``get`` a name of the notebook's namespace, ``getattr``/``getitem``/``len``/
``iter`` on a handle, ``call`` a handle with plain-data arguments. Objects that cannot cross as
plain data stay here, in a table of handles; Keras models and layers cross as config and weights
too (see :mod:`dlcourse.grading.plain`). Arguments arrive by value (a Keras object is rebuilt
here); nothing goes back into the grader's objects. A call with ``return_args`` answers its
result and the arguments after the call, which the grader rebuilds as new objects.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from . import plain

_handles: dict[int, Any] = {}
_ids: dict[int, int] = {}


def _handle(obj: Any) -> int:
    key = id(obj)
    if key in _ids and _handles.get(_ids[key]) is obj:
        return _ids[key]
    n = len(_handles) + 1
    _handles[n] = obj
    _ids[key] = n
    return n


def _namespace() -> dict:
    from IPython import get_ipython

    return get_ipython().user_ns


def _resolve_handle(data: dict) -> Any:
    try:
        return _handles[data["__h__"]]
    except KeyError:
        raise plain.PlainDataError("unknown handle") from None


def _resolve_name(name: str) -> Any:
    ns = _namespace()
    if name not in ns:
        raise NameError(f"name {name!r} is not defined in the notebook")
    return ns[name]


def _answer(request: dict) -> Any:
    op = request["op"]
    if op == "get":
        return _resolve_name(request["name"])
    target = _handles[request["h"]]
    if op == "getattr":
        return getattr(target, request["name"])
    if op == "len":
        return len(target)
    if op == "iter":
        return list(target)
    args = plain.decode(request.get("args", []), _resolve_handle, _resolve_name)
    kwargs = plain.decode(request.get("kwargs", {"__d__": []}), _resolve_handle, _resolve_name)
    if op == "getitem":
        return target[args[0]]
    if op == "call":
        result = target(*args, **{str(k): v for k, v in kwargs.items()})
        if request.get("return_args"):
            return {"result": result, "args": list(args)}
        return result
    raise ValueError(f"unknown request {op!r}")


def handle(text: str) -> str:
    """Answer one request (base64 JSON); a JSON string: ``{"ok": data}`` or ``{"error": ...}``."""
    try:
        request = json.loads(base64.b64decode(text))
        value = _answer(request)
        return json.dumps({"ok": plain.encode(value, _handle)}, separators=(",", ":"))
    except BaseException as exc:  # noqa: BLE001  (the student's exception, reported as data)
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        return json.dumps({"error": [type(exc).__name__[:80], str(exc)[:2000]]})
