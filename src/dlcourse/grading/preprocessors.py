"""nbgrader preprocessors that make autograding robust against hostile notebooks (Instructors' guide).

* :class:`RestoreMissingCells` (sanitising step of ``autograde``): puts back any nbgrader cell
  a student deleted, from the released notebook; nbgrader's ``OverwriteCells`` then restores
  locked cells (tests included) from the gradebook.
* :class:`HardenedExecute` (executing step): runs the kernel in the sandbox of
  :mod:`dlcourse.grading_sandbox`; before each graded test cell it re-imports the
  ``dlcourse.checks`` modules fresh, rebinds the set-up cell's names, restores Python's
  builtins and IPython's hooks (custom exception handlers, input and AST transformers, event
  callbacks), and hides names that shadow builtins; after it, it erases the test's source from
  the kernel's history and sends a canary error that must come back as an error (a kernel
  that swallows errors is flagged as tampered). A kernel that dies, or that ignores the
  interrupt after a cell timeout, is restarted, the cells that ran before are replayed, and
  grading goes on: a crash or a stuck cell costs that cell only.
* :class:`StripHiddenTests` (``generate_feedback``): removes hidden test regions from the cells
  and redacts every hidden-test line from the outputs (tracebacks included), so the feedback
  HTML never shows hidden test code.

In-process limits: student code and tests share one Python interpreter. A determined attacker
who patches the interpreter deeper than the hooks restored here (for example the kernel's
message loop) can still fool a test; the canary catches the usual symptom (errors that never
arrive), and the report flags such a submission for manual review.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import uuid

import nbformat
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader import utils
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Bool, Unicode, default

from .sandbox import SandboxedKernelManager

#: Metadata key of the autograded notebook where the hardened executor records incidents.
INCIDENTS_KEY = "dlcourse_grading"

_SNAPSHOT = r"""
def _dlcourse_snapshot():
    import builtins, sys, types
    from IPython import get_ipython
    ip = get_ipython()
    guard = sys.modules.setdefault("_dlcourse_guard", types.ModuleType("_dlcourse_guard"))
    if not hasattr(guard, "builtins"):
        guard.builtins = dict(vars(builtins))
        guard.excepthook = sys.__excepthook__
        guard.hooks = {
            "input_transformers_cleanup": list(ip.input_transformers_cleanup),
            "input_transformers_post": list(ip.input_transformers_post),
            "ast_transformers": list(ip.ast_transformers),
        }
        guard.events = {k: list(v) for k, v in ip.events.callbacks.items()}
        guard.classes = {cls: {k: v for k, v in vars(cls).items() if not (k.startswith("__") and k.endswith("__"))}
                         for cls in type(ip).__mro__ if cls.__module__.startswith(("IPython", "ipykernel"))}
        guard.names = {}
    for name, value in list(ip.user_ns.items()):
        if name.startswith("_"):
            continue
        mod = getattr(value, "__module__", None) if not isinstance(value, types.ModuleType) else value.__name__
        if isinstance(value, types.ModuleType) or (callable(value) and str(mod).startswith("dlcourse")):
            guard.names[name] = (value.__name__ if isinstance(value, types.ModuleType) else None, value)
_dlcourse_snapshot()
del _dlcourse_snapshot
"""

_BEFORE_TEST = r"""
def _dlcourse_before_test():
    import builtins, importlib, sys
    from IPython import get_ipython
    ip = get_ipython()
    guard = sys.modules["_dlcourse_guard"]
    for name in [m for m in sys.modules if m == "dlcourse.checks" or m.startswith("dlcourse.checks.")]:
        del sys.modules[name]
    for name, value in guard.builtins.items():
        if getattr(builtins, name, None) is not value:
            setattr(builtins, name, value)
    for name in [n for n in vars(builtins) if n not in guard.builtins]:
        delattr(builtins, name)
    for cls, saved in guard.classes.items():
        for name, value in saved.items():
            if vars(cls).get(name) is not value:
                setattr(cls, name, value)
    for name in ("run_cell", "run_cell_async", "run_code", "run_ast_nodes", "run_ast_nodes", "showtraceback",
                 "_showtraceback", "showsyntaxerror", "transform_cell", "user_expressions", "should_run_async"):
        ip.__dict__.pop(name, None)
    sys.excepthook = guard.excepthook
    sys.settrace(None)
    sys.setprofile(None)
    ip.custom_exceptions = ()
    ip.CustomTB = None
    for attr, hooks in guard.hooks.items():
        getattr(ip, attr)[:] = hooks
    for event, callbacks in guard.events.items():
        ip.events.callbacks[event][:] = callbacks
    for name, (modname, value) in guard.names.items():
        if modname is not None:
            ip.user_ns[name] = importlib.import_module(modname)
        elif getattr(value, "__module__", "").startswith("dlcourse.checks"):
            ip.user_ns[name] = getattr(importlib.import_module(value.__module__), value.__name__)
        else:
            ip.user_ns[name] = value
    guard.shadowed = {n: ip.user_ns.pop(n) for n in list(ip.user_ns) if n in guard.builtins and not n.startswith("_")}
