"""nbgrader preprocessors that grade hostile notebooks with trustworthy verdicts (Instructors' guide).

* :class:`RestoreMissingCells` (sanitising step of ``autograde``): puts back any nbgrader cell
  a student deleted, from the released notebook; nbgrader's ``OverwriteCells`` then restores
  locked cells (tests included) from the gradebook.
* :class:`HardenedExecute` (executing step): the student's cells (answers and the notebook's
  own data cells) run in the kernel, in the sandbox of :mod:`dlcourse.grading.sandbox`. The
  graded test cells never go to the kernel: they run here, in the grader process, which never
  executes student code, and read the student's names through :mod:`dlcourse.grading.interface`
  (plain data, remote calls, models as config and weights). So no patch of the student's
  interpreter (builtins, ``numpy``, input transformers, the kernel's message loop) can change
  a verdict, and hidden test code and expected values never reach the kernel. Output is
  capped per cell and per notebook as it arrives. A kernel that dies, or that ignores the
  interrupt after a cell timeout, is restarted, the cells that ran before are replayed, and
  grading goes on: a crash or a stuck cell costs that cell only.
* :class:`StripHiddenTests` (``generate_feedback``): removes hidden test regions from the cells
  and redacts every hidden-test line from the outputs (tracebacks included): a second defence,
  since hidden code no longer reaches the kernel to be echoed.
"""

from __future__ import annotations

import copy
import json
import os
import re
import time

import nbformat
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader import utils
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Bool, Int, Unicode, default

from .sandbox import SandboxedKernelManager

#: Metadata key of the autograded notebook where the hardened executor records incidents.
INCIDENTS_KEY = "dlcourse_grading"


def _nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {}) if hasattr(cell, "metadata") else {}


def is_test_cell(cell) -> bool:
    """A graded, locked test cell of the assignment: run in the grader, never in the kernel."""
    return (cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell)
            and bool(_nbgrader(cell).get("grade_id")))


def _output_size(msg: dict) -> int:
    content = msg.get("content", {})
    size = len(content.get("text", "") or "")
    for value in (content.get("data") or {}).values():
        size += len(value) if isinstance(value, str) else len(json.dumps(value))
    size += sum(len(t) for t in content.get("traceback", []) or [])
    return size


