"""Graded test cells run in the grader, reading the student's names through a narrow interface (Instructors' guide).

The trusted grader process (nbgrader's autograde, which never executes student code) runs each
graded test cell, visible checks and hidden tests alike, with its source exactly as written.
Names that the cell does not define itself and that the notebook's set-up cell (run here, in
the grader, from the gradebook's locked copy) does not define are read from the student's
kernel through :class:`StudentKernel`:

* a value comes back as plain data (:mod:`dlcourse.grading.plain`): None, bool, int, float,
  str, numeric arrays, lists, tuples and dicts of those, pandas frames;
* a Keras model comes back as its config and weights and is rebuilt here with ``safe_mode``;
  one that cannot be rebuilt is refused and flagged, never used through a handle, and an object
  that only looks like a model (a ``predict`` method) is never asked to predict;
* anything else (a function, a ``History``) is a :class:`Remote` handle: calling it sends the
  arguments as plain data (by value: what the call does to them never flows back into the
  grader's objects), runs the student's function in the kernel and returns plain data;
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
MAX_REPLY = 128 << 20
#: Most bytes one test cell may receive from the kernel, all its requests together.
MAX_CELL_BYTES = 256 << 20
#: Most JSON values (counted by their brackets and commas, before parsing) in one reply: decoding
#: costs about 50 bytes a value, so a reply of nested empty lists cannot take the grader's memory.
MAX_REPLY_VALUES = 2_000_000


#: Methods of a model: never called on an object that stays in the kernel (see :meth:`Remote.__getattr__`).
MODEL_METHODS = frozenset({"predict", "predict_on_batch", "predict_step", "evaluate", "test_on_batch", "fit",
                           "train_on_batch", "get_weights", "set_weights"})


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
        if name in MODEL_METHODS:
            # Models are evaluated in the grader only, as Keras models rebuilt from config and weights:
            # an object of the notebook's that merely has a predict method (one that looks the answers
            # up, say) never receives the grader's rows.
            raise TypeError(f"the notebook's {self._type} is not a Keras model: the grader evaluates only "
                            "Keras models it rebuilds from their config and weights")
        return self._kernel.request({"op": "getattr", "h": self._id, "name": name})

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._kernel.call(self._id, args, kwargs)

    def _call_returning_arguments(self, *args: Any, **kwargs: Any) -> tuple[Any, list]:
        """Call the student's function; (its result, the student's copies of the arguments after the call).

        Arguments go by value: the grader's objects are never changed. A check that needs what the
        function did to an argument (``set_neuron_weights(layer, ...)``) reads these copies, which are
        new objects rebuilt here (:func:`dlcourse.checks._common.call_returning_arguments`).
        """
        reply = self._kernel.call(self._id, args, kwargs, return_args=True)
        if not (type(reply) is dict and set(reply) == {"result", "args"} and type(reply["args"]) is list
                and len(reply["args"]) == len(args)):
            raise self._kernel._bad("the kernel's answer to a call is not valid data")
        return reply["result"], reply["args"]

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
        self.calls = 0
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

    def request(self, req: dict) -> Any:
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
        if self.bytes > MAX_CELL_BYTES:
            raise self._bad("the kernel's answers to this test are too large")
        if raw.count("[") + raw.count("{") + raw.count(",") > MAX_REPLY_VALUES:
            raise self._bad("the kernel's answer has too many values")
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
        except plain.PlainDataError as exc:
            raise self._bad(f"the kernel's answer is not plain data ({exc})") from None
        return value

    def _bad(self, message: str) -> InterfaceError:
        self.problems.append(message)
        return InterfaceError(message)

    def call(self, ident: int, args: tuple, kwargs: dict, return_args: bool = False) -> Any:
        """Call a student's function by value: nothing the call changes flows back into the grader's
        arguments; with ``return_args``, a dict of the result and the student's copies of the arguments."""
        self.calls += 1
        encoded = self.encode_args(args)
        kw = plain.encode({str(k): v for k, v in kwargs.items()}, None, self._ref_or_remote)
        req = {"op": "call", "h": ident, "args": encoded, "kwargs": kw}
        if return_args:
            req["return_args"] = True
        return self.request(req)

    def get(self, name: str) -> Any:
        return self.request({"op": "get", "name": name})


_BUILTIN_ERRORS = {name for name, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, Exception)}


def _student_exception(name: str, message: str) -> Exception:
    """The student's exception, rebuilt as a builtin type where it is one, else a RuntimeError."""
    error: Exception = RuntimeError(f"{name}: {message}")
    if name in _BUILTIN_ERRORS and name not in ("SystemExit", "KeyboardInterrupt"):
        try:
            error = getattr(builtins, name)(message)
        except Exception:  # noqa: BLE001
            pass
    error.from_student = True  # raised by the student's code, not by a check (the class report's kinds)
    return error