_dlcourse_before_test()
del _dlcourse_before_test
"""

_AFTER_TEST = r"""
def _dlcourse_after_test(source):
    import linecache, sys
    from IPython import get_ipython
    ip = get_ipython()
    guard = sys.modules["_dlcourse_guard"]
    ip.user_ns.update(guard.shadowed)
    guard.shadowed = {}
    hist = ip.history_manager
    for seq in (hist.input_hist_parsed, hist.input_hist_raw):
        for i, text in enumerate(seq):
            if text.strip() == source.strip() or text.strip() == ip.transform_cell(source).strip():
                seq[i] = ""
    for name in [n for n in list(ip.user_ns) if n.startswith("_i")]:
        if isinstance(ip.user_ns[name], str) and ip.user_ns[name].strip() == source.strip():
            ip.user_ns[name] = ""
    for key in [k for k, v in linecache.cache.items() if len(v) > 2 and "".join(v[2]).strip() == source.strip()]:
        del linecache.cache[key]
_dlcourse_after_test(%s)
del _dlcourse_after_test
"""


def _is_setup_cell(cell) -> bool:
    return cell.cell_type == "code" and utils.is_locked(cell) and not utils.is_grade(cell) and not utils.is_solution(cell)


class HardenedExecute(Execute):
    """nbgrader's ``Execute`` in the sandbox, with the guards described in this module (Instructors' guide)."""

    canary = Bool(True, help="After each graded cell, check that the kernel still reports errors.").tag(config=True)

    @default("kernel_manager_class")
    def _km_default(self):
        return SandboxedKernelManager

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)

    def preprocess(self, nb, resources=None, km=None):
        self._incidents = []
        self._done = []  # indices of code cells that ran without error, for a replay after a crash
        self._snapped = False
        self._answers_started = False  # set-up cells are the locked cells before the first answer
        self._setup_cells: set[int] = set()
        nb, resources = super().preprocess(nb, resources, km)
        nb.metadata.setdefault(INCIDENTS_KEY, {})["incidents"] = self._incidents
        return nb, resources

    def _aux(self, code: str, index: int):
        """Run code that is not part of the notebook; return its outputs."""
        original = self.nb.cells[index]
        aux = nbformat.v4.new_code_cell(code)
        try:
            self.execute_cell(aux, index, store_history=False)
        finally:
            self.nb.cells[index] = original
        return aux.outputs

    def _guard(self, code: str, cell, index: int) -> None:
        """Run trusted code in the kernel past IPython's input transformers (a student may have
        added some that delete lines): as a user expression of an empty execute request."""
        encoded = base64.b64encode(code.encode()).decode()
        expr = f"exec(__import__('base64').b64decode('{encoded}').decode(), __import__('IPython').get_ipython().user_ns)"
        msg_id = self.kc.execute("", silent=True, store_history=False, user_expressions={"guard": expr})
        reply = self.wait_for_reply(msg_id)
        result = ((reply or {}).get("content", {}).get("user_expressions") or {}).get("guard", {})
        if result.get("status") != "ok":
            self._incident(cell, index, "guard_failed", f"{result.get('ename')}: {result.get('evalue')}")

    def _incident(self, cell, index, kind, detail):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", f"cell {index}")
        self._incidents.append({"cell": grade_id, "kind": kind, "detail": detail})

    def _replay(self, upto: int) -> None:
        for i in self._done:
            if i < upto:
                self._aux(self.nb.cells[i].source, i)
                if i in self._setup_cells:
                    self._guard(_SNAPSHOT, self.nb.cells[i], i)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return cell, resources
        graded = utils.is_grade(cell)
        setup = _is_setup_cell(cell) and not self._answers_started
        if setup:
            self._setup_cells.add(index)
        self._answers_started |= utils.is_solution(cell) or graded
        try:
            if not self._snapped:  # builtins and hooks as they are before any notebook code
                self._guard(_SNAPSHOT, cell, index)
                self._snapped = True
            if graded:
                self._guard(_BEFORE_TEST, cell, index)
            cell, resources = super().preprocess_cell(cell, resources, index)
            if graded:
                self._guard(_AFTER_TEST % json.dumps(cell.source), cell, index)
                if self.canary:
                    token = f"dlcourse-canary-{uuid.uuid4().hex}"
                    outputs = self._aux(f"raise AssertionError({token!r})", index)
                    if not any(o.output_type == "error" and token in o.get("evalue", "") for o in outputs):
                        self._incident(cell, index, "tampered", "the kernel no longer reports errors")
            elif setup:
                self._guard(_SNAPSHOT, cell, index)
        except (DeadKernelError, CellTimeoutError) as exc:
            if isinstance(exc, DeadKernelError):
                self._incident(cell, index, "kernel_died", "the kernel died while running this cell")
                ename, evalue = "DeadKernelError", "The kernel died while running this cell (a crash, os._exit or out of memory)."
            else:  # no reply even after the interrupt: the code ignores SIGINT
                self._incident(cell, index, "timeout", f"no result within {self.timeout} s; interrupted")
                self._incident(cell, index, "stuck", "ignored the interrupt; the kernel was restarted")
                ename, evalue = "CellTimeoutError", f"No result within {self.timeout} s and the interrupt was ignored."
            cell.outputs.append(nbformat.v4.new_output(
                "error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue} The kernel was restarted."],
            ))
            self.nb.cells[index] = cell
            self._restart()
            self._replay(index)
            return cell, resources
        if not any(o.output_type == "error" for o in cell.outputs):
            self._done.append(index)
        timed_out = False
        for out in cell.outputs:
            if out.output_type == "error":
                if out.ename == "CellTimeoutError" or "Timeout" in out.ename:
                    timed_out = True
                    self._incident(cell, index, "timeout", f"no result within {self.timeout} s; interrupted")
                elif "MemoryError" in out.ename:
                    self._incident(cell, index, "memory", "ran out of its memory limit")
        if timed_out and not self._responsive(index):
            # The code ignored the interrupt (for example it blocks SIGINT): restart and replay,
            # or every later cell would wait for it in turn.
            self._incident(cell, index, "stuck", "ignored the interrupt; the kernel was restarted")
            self._restart()
            self._replay(index)
        return cell, resources

    def _responsive(self, index: int, seconds: int = 10) -> bool:
        saved, self.timeout = self.timeout, seconds
        try:
            return not any(o.output_type == "error" for o in self._aux("pass", index))
        except (DeadKernelError, CellTimeoutError):
            return False
        finally:
            self.timeout = saved

    def _restart(self) -> None:
        from jupyter_core.utils import run_sync

        run_sync(self.km.restart_kernel)(now=True)
        self.kc.stop_channels()
        self.kc = self.km.client()
        self.kc.start_channels()
        run_sync(self.kc.wait_for_ready)(timeout=self.startup_timeout)


class RestoreMissingCells(NbGraderPreprocessor):
    """Put back every nbgrader cell that a submission lacks, from the released notebook (Instructors' guide)."""

    release_directory = Unicode("", help="Folder of the released notebooks of the assignment.").tag(config=True)

    def preprocess(self, nb, resources):
        name = resources["nbgrader"]["notebook"]
        path = f"{self.release_directory}/{name}.ipynb"
        try:
            template = nbformat.read(path, as_version=4)
        except FileNotFoundError:
            return nb, resources
        present = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells}
        last_seen = -1  # index in nb after which the next missing template cell goes
        restored = []
        for tcell in template.cells:
            gid = tcell.metadata.get("nbgrader", {}).get("grade_id")
            if gid is None:
                continue
            if gid in present:
                last_seen = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == gid)
                continue
            new = copy.deepcopy(tcell)
            if new.cell_type == "code":
                new.outputs, new.execution_count = [], None
            nb.cells.insert(last_seen + 1, new)
            last_seen += 1
            restored.append(gid)
        if restored:
            nb.metadata.setdefault(INCIDENTS_KEY, {})["restored_cells"] = restored
        return nb, resources


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_HIDDEN = re.compile(r"^[ \t]*#+[ \t]*BEGIN HIDDEN TESTS.*?^[ \t]*#+[ \t]*END HIDDEN TESTS[^\n]*\n?", re.S | re.M)