class HardenedExecute(Execute):
    """nbgrader's ``Execute`` with test cells run in the grader and the kernel in the sandbox (Instructors' guide)."""

    tests_in_grader = Bool(True, help="Run graded test cells in the grader process, reading the "
                           "student's names through the narrow interface.").tag(config=True)
    max_cell_output = Int(1 << 20, help="Bytes of output kept per cell; the rest is dropped as it arrives.").tag(config=True)
    max_notebook_output = Int(4 << 20, help="Bytes of output kept per notebook.").tag(config=True)
    release_directory = Unicode("", help="Folder of the released notebooks: the grader's set-up and data "
                                "come from their locked cells, in their order (never the submission's).").tag(config=True)
    slow_cell_timeout = Int(0, help="Seconds for the cells that the released notebook marks slow "
                            "(metadata dlcourse.slow: imports, training); 0: four times the timeout. "
                            "Every other cell gets the timeout, so a stuck answer costs little "
                            "time.").tag(config=True)

    @default("kernel_manager_class")
    def _km_default(self):
        return SandboxedKernelManager

    @default("shell_timeout_interval")
    def _interval_default(self):
        return 1  # deadlines to the second (nbclient polls every 5 s)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)

    def preprocess(self, nb, resources=None, km=None):
        self._incidents = []
        self._done = []  # indices of code cells that ran without error, for a replay after a crash
        self._plan = None  # who defines each name a test reads, from the release (interface.ReleasePlan)
        self._side = None  # the release's locked cells, run here (interface.GraderSide)
        self._setup_reported = 0
        self._since_test = 0  # incidents before this index belong to the questions already graded
        self._out_cell = {}
        self._out_total = 0
        self._capped: set[int] = set()
        self._remote_timeouts = 0
        self._kernel_called = False  # a test has called the student's code with its inputs (hidden ones too)
        self._feedback = {"after_test_calls": [], "message_from_kernel": []}  # cell indices, for feedback
        self._stats = {"requests": 0, "bytes": 0, "seconds": 0.0, "setup_seconds": 0.0}
        self._notebook_name = ((resources or {}).get("nbgrader") or {}).get("notebook", "")
        for cell in nb.cells:  # only the grader writes a verdict: none comes from the submission
            cell.get("metadata", {}).pop(INCIDENTS_KEY, None)
        self._load_plan(nb)
        nb, resources = super().preprocess(nb, resources, km)
        meta = nb.metadata.setdefault(INCIDENTS_KEY, {})
        meta["incidents"] = self._incidents
        meta.update(self._feedback)
        meta["interface"] = {k: round(v, 3) if isinstance(v, float) else v for k, v in self._stats.items()}
        self._progress({"notebook": self._notebook_name, "complete": True, "incidents": self._incidents})
        return nb, resources

    def _load_plan(self, nb) -> None:
        """The release's plan of names (:class:`~dlcourse.grading.interface.ReleasePlan`).

        Read from the released notebook; without one (a bare ``nbgrader autograde``), from the
        notebook being graded, whose locked cells nbgrader has restored from the gradebook, in
        the submission's order (recorded as an incident: configure ``release_directory``).
        """
        from . import interface

        template = None
        if self.release_directory and self._notebook_name:
            try:
                template = nbformat.read(f"{self.release_directory}/{self._notebook_name}.ipynb", as_version=4)
            except (OSError, ValueError):
                template = None
        if template is None and self.release_directory:
            self._incidents.append({"cell": self._notebook_name or "notebook", "kind": "no_release",
                                    "detail": "the released notebook could not be read; the submission's cell order was used"})
        self._plan = interface.ReleasePlan(template if template is not None else nb)
        self._side = interface.GraderSide(self._plan)
        # which cells may be slow comes from the release, never from the submission's metadata
        self._slow = {_nbgrader(c).get("grade_id") for c in (template.cells if template is not None else [])
                      if c.get("metadata", {}).get("dlcourse", {}).get("slow")} - {None}

    def _cell_timeout(self, cell):
        """The cell's time: the timeout, or the slow-cell timeout for a cell the release marks slow."""
        if cell is not None and _nbgrader(cell).get("grade_id") in getattr(self, "_slow", ()):
            return self.slow_cell_timeout or 4 * self.timeout
        return super()._get_timeout(cell)

    def _get_timeout(self, cell):
        """How long to wait for a reply: a test cell's requests share one deadline, the cell's time."""
        deadline = getattr(self, "_test_deadline", None)
        if deadline is not None and cell is not None and cell is getattr(self, "_test_cell", None):
            return max(1, int(deadline - time.monotonic() + 0.999))
        return self._cell_timeout(cell)

    # --- progress, outside the notebook (which the student wrote) -------------------------------
    def _progress(self, record: dict) -> None:
        """Append one record to the job's progress file (``DLCOURSE_GRADING_PROGRESS``), if any.

        The worker trusts an autograded notebook only when this file says its execution finished;
        when the grading process dies, is killed or times out, the tests recorded here keep their
        outputs and every other test scores zero (:func:`dlcourse.grading.worker.run_job`).
        """
        path = os.environ.get("DLCOURSE_GRADING_PROGRESS")
        if not path:
            return
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a") as fh:
            fh.write(json.dumps(record) + "\n")
            fh.flush()

    # --- output caps, applied as the output arrives --------------------------------------------
    def output(self, outs, msg, display_id, cell_index):
        size = _output_size(msg)
        used = self._out_cell.get(cell_index, 0)
        if used + size > self.max_cell_output or self._out_total + size > self.max_notebook_output:
            if cell_index not in self._capped:
                self._capped.add(cell_index)
                which = "cell" if used + size > self.max_cell_output else "notebook"
                limit = self.max_cell_output if which == "cell" else self.max_notebook_output
                cell = self.nb.cells[cell_index]
                self._incident(cell, cell_index, "output_capped",
                               f"more than {limit} bytes of output per {which}; the rest was dropped")
                note = nbformat.v4.new_output("stream", name="stderr",
                                              text=f"[output over {limit} bytes per {which} dropped by the grader]\n")
                outs.append(note)
            return None
        self._out_cell[cell_index] = used + size
        self._out_total += size
        return super().output(outs, msg, display_id, cell_index)

    # --- helpers ----------------------------------------------------------------------------------
    def _aux(self, code: str, index: int, like=None):
        """Run code that is not part of the notebook (with the deadline of the cell ``like``); return its outputs."""
        original = self.nb.cells[index]
        aux = nbformat.v4.new_code_cell(code)
        if like is not None:
            aux.metadata["nbgrader"] = {"grade_id": _nbgrader(like).get("grade_id")}
        try:
            self.execute_cell(aux, index, store_history=False)
        finally:
            self.nb.cells[index] = original
        return aux.outputs

    def _incident(self, cell, index, kind, detail):
        grade_id = _nbgrader(cell).get("grade_id", f"cell {index}")
        self._incidents.append({"cell": grade_id, "kind": kind, "detail": detail})

    def _replay(self, upto: int) -> None:
        for i in self._done:
            if i < upto:
                self._aux(self.nb.cells[i].source, i, like=self.nb.cells[i])

    def _send(self, expression: str):
        """One request to the kernel's agent as a user expression; the reply's content, None on timeout."""
        msg_id = self.kc.execute("", silent=True, store_history=False, user_expressions={"r": expression})
        reply = self.wait_for_reply(msg_id, getattr(self, "_test_cell", None))
        if reply is None:
            self._remote_timeouts += 1
            return None
        return reply.get("content", {})

    def _grade_in_grader(self, cell, index):
        from . import interface

        start = time.monotonic()
        gid = _nbgrader(cell).get("grade_id", str(index))
        position = self._plan.position.get(gid, len(self._plan.cells))
        setup_before = self._side.seconds
        self._side.namespace_for(position, interface.read_names(cell.source))  # its locked cells, run before
        kernel = interface.StudentKernel(self._send, interface.setup_refs(self._side.ns))
        timeouts = self._remote_timeouts
        self._test_cell = cell  # the test's requests share one deadline: the cell's time
        self._test_deadline = time.monotonic() + (self._cell_timeout(cell) or 10**9)
        verdict: dict = {}
        try:
            outputs = interface.run_test(cell.source, gid, {}, kernel, max_output=self.max_cell_output,
                                         plan=self._plan, side=self._side, position=position, verdict=verdict)
        finally:
            self._test_cell = self._test_deadline = None
            self._stats["requests"] += kernel.requests
            self._stats["bytes"] += kernel.bytes
            self._stats["seconds"] += time.monotonic() - start
            self._stats["setup_seconds"] += self._side.seconds - setup_before
        for failed_id, error in self._side.failures[self._setup_reported:]:
            self._incident(cell, index, "setup_failed", f"the locked cell {failed_id} failed in the grader: {error}")
        self._setup_reported = len(self._side.failures)
        if verdict.get("kind") == "student_exception":  # its message is the student's: feedback hides it
            self._feedback["message_from_kernel"].append(index)
        cell.outputs = [nbformat.from_dict(o) for o in outputs]
        cell.execution_count = None
        self._kernel_called = self._kernel_called or kernel.calls > 0
        if verdict.get("outcome") == "failed":
            # an answer cell of this question that timed out or crashed explains a missing name
            cause = next((i["kind"] for i in self._incidents[self._since_test:]
                          if i["kind"] in ("timeout", "kernel_died", "memory")), None)
            if kernel.problems:
                verdict.update(kind="tampered", tag=None)
            elif self._remote_timeouts > timeouts:
                verdict.update(kind="timeout", tag=None)
            elif cause and verdict.get("kind") in ("missing_name", "student_exception", "exception"):
                verdict.update(kind=cause, tag=None)
        verdict["seconds"] = round(time.monotonic() - start, 3)
        # The class report's record of this test (dlcourse-grade --insights): the mistake's tag or
        # the kind of failure, never a message; the student's view (the outputs) is unchanged.
        cell.metadata[INCIDENTS_KEY] = verdict
        self._progress({"notebook": self._notebook_name, "test": gid, "outputs": outputs, "verdict": verdict})
        if kernel.problems:
            self._incident(cell, index, "tampered", f"the kernel's answers were not valid data: {kernel.problems[0]}")
        self._since_test = len(self._incidents)
        if self._remote_timeouts > timeouts:
            self._incident(cell, index, "timeout", f"the notebook's code did not answer within the test's {self._cell_timeout(cell)} s; interrupted")
            if not self._responsive(index):
                self._recover_stuck(cell, index)
        return cell

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return cell, resources
        test = self.tests_in_grader and is_test_cell(cell)
        try:
            if test:
                cell = self._grade_in_grader(cell, index)
                self.nb.cells[index] = cell
                return cell, resources
            if self._kernel_called:  # its output may show what the tests sent: kept out of feedback
                self._feedback["after_test_calls"].append(index)
            cell, resources = super().preprocess_cell(cell, resources, index)
        except (DeadKernelError, CellTimeoutError) as exc:
            if isinstance(exc, DeadKernelError):
                self._incident(cell, index, "kernel_died", "the kernel died while running this cell")
                ename, evalue = "DeadKernelError", "The kernel died while running this cell (a crash, os._exit or out of memory)."
            else:  # no reply even after the interrupt: the code ignores SIGINT
                self._incident(cell, index, "timeout", f"no result within {self._cell_timeout(cell)} s; interrupted")
                self._incident(cell, index, "stuck", "ignored the interrupt; the kernel was restarted")
                ename, evalue = "CellTimeoutError", f"No result within {self._cell_timeout(cell)} s and the interrupt was ignored."
            cell.outputs.append(nbformat.v4.new_output(
                "error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue} The kernel was restarted."],
            ))
            self.nb.cells[index] = cell
            self._restart_and_replay(index)
            return cell, resources
        if not any(o.output_type == "error" for o in cell.outputs):
            self._done.append(index)
        timed_out = False
        for out in cell.outputs:
            if out.output_type == "error":
                if out.ename == "CellTimeoutError" or "Timeout" in out.ename:
                    timed_out = True
                    self._incident(cell, index, "timeout", f"no result within {self._cell_timeout(cell)} s; interrupted")
                elif "MemoryError" in out.ename:
                    self._incident(cell, index, "memory", "ran out of its memory limit")
        if timed_out and not self._responsive(index):
            # The code ignored the interrupt (for example it blocks SIGINT): restart and replay,
            # or every later cell would wait for it in turn.
            self._recover_stuck(cell, index)
        return cell, resources

    def _responsive(self, index: int, seconds: int = 10) -> bool:
        saved, self.timeout = self.timeout, seconds
        try:
            return not any(o.output_type == "error" for o in self._aux("pass", index))
        except (DeadKernelError, CellTimeoutError):
            return False
        finally:
            self.timeout = saved

    def _recover_stuck(self, cell, index: int) -> None:
        """A cell that ignored the interrupt: record it, restart the kernel and replay the cells before."""
        self._incident(cell, index, "stuck", "ignored the interrupt; the kernel was restarted")
        self._restart_and_replay(index)

    def _restart_and_replay(self, index: int) -> None:
        self._restart()
        self._replay(index)

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
        present = {_nbgrader(c).get("grade_id") for c in nb.cells}
        last_seen = -1  # index in nb after which the next missing template cell goes
        restored = []
        for tcell in template.cells:
            gid = _nbgrader(tcell).get("grade_id")
            if gid is None:
                continue
            if gid in present:
                last_seen = next(i for i, c in enumerate(nb.cells) if _nbgrader(c).get("grade_id") == gid)
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