# --- the trusted namespace comes from the release, not from the submission -----------------------

class _Binder(ast.NodeVisitor):
    """Names a cell binds at module level (functions, classes, assignments, imports, loop and
    ``with`` targets, at any depth of ``if``/``for``/``try``), not those local to its functions."""

    def __init__(self):
        self.names: set[str] = set()

    def visit_Name(self, node):
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self.names.add(node.id)

    def _scope(self, node):
        self.names.add(node.name)
        for dec in node.decorator_list:
            self.visit(dec)

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scope

    def visit_Lambda(self, node):
        pass

    def _comprehension(self, node):
        pass

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension

    def visit_Import(self, node):
        for alias in node.names:
            self.names.add((alias.asname or alias.name).split(".")[0])

    visit_ImportFrom = visit_Import

    def visit_Global(self, node):
        self.names.update(node.names)


def _tree(source: str) -> ast.Module | None:
    try:
        return ast.parse(_strip_magics(source))
    except SyntaxError:
        return None


def bound_names(source: str) -> set[str]:
    """The names a cell's code binds at module level, from its syntax tree (Instructors' guide)."""
    tree = _tree(source)
    if tree is None:
        return set()
    binder = _Binder()
    binder.visit(tree)
    return binder.names


def read_names(source: str) -> set[str]:
    """Every name a cell's code reads, at any depth (Instructors' guide)."""
    tree = _tree(source)
    if tree is None:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


class ReleasePlan:
    """Who defines each name a test reads, from the release notebook alone (Instructors' guide).

    The release's code cells with a grade id, in the release's order: ``answer`` cells (the
    student's; the names their syntax trees bind are the only ones the kernel is asked for),
    ``locked`` cells (set-up and data, run here in the grader, in this order) and ``dependent``
    locked cells (demonstrations that call the student's answers: they run in the kernel only,
    and no test may read what they define). A test cell at position P reads a name from the last
    of these cells before P that binds it; a name no cell binds is a ``NameError``. The
    submission's own order, extra cells and metadata play no part.
    """

    def __init__(self, nb):
        from nbgrader import utils

        self.cells: list[dict] = []
        self.position: dict[str, int] = {}
        for cell in nb.cells:
            meta = cell.get("metadata", {}).get("nbgrader", {}) if cell.get("cell_type") == "code" else {}
            gid = meta.get("grade_id")
            if not gid:
                continue
            self.position[gid] = len(self.cells)
            if utils.is_solution(cell):
                kind = "answer"
            elif utils.is_grade(cell):
                kind = "test"
            elif utils.is_locked(cell):
                kind = "locked"
            else:
                continue
            self.cells.append({"kind": kind, "id": gid, "source": cell.source, "binds": bound_names(cell.source)
                               if kind != "test" else set()})
        self.answer_names: set[str] = set().union(*(c["binds"] for c in self.cells if c["kind"] == "answer"))
        for c in self.cells:  # a locked cell that calls the student's answers cannot run in the grader
            if c["kind"] == "locked" and (read_names(c["source"]) - c["binds"]) & self.answer_names:
                c["kind"] = "dependent"

    def owner(self, name: str, before: int) -> tuple[str | None, int]:
        """(kind, index) of the last cell before position ``before`` that binds ``name``; (None, -1)."""
        for i in range(min(before, len(self.cells)) - 1, -1, -1):
            c = self.cells[i]
            if c["kind"] != "test" and name in c["binds"]:
                return c["kind"], i
        return None, -1


class GraderSide:
    """The release's locked set-up and data cells, run in the grader in the release's order, each
    the first time a test needs a name it (or a later locked cell before that test) defines."""

    def __init__(self, plan: ReleasePlan):
        self.plan = plan
        self.ns: dict = {"__name__": "__main__", "__builtins__": builtins}
        self.done = 0  # cells before this index have been considered
        self.failures: list[tuple[str, str]] = []  # (grade id, error) of locked cells that raised
        self.seconds = 0.0

    def run_until(self, index: int) -> None:
        import time

        start = time.monotonic()
        try:
            while self.done <= index and self.done < len(self.plan.cells):
                cell = self.plan.cells[self.done]
                self.done += 1
                if cell["kind"] != "locked":
                    continue
                try:
                    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                        exec(compile(_strip_magics(cell["source"]), f"<locked cell {cell['id']}>", "exec"),  # noqa: S102
                             self.ns)
                except Exception as exc:  # noqa: BLE001  (the course's own cell failed in the grader)
                    self.failures.append((cell["id"], f"{type(exc).__name__}: {exc}"[:300]))
                finally:
                    plt = __import__("sys").modules.get("matplotlib.pyplot")
                    if plt is not None:
                        plt.close("all")
        finally:
            self.seconds += time.monotonic() - start

    def namespace_for(self, position: int, names: set[str]) -> dict:
        """The grader's names a test at ``position`` sees: those whose last definer before it is a
        locked cell (run now if needed); never a name an answer or a dependent cell rebinds later."""
        needed = [self.plan.owner(n, position) for n in names]
        last = max((i for kind, i in needed if kind == "locked"), default=-1)
        if last >= 0:
            self.run_until(last)
        return {k: v for k, v in self.ns.items()
                if k.startswith("__") or self.plan.owner(k, position)[0] == "locked"}


