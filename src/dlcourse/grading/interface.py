"""Graded test cells run in the grader, reading the student's names through a narrow interface (Instructors' guide).

The trusted grader process (nbgrader's autograde, which never executes student code) runs each
graded test cell, visible checks and hidden tests alike, with its source exactly as written.
Names that the cell does not define itself and that the notebook's set-up cell (run here, in
the grader, from the gradebook's locked copy) does not define are read from the student's
kernel through :class:`StudentKernel`:

* a value comes back as plain data (:mod:`dlcourse.grading.plain`): None, bool, int, float,
  str, numeric arrays, lists, tuples and dicts of those, pandas frames;
* a Keras model comes back as its config and weights and is rebuilt here with ``safe_mode``;
* anything else (a function, a ``History``) is a :class:`Remote` handle: calling it sends the
  arguments as plain data, runs the student's function in the kernel and returns plain data;
  reading an attribute or an item returns plain data or another handle.

Hidden test code and expected values never reach the kernel: only names, attribute names and
the arguments of calls do. A kernel that lies can only send data, which the test checks
against its own references; malformed data is an :class:`InterfaceError` (the test fails and
the submission is flagged).
"""

from __future__ import annotations

import ast
import base64
import builtins
import contextlib
import io
import json
import linecache
import re
import traceback
from typing import Any, Callable

from . import plain

#: Largest reply accepted from the kernel (bytes of JSON).
MAX_REPLY = 256 << 20


class InterfaceError(RuntimeError):
    """The kernel's answer was not valid plain data (a broken or tampered kernel)."""


class StudentTimeout(TimeoutError):
    """The student's code did not answer within the cell timeout."""


class Remote:
    """An object that stays in the student's kernel; attributes, items and calls are remote."""

    __slots__ = ("_kernel", "_id", "_type")

    def __init__(self, kernel: "StudentKernel", ident: int, type_name: str):
        object.__setattr__(self, "_kernel", kernel)
        object.__setattr__(self, "_id", ident)
        object.__setattr__(self, "_type", type_name)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__") and name not in ("__name__", "__doc__", "__qualname__"):
            raise AttributeError(name)
        return self._kernel.request({"op": "getattr", "h": self._id, "name": name})

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._kernel.call(self._id, args, kwargs)

    def __getitem__(self, key: Any) -> Any:
        return self._kernel.request({"op": "getitem", "h": self._id, "args": self._kernel.encode_args([key])})

    def __len__(self) -> int:
        n = self._kernel.request({"op": "len", "h": self._id})
        if type(n) is not int:
            raise InterfaceError("len() of a student's object is not an int")
        return n

    def __iter__(self):
        items = self._kernel.request({"op": "iter", "h": self._id})
        if type(items) is not list:
            raise InterfaceError("iterating a student's object gave no list")
        return iter(items)

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return f"<the notebook's {self._type}>"

    def __setattr__(self, name, value):
        raise AttributeError("a student's object cannot be changed from a test")


_TYPES: dict[str, type] = {}


def _remote_class(type_name: str) -> type:
    """A subclass of :class:`Remote` named like the student's type, so messages name it."""
    name = type_name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,59}", type_name or "") else "object"
    if name not in _TYPES:
        _TYPES[name] = type(name, (Remote,), {"__slots__": ()})
    return _TYPES[name]


class StudentKernel:
    """Requests to the agent in the student's kernel (:mod:`dlcourse.grading.agent`).

    ``send(expression) -> reply content or None`` runs one user expression in the kernel and
    returns the execute reply's content (None on timeout). ``local_refs`` maps the grader's
    set-up functions to names the kernel knows (passed by name, never as code).
    """

    def __init__(self, send: Callable[[str], dict | None], local_refs: dict[int, str] | None = None):
        self.send = send
        self.local_refs = local_refs or {}
        self.requests = 0
        self.bytes = 0
        self.problems: list[str] = []

    def _ref(self, value: Any) -> Any:
        name = self.local_refs.get(id(value))
        return {"__name__": name} if name else None

    def encode_args(self, args: Any) -> Any:
        """Arguments as plain data: the grader's own objects never cross, except as data."""
        return [plain.encode(a, None, self._ref_or_remote) for a in args]

    def _ref_or_remote(self, value: Any) -> Any:
        if isinstance(value, Remote):
            return {"__h__": object.__getattribute__(value, "_id")}
        return self._ref(value)

    def _resolve_handle(self, data: dict) -> Remote:
        return _remote_class(str(data.get("type", "object")))(self, data["__h__"], str(data.get("type", "object")))

    def request(self, req: dict, keras_args: list | None = None) -> Any:
        text = base64.b64encode(json.dumps(req, separators=(",", ":")).encode()).decode("ascii")
        expression = f"__import__('dlcourse.grading.agent', fromlist=['handle']).handle('{text}')"
        self.requests += 1
        content = self.send(expression)
        if content is None:
            raise StudentTimeout("the notebook's code did not answer in time (it was interrupted)")
        result = (content.get("user_expressions") or {}).get("r")
        if content.get("status") != "ok" or not isinstance(result, dict) or result.get("status") != "ok":
            raise self._bad("the kernel did not answer the grader's request")
        raw = (result.get("data") or {}).get("text/plain")
        if not isinstance(raw, str) or len(raw) > MAX_REPLY:
            raise self._bad("the kernel's answer is missing or too large")
        self.bytes += len(raw)
        try:
            node = ast.parse(raw.strip(), mode="eval").body
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
                raise ValueError("not a string")
            reply = json.loads(node.value)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            raise self._bad("the kernel's answer is not valid data") from None
        if not isinstance(reply, dict):
            raise self._bad("the kernel's answer is not valid data")
        if "error" in reply:
            err = reply["error"]
            if not (isinstance(err, list) and len(err) == 2 and all(isinstance(e, str) for e in err)):
                raise self._bad("the kernel's error is not valid data")
            raise _student_exception(err[0], err[1])
        try:
            value = plain.decode(reply.get("ok"), self._resolve_handle)
            if keras_args:
                for entry in reply.get("updates") or []:
                    index, weights = entry
                    if type(index) is int and 0 <= index < len(keras_args) and keras_args[index] is not None:
                        keras_args[index].set_weights([plain.decode(w) for w in weights])
        except plain.PlainDataError as exc:
            raise self._bad(f"the kernel's answer is not plain data ({exc})") from None
        return value

    def _bad(self, message: str) -> InterfaceError:
        self.problems.append(message)
        return InterfaceError(message)

    def call(self, ident: int, args: tuple, kwargs: dict) -> Any:
        encoded = self.encode_args(args)
        kw = plain.encode({str(k): v for k, v in kwargs.items()}, None, self._ref_or_remote)
        keras_args = [a if plain.is_keras(a) else None for a in args]
        return self.request({"op": "call", "h": ident, "args": encoded, "kwargs": kw}, keras_args)

    def get(self, name: str) -> Any:
        return self.request({"op": "get", "name": name})