def hidden_test_lines(source: str) -> list[str]:
    """Lines of code inside ``### BEGIN/END HIDDEN TESTS`` regions of a cell (Instructors' guide)."""
    lines = []
    for block in _HIDDEN.findall(source):
        lines += [ln.strip() for ln in block.splitlines()[1:-1] if ln.strip()]
    return lines


class StripHiddenTests(NbGraderPreprocessor):
    """Feedback without hidden tests: regions removed from cells, their lines redacted from outputs (Instructors' guide)."""

    placeholder = Unicode("[hidden test]").tag(config=True)

    def preprocess(self, nb, resources):
        secret = set()
        for cell in nb.cells:
            secret.update(hidden_test_lines(cell.source))
            if utils.is_grade(cell) and "BEGIN HIDDEN TESTS" in cell.source:
                cell.source = _HIDDEN.sub("", cell.source).rstrip("\n")
        secret.update(("BEGIN HIDDEN TESTS", "END HIDDEN TESTS"))
        ordered = sorted(secret, key=len, reverse=True)

        def clean(text: str) -> str:
            text = _ANSI.sub("", text)
            for line in ordered:
                if line in text:
                    text = text.replace(line, self.placeholder)
            return text

        for cell in nb.cells:
            for out in cell.get("outputs", []):
                if out.output_type == "stream":
                    out.text = clean(out.text)
                elif out.output_type == "error":
                    out.traceback = [clean(t) for t in out.traceback]
                    out.evalue = clean(out.evalue)
                else:
                    for mime, value in list(out.get("data", {}).items()):
                        if isinstance(value, str):
                            out.data[mime] = clean(value)
                        elif isinstance(value, list):
                            out.data[mime] = [clean(v) if isinstance(v, str) else v for v in value]
        return nb, resources