#: What replaces a hidden-test line in what students and teaching assistants see.
PLACEHOLDER = "[hidden test]"


def redact(text: str, secrets, placeholder: str = PLACEHOLDER) -> str:
    """``text`` without colour codes, with every hidden-test line of ``secrets`` and the hidden-test
    markers replaced by ``placeholder``, longest lines first (Instructors' guide)."""
    text = _ANSI.sub("", text)
    for line in sorted({*secrets, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"}, key=len, reverse=True):
        if line in text:
            text = text.replace(line, placeholder)
    return text


def secret_lines(source: str) -> list[str]:
    """The hidden-test lines of a cell that say something: a line with fewer than three letters or
    digits (``])``, ``)``) reveals nothing and would otherwise be redacted from every output."""
    return [ln for ln in hidden_test_lines(source) if sum(ch.isalnum() for ch in ln) >= 3]


class StripHiddenTests(NbGraderPreprocessor):
    """Feedback without hidden tests: regions removed from cells, their lines redacted from outputs (Instructors' guide)."""

    placeholder = Unicode(PLACEHOLDER).tag(config=True)
    after_tests_note = Unicode("(Output not shown in feedback: this cell ran after the tests had called your "
                               "code, so it could show their inputs. Your own run shows it.)\n").tag(config=True)
    hidden_message = Unicode("(your code raised this error on an input of the hidden tests; its message is "
                             "not shown)").tag(config=True)

    def preprocess(self, nb, resources):
        secret = set()
        for cell in nb.cells:
            secret.update(secret_lines(cell.source))
            if utils.is_grade(cell) and "BEGIN HIDDEN TESTS" in cell.source:
                cell.source = _HIDDEN.sub("", cell.source).rstrip("\n")

        def clean(text: str) -> str:
            return redact(text, secret, self.placeholder)

        graded = nb.metadata.get(INCIDENTS_KEY, {})
        after_calls, from_kernel = set(graded.get("after_test_calls", [])), set(graded.get("message_from_kernel", []))
        for index, cell in enumerate(nb.cells):
            if index in after_calls and cell.get("outputs"):
                cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=self.after_tests_note)]
            for out in cell.get("outputs", []):
                if out.output_type == "error" and index in from_kernel \
                        and any(self.placeholder in clean(t) for t in out.traceback):
                    # the student's own message, raised on a hidden input: it may echo that input
                    out.evalue = self.hidden_message
                    out.traceback = [clean(t) for t in out.traceback[:-1]] + [f"{out.ename}: {self.hidden_message}"]
                    continue
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