_BUILTIN_ERRORS = {name for name, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, Exception)}


def _student_exception(name: str, message: str) -> Exception:
    """The student's exception, rebuilt as a builtin type where it is one, else a RuntimeError."""
    if name in _BUILTIN_ERRORS and name not in ("SystemExit", "KeyboardInterrupt"):
        try:
            return getattr(builtins, name)(message)
        except Exception:  # noqa: BLE001
            pass
    return RuntimeError(f"{name}: {message}")


class TestNamespace(dict):
    """Globals of one test cell: its own names, then the set-up's, then the student's (remote)."""

    def __init__(self, setup: dict, kernel: StudentKernel):
        super().__init__(setup)
        self.kernel = kernel

    def __missing__(self, name: str) -> Any:
        if name in vars(builtins) or name.startswith("__"):
            raise KeyError(name)
        try:
            value = self.kernel.get(name)
        except NameError:
            raise KeyError(name) from None
        self[name] = value
        return value


def setup_refs(setup: dict) -> dict[int, str]:
    """The set-up cell's own functions, passed to the kernel by name (it defined them too)."""
    import types

    return {id(v): k for k, v in setup.items() if isinstance(v, types.FunctionType) and not k.startswith("_")}


def run_setup(sources: list[str]) -> dict:
    """Run the notebook's locked set-up cells in the grader; their namespace (trusted code only)."""
    ns: dict = {"__name__": "__main__", "__builtins__": builtins}
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        for i, source in enumerate(sources):
            exec(compile(_strip_magics(source), f"<set-up cell {i + 1}>", "exec"), ns)  # noqa: S102
    return ns


def _strip_magics(source: str) -> str:
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def run_test(source: str, name: str, setup: dict, kernel: StudentKernel, max_output: int = 100_000) -> list[dict]:
    """Run one test cell in the grader; its outputs as nbformat dicts (an ``error`` output when it failed)."""
    filename = f"<test {name}>"
    code_text = _strip_magics(source)
    linecache.cache[filename] = (len(code_text), None, code_text.splitlines(True), filename)
    ns = TestNamespace(setup, kernel)
    out = io.StringIO()
    outputs: list[dict] = []
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            exec(compile(code_text, filename, "exec"), ns)  # noqa: S102  (the instructor's test cell)
        error = None
    except BaseException as exc:  # noqa: BLE001  (a failed test, whatever it raised)
        if type(exc).__name__ in ("DeadKernelError",):
            raise
        error = exc
    finally:
        linecache.cache.pop(filename, None)
    text = out.getvalue()
    if text:
        outputs.append({"output_type": "stream", "name": "stdout", "text": text[:max_output]})
    if error is not None:
        outputs.append(error_output(error, filename, code_text))
    return outputs


def error_output(error: BaseException, filename: str, code_text: str) -> dict:
    """An nbformat ``error`` output in IPython's style: the test cell's lines, then the message."""
    lines = code_text.splitlines()
    ename = type(error).__name__
    evalue = str(error)
    tb = [f"\x1b[0;31m{'-' * 75}\x1b[0m", f"\x1b[0;31m{ename}\x1b[0m{' ' * max(1, 42 - len(ename))}Traceback (most recent call last)"]
    for frame, lineno in traceback.walk_tb(error.__traceback__):
        if frame.f_code.co_filename != filename:
            continue
        text = lines[lineno - 1] if 0 < lineno <= len(lines) else ""
        tb.append(f"Cell In[test], line {lineno}\n\x1b[0;32m----> {lineno}\x1b[0m {text}")
    tb.append(f"\x1b[0;31m{ename}\x1b[0m: {evalue}")
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": tb}


__all__ = ["InterfaceError", "Remote", "StudentKernel", "StudentTimeout", "TestNamespace", "run_setup", "run_test",
           "setup_refs", "error_output"]