class TestNamespace(dict):
    """Globals of one test cell: its own names, then the grader's (set-up and data), then the
    student's answers (remote). With a :class:`ReleasePlan`, only names the release's answer
    cells bind are asked of the kernel; any other name resolves in the grader or is a NameError."""

    def __init__(self, setup: dict, kernel: StudentKernel, plan: ReleasePlan | None = None,
                 side: GraderSide | None = None, position: int = 0):
        super().__init__(setup)
        self.kernel = kernel
        self.plan, self.side, self.position = plan, side, position

    def __missing__(self, name: str) -> Any:
        if name in vars(builtins) or name.startswith("__"):
            raise KeyError(name)
        if self.plan is not None:
            kind, index = self.plan.owner(name, self.position)
            if kind == "locked" and self.side is not None:
                self.side.run_until(index)
                if name not in self.side.ns:
                    raise KeyError(name)
                value = self.side.ns[name]
                self[name] = value
                return value
            if kind != "answer":
                raise KeyError(name)  # not the student's to define: never asked of the kernel
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


#: A mistake tag as :func:`dlcourse.checks._common.fail` takes it: short snake_case.
TAG_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


def describe_failure(error: BaseException | None) -> dict:
    """What kind of failure a test cell's exception is, for the class report (Instructors' guide).

    ``{"outcome": "passed"}`` without an error; else ``outcome`` ``failed``, ``ename`` (the
    exception's type), ``kind`` and ``tag``. ``kind`` is ``check`` for an AssertionError of a
    check (``tag``: the mistake's tag that :func:`dlcourse.checks._common.fail` set, or None for
    a bare ``assert``), ``timeout`` (the student's code did not answer in time), ``missing_name``
    (a name the test reads is not defined), ``tampered`` (the kernel's answers were not valid
    data), ``student_exception`` (the student's code raised) or ``exception`` (anything else).
    Never a message: messages stay in the outputs, where hidden-test lines are redacted.
    """
    if error is None:
        return {"outcome": "passed"}
    tag = getattr(error, "tag", None)
    if isinstance(error, StudentTimeout):
        kind = "timeout"
    elif isinstance(error, InterfaceError):
        kind = "tampered"
    elif getattr(error, "from_student", False):
        kind = "student_exception"
    elif isinstance(error, AssertionError):
        kind = "check"
    elif isinstance(error, NameError):
        kind = "missing_name"
    else:
        kind = "exception"
    if kind != "check" or not isinstance(tag, str) or not TAG_PATTERN.match(tag):
        tag = None
    return {"outcome": "failed", "kind": kind, "tag": tag, "ename": type(error).__name__}


def run_test(source: str, name: str, setup: dict, kernel: StudentKernel, max_output: int = 100_000,
             plan: ReleasePlan | None = None, side: GraderSide | None = None, position: int = 0,
             verdict: dict | None = None) -> list[dict]:
    """Run one test cell in the grader; its outputs as nbformat dicts (an ``error`` output when it failed).

    With ``plan`` and ``side`` (what :class:`~dlcourse.grading.preprocessors.HardenedExecute`
    passes), ``setup`` is ignored: the test's grader names come from ``side`` as of the test's
    ``position`` in the release, and the kernel is asked only for the answers' names. A
    ``verdict`` dictionary, when given, is filled with :func:`describe_failure` of the outcome.
    """
    filename = f"<test {name}>"
    code_text = _strip_magics(source)
    linecache.cache[filename] = (len(code_text), None, code_text.splitlines(True), filename)
    if plan is not None and side is not None:
        setup = side.namespace_for(position, read_names(source))
    ns = TestNamespace(setup, kernel, plan, side, position)
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
    if verdict is not None:
        verdict.update(describe_failure(error))
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


__all__ = ["GraderSide", "InterfaceError", "ReleasePlan", "Remote", "StudentKernel", "StudentTimeout", "TestNamespace",
           "bound_names", "describe_failure", "read_names", "run_setup", "run_test", "setup_refs", "error_output"]
