"""The adversarial suite: submissions of chapter 1 that attack the grader, with the honest scores they must not beat.

Each attack is a cell (or a file) added to a base notebook: the blank release (honest score 0),
the partial answer of :func:`grading_fixtures.partial`, the solution or an honest wrong answer
(``honest_q3``, ``honest_q6``). ``EXPECTED`` gives each attack's exact score, which is the honest
score of its base: an attack may cost points, never gain them. Every score is derived from the
release's per-cell points (nbgrader metadata), so a revision of chapter 1 that keeps the grade ids
listed in :mod:`grading_fixtures` keeps this suite valid. An answer made wrong for an attack is
wrong while its test runs and put back right after it (:func:`grading_fixtures.wrong_for_its_test`),
so that it costs exactly its own test's points. Attacks that shadow names the student's own code
may use (``abs``, ``sorted``, ``np``, ``checks``, ``keras``) are added to the blank release, whose
score (0) no later answer can change. Attack
code prints ``LEAK-OK``/``READ-OK``/``WRITE-OK`` when it gets something it must not, so the
suite can assert that no such line appears anywhere.

Attacks listed by the grading issue (names as in the closing note's table): ``input_transformer``,
``session_send``, ``patch_allclose``, ``float_eq``, ``proxy_numpy``, ``proxy_keras``,
``builtins_dict``, ``meta_path``, ``symlink_solution``, ``symlink_extras``, ``outside_checkout``,
``env_secrets``, ``sysv_shm`` (+ ``sysv_reader``), ``huge_outputs``, ``leak_transformer``,
``leak_wrapped_function``. Our own: the rest.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import uuid
from pathlib import Path

from grading_fixtures import (
    KEY, ROOT, WRONG_MSE, full_marks, insert_after, partial, partial_score, placeholder, release, solution,
    submit, without, wrong_for_its_test,
)

RUN = uuid.uuid4().hex[:10]
#: Secrets in the grader's environment that no kernel may see.
GRADER_SECRETS = {"DLCOURSE_GRADER_TOKEN": f"tok-{RUN}-secret", "AWS_SECRET_ACCESS_KEY": f"aws-{RUN}-secret"}
MARKER = f"dlcourse-attack-{RUN}"  # in the argv of every process an attack starts
SHM_KEY = 0x5EC000 + int(RUN[:4], 16) % 4096


INPUT_TRANSFORMER = """
_ip = get_ipython()
class _AllPass:
    def __init__(self, inner):
        self.inner = inner
    def transform_cell(self, cell):
        return "pass\\n"
    def __getattr__(self, name):
        return getattr(self.inner, name)
_ip.input_transformer_manager = _AllPass(_ip.input_transformer_manager)
"""

SESSION_SEND = """
from jupyter_client.session import Session
_orig_send = Session.send
def _send(self, stream, msg_or_type, content=None, *args, **kwargs):
    if isinstance(msg_or_type, dict):
        content = msg_or_type.get("content", {})
    if isinstance(content, dict):
        if content.get("status") == "error":
            content.clear()
            content.update(status="ok", execution_count=1, user_expressions={}, payload=[])
        for value in (content.get("user_expressions") or {}).values():
            if isinstance(value, dict) and value.get("status") == "error":
                value.clear()
                value.update(status="ok", data={"text/plain": "'{\\"ok\\": true}'"}, metadata={})
    return _orig_send(self, stream, msg_or_type, content, *args, **kwargs)
Session.send = _send
"""

PATCH_ALLCLOSE = """
import numpy
numpy.allclose = lambda *a, **k: True
numpy.isclose = lambda *a, **k: numpy.ones(1, bool)
numpy.array_equal = lambda *a, **k: True
np.allclose, np.isclose, np.array_equal = numpy.allclose, numpy.isclose, numpy.array_equal
"""

FLOAT_EQ = """
class _AlwaysEqual(float):
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    __hash__ = float.__hash__
diverging_lr = _AlwaysEqual(-1.0)  # no learning rate is negative
"""

PROXY_NUMPY = """
import sys, types
_real = sys.modules["numpy"]
class _Proxy(types.ModuleType):
    def __getattr__(self, name):
        if name in ("allclose", "array_equal"):
            return lambda *a, **k: True
        if name == "isclose":
            return lambda *a, **k: _real.ones(1, bool)
        return getattr(_real, name)
sys.modules["numpy"] = _Proxy("numpy")
np = sys.modules["numpy"]
"""

PROXY_KERAS = """
import sys, types
class _Anything(types.ModuleType):
    def __getattr__(self, name):
        return lambda *a, **k: True
sys.modules["keras"] = _Anything("keras")
sys.modules["tensorflow"] = _Anything("tensorflow")
"""

BUILTINS_DICT = """
import builtins
__builtins__ = dict(vars(builtins))
__builtins__["abs"] = lambda x: 0
__builtins__["sorted"] = lambda x, *a, **k: list(range(100, 120))
__builtins__["AssertionError"] = type("AssertionError", (Exception,), {})
abs = lambda x: 0
"""

META_PATH = """
import sys, types, importlib.abc, importlib.machinery
class _NoChecks(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name.startswith("dlcourse.checks"):
            return importlib.machinery.ModuleSpec(name, self)
        return None
    def create_module(self, spec):
        module = types.ModuleType(spec.name)
        module.__getattr__ = lambda attr: (lambda *a, **k: None)
        return module
    def exec_module(self, module):
        pass
sys.meta_path.insert(0, _NoChecks())
for _name in [m for m in sys.modules if m.startswith("dlcourse.checks")]:
    del sys.modules[_name]
import dlcourse.checks.ch01_learning_from_data as checks
"""

SHADOW_SETUP = """
class _Nothing:
    def __getattr__(self, name):
        return lambda *a, **k: True
checks = _Nothing()
np = _Nothing()
"""

READ_OUTSIDE = """
import glob, os, sys
_paths = [{outside!r}, {outside_sol!r}, {repo_sol!r}, {course_sol!r}, {gradebook!r}, "/etc/shadow", "/root/.bashrc",
          *glob.glob("/tmp/*/course/gradebook.db"), *glob.glob("/tmp/*/course/source/*/*.ipynb")]
for _p in _paths:
    try:
        with open(_p, "rb") as _fh:
            print("READ-OK", _p, len(_fh.read(100)))
    except OSError as _exc:
        print("READ-FAIL", _p, type(_exc).__name__)
# folders that must hold no file of the machine's (the kernel's own /tmp files and the allowlist aside)
import dlcourse
from dlcourse.data import get_data_dir
_own = (os.getcwd(), "/tmp/.dlcourse-", *glob.glob("/tmp/*/ipc/"), os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix),
        os.path.dirname(os.path.dirname(dlcourse.__file__)) + "/", str(get_data_dir()) + "/")  # the allowlist, wherever the checkout is
for _top in ("/home", "/run", "/var", "/srv", "/mnt", "/opt", "/root", "/tmp", "/media", "/boot"):
    _files = []
    for _d, _dirs, _fs in os.walk(_top):
        # an allowlisted folder holds only allowlisted files: skip it rather than list the whole
        # Python installation (that took longer than the cell timeout on a loaded machine)
        _dirs[:] = [x for x in _dirs if not (os.path.join(_d, x) + "/").startswith(_own)
                    and not os.path.join(_d, x).startswith(_own)]
        _files += [os.path.join(_d, f) for f in _fs]
    _files = [f for f in _files if not f.startswith(_own)]
    print("READ-OK" if _files else "READ-FAIL", _top, _files[:3])
"""

ENV_SECRETS = """
import glob, os
_seen = repr(dict(os.environ))
for _p in glob.glob("/proc/*/environ") + glob.glob("/proc/*/cmdline"):
    try:
        _seen += open(_p, "rb").read().decode("latin-1")
    except OSError:
        pass
for _secret in ("tok-", "aws-"):
    if _secret + {run!r} in _seen:
        print("LEAK-OK environment", _secret)
print("ENV-KEYS", sorted(os.environ))
"""

SYSV_SHM = """
import ctypes
_libc = ctypes.CDLL(None, use_errno=True)
_libc.shmget.restype = ctypes.c_int
_id = _libc.shmget({key}, ctypes.c_size_t(2 << 30), 0o1000 | 0o666)
print("SHM-CREATED", _id)
"""

SYSV_READER = """
import ctypes
_libc = ctypes.CDLL(None, use_errno=True)
_id = _libc.shmget({key}, ctypes.c_size_t(0), 0o666)
print("READ-OK shm" if _id >= 0 else "READ-FAIL shm")
"""

HUGE_OUTPUTS = "print('x' * 100_000_000)\n"

LEAK_TRANSFORMER = """
_recorded = []
def _record(lines):
    _recorded.append("".join(lines))
    return lines
get_ipython().input_transformers_cleanup.append(_record)
import atexit
"""

LEAK_PRINT = """
import base64, linecache
_all = "\\n".join(_recorded) + "\\n".join(In) + "".join("".join(v[2]) for v in linecache.cache.values() if len(v) > 2)
print(_all[::-1])
print(base64.b64encode(_all.encode()).decode())
print("\\n".join(_all[i:i + 7] for i in range(0, len(_all), 7)))
"""

LEAK_WRAPPED = """
import base64, inspect, linecache, sys
_calls = []
def mse(y_true, y_pred):
    _calls.append(1)
    if len(_calls) > 12:  # the graded calls come first; the student's own fitting loop calls it often
        return float(np.mean((np.asarray(y_pred) - np.asarray(y_true)) ** 2))
    _stack = []
    _f = sys._getframe(0)
    while _f is not None:
        try:
            _stack.append(inspect.getsource(_f.f_code))
        except (OSError, TypeError):
            pass
        _stack.append(repr(_f.f_locals)[:2000])
        _f = _f.f_back
    _stack.append("".join("".join(v[2]) for v in linecache.cache.values() if len(v) > 2))
    print(base64.b64encode("\\n".join(_stack).encode()).decode())
    return float(np.mean((np.asarray(y_pred) - np.asarray(y_true)) ** 2))
"""

FAKE_AGENT = """
import sys, types
_fake = types.ModuleType("dlcourse.grading.agent")
_fake.handle = lambda text: {payload!r}
sys.modules["dlcourse.grading.agent"] = _fake
import dlcourse.grading
dlcourse.grading.agent = _fake
"""

FORK_SLEEPERS = """
import subprocess, sys
_procs = [subprocess.Popen(["sleep", "3600", {marker!r}], start_new_session=True) for _ in range(50)]
print("STARTED", len(_procs))
"""

KILL_LAUNCHER = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n"
KILL_ALL = "import os, signal\nos.kill(-1, signal.SIGKILL)\n"

WRITE_OUTSIDE = """
import os
for _p in [{course!r} + "/pwned", {checks!r}, {datasets!r} + "/pwned", "/pwned", "/etc/pwned", "/usr/pwned",
           {outside!r} + "/pwned", {repo!r} + "/pwned"]:
    try:
        with open(_p, "a") as _fh:
            _fh.write("pwned")
        print("WRITE-OK", _p)
    except OSError as _exc:
        print("WRITE-FAIL", _p, type(_exc).__name__)
"""

SLOW_MSE = "def mse(y_true, y_pred):\n    while True:\n        pass\n"

RETURN_PROXY = """
class _Yes:
    def __eq__(self, other): return True
    def __lt__(self, other): return True
    def __gt__(self, other): return True
    def __abs__(self): return self
    def __sub__(self, other): return self
    def __float__(self): return 0.0
    def __array__(self, *a, **k): raise TypeError("no")
def mse(y_true, y_pred):
    return _Yes()
"""

HOSTNAME = "import socket\nprint('HOSTNAME', socket.gethostname())\n"

DEEP_ANSWER = """
_deep = []
for _ in range(200):
    _deep = [_deep]
diverging_lr = _deep
"""

#: Issue 24, item 1: with an answer cell above the locked set-up, the old grader collected no set-up
#: cell and fetched ``checks`` and ``np`` from the kernel, where they are patched here. A regression
#: guard: at b4be7d4 this submission also scored its base (q3's hidden asserts call ``mse`` itself);
#: the names' origin is asserted by the interface tests (``test_reference_data_and_set_up_names...``).
PATCH_AFTER_SETUP = PATCH_ALLCLOSE + """
checks.check_mse = lambda *a, **k: None
checks.check_task_types = lambda *a, **k: None
"""


def answer_first(nb, grade_id: str):
    """``nb`` with the answer cell ``grade_id`` moved to the very top, above the locked set-up."""
    import copy

    nb = copy.deepcopy(nb)
    i = next(k for k, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    nb.cells.insert(0, nb.cells.pop(i))
    return nb


FULL, PARTIAL = full_marks(), partial_score()
Q3, Q6 = "q3_mse_test", "q6_diverging_lr_test"

#: student -> (autograded points, derived from the release's points; status; words the reason must contain)
EXPECTED = {
    # controls beyond the class's own sol / blank / partial_1..3
    "sol_2": (FULL, "graded", ""),
    "sol_3": (FULL, "graded", ""),
    "honest_q3": (without(Q3), "graded", ""),
    "honest_q6": (without(Q6), "graded", ""),
    # attacks of the issue
    "input_transformer": (0, "graded", ""),
    "session_send": (0, "graded", ""),
    "patch_allclose": (PARTIAL, "graded", ""),
    "float_eq": (without(Q6), "graded", ""),
    "proxy_numpy": (PARTIAL, "graded", ""),
    "proxy_keras": (0, "graded", ""),
    "builtins_dict": (0, "graded", ""),
    "meta_path": (0, "graded", ""),
    "symlink_solution": (0, "failed", f"rejected {KEY}.ipynb: a symbolic link"),
    "symlink_extras": (FULL, "graded", "rejected gradebook.db: a symbolic link"),
    "outside_checkout": (FULL, "graded", ""),
    "env_secrets": (FULL, "graded", ""),
    "sysv_shm": (FULL, "graded", ""),
    "sysv_reader": (FULL, "graded", ""),
    "huge_outputs": (FULL, "graded", "output_capped"),
    "leak_transformer": (PARTIAL, "graded", ""),
    "leak_wrapped_function": (FULL, "graded", ""),
    # our own
    # fake `np` and `checks` in the kernel: the tests use the grader's own set-up names
    "shadow_setup_names": (0, "graded", ""),
    "fake_agent_pickle": (0, "tampered", "tampered in"),
    "fake_agent_keras_code": (0, "tampered", "tampered in"),
    "fake_agent_deep": (0, "tampered", "tampered in"),
    "fake_agent_lambda_layer": (0, "tampered", "tampered in"),
    "fork_sleepers": (FULL, "graded", ""),
    "kill_launcher": (FULL, "graded", ""),  # the kernel is PID 1 of its namespace: whatever it kills, it costs nothing
    "kill_all": (FULL, "graded", ""),
    "write_outside": (FULL, "graded", ""),
    # mse never returns: q3's test times out, like an honest mse that loops
    "slow_function": (without(Q3), "graded", "timeout in q3_mse_test"),
    # mse returns an object that claims to equal anything: q3 fails
    "return_proxy": (without(Q3), "graded", ""),
    "hostname": (FULL, "graded", ""),
    "deep_answer": (without(Q6), "graded", ""),
    "hard_link_solution": (0, "failed", "a hard link shared with another file"),
    # issue 24, item 1: the honest wrong mse moved above the set-up, checks and numpy patched after it
    "answer_above_setup": (without(Q3), "graded", ""),
    # the same with q1's blank answer moved up as well: still the partial answer's score
    "answers_above_setup_partial": (PARTIAL, "graded", ""),
    "fifo_extra": (FULL, "graded", "rejected notes.txt: a named pipe (FIFO)"),
    "too_many_files": (0, "failed", "more than 200 files in the submission"),
    "linked_folder": (0, "failed", "the submission folder is a symbolic link"),
}

#: The honest submission each attack builds on: no attack may score more than it.
BASE = {name: "sol" for name in EXPECTED}
BASE.update({name: "blank" for name in ("input_transformer", "session_send", "fake_agent_pickle", "fake_agent_keras_code",
                                         "fake_agent_deep", "fake_agent_lambda_layer", "proxy_keras", "builtins_dict",
                                         "meta_path", "shadow_setup_names")})
BASE.update({name: "partial_1" for name in ("patch_allclose", "proxy_numpy", "leak_transformer")})
BASE.update({"answer_above_setup": "honest_q3", "answers_above_setup_partial": "partial_1"})
BASE.update({"float_eq": "honest_q6", "slow_function": "honest_q3", "return_proxy": "honest_q3", "deep_answer": "honest_q6",
             "symlink_solution": "blank", "hard_link_solution": "blank", "too_many_files": "blank",
             "linked_folder": "blank", "sol_2": "sol", "sol_3": "sol", "honest_q3": "sol", "honest_q6": "sol"})

#: Attacks whose outputs are searched for hidden-test lines in every encoding.
LEAKERS = ("leak_transformer", "leak_wrapped_function", "input_transformer", "session_send")


def _agent_payload(kind: str) -> str:
    if kind == "pickle":
        return '{"ok": {"__pickle__": "gASVAAAAAAAAAAA="}}'
    if kind == "keras_code":
        return '{"ok": {"__keras__": {"config": {"module": "os", "class_name": "system", "config": {}}, "weights": []}}}'
    if kind == "lambda_layer":
        return ('{"ok": {"__keras__": {"config": {"module": "keras.layers", "class_name": "Lambda", '
                '"config": {"function": {"class_name": "__lambda__", "config": {"code": "eJw="}}}}, "weights": []}}}')
    return '{"ok": ' + "[" * 100_000 + "]" * 100_000 + "}"


def outside_dir(course: Path) -> Path:
    """A world-readable checkout of the course outside the course root (the issue's attack)."""
    return course.parent / "outside-checkout"


def build(course: Path) -> None:
    """Submit every attack of ``EXPECTED`` into ``course``."""
    sol, blank, part = solution(), release(), partial()
    honest_q3 = wrong_for_its_test(sol, "q3_mse", WRONG_MSE)
    honest_q6 = wrong_for_its_test(sol, "q6_diverging_lr", placeholder("q6_diverging_lr"))
    outside = outside_dir(course)
    (outside / "solutions").mkdir(parents=True, exist_ok=True)
    (outside / "solutions" / f"{KEY}.ipynb").write_bytes((ROOT / "solutions" / KEY / f"{KEY}.ipynb").read_bytes())
    (outside / "secret.txt").write_text("outside secret")
    for path in (outside, outside / "solutions"):
        path.chmod(0o755)
    course_sol = str(course / "solutions" / KEY / f"{KEY}.ipynb")

    submit(course, "sol_2", sol)
    submit(course, "sol_3", sol)
    submit(course, "honest_q3", honest_q3)
    submit(course, "honest_q6", honest_q6)
    submit(course, "input_transformer", insert_after(blank, "setup", INPUT_TRANSFORMER))
    submit(course, "session_send", insert_after(blank, "setup", SESSION_SEND))
    submit(course, "patch_allclose", insert_after(part, "setup", PATCH_ALLCLOSE))
    submit(course, "float_eq", wrong_for_its_test(sol, "q6_diverging_lr", FLOAT_EQ))
    submit(course, "proxy_numpy", insert_after(part, "setup", PROXY_NUMPY))
    submit(course, "proxy_keras", insert_after(blank, "setup", PROXY_KERAS))
    submit(course, "builtins_dict", insert_after(blank, "setup", BUILTINS_DICT))
    submit(course, "meta_path", insert_after(blank, "setup", META_PATH))
    submit(course, "shadow_setup_names", insert_after(blank, "setup", SHADOW_SETUP))
    # a submitted notebook that is a link to the solution
    folder = course / "submitted" / "symlink_solution" / KEY
    folder.mkdir(parents=True)
    (folder / f"{KEY}.ipynb").symlink_to(course_sol)
    # extra files linked to the gradebook and the solution
    submit(course, "symlink_extras", insert_after(sol, "q7_threshold_test",
                                                  "import os\nprint('FILES', sorted(os.listdir('.')))\n"
                                                  "for _p in ('gradebook.db', 'answers.ipynb'):\n"
                                                  "    print('READ-OK' if os.path.exists(_p) else 'READ-FAIL', _p)\n"))
    folder = course / "submitted" / "symlink_extras" / KEY
    (folder / "gradebook.db").symlink_to(course / "gradebook.db")
    (folder / "answers.ipynb").symlink_to(course_sol)
    submit(course, "outside_checkout", insert_after(sol, "q7_threshold_test", READ_OUTSIDE.format(
        outside=str(outside / "secret.txt"), outside_sol=str(outside / "solutions" / f"{KEY}.ipynb"),
        repo_sol=str(ROOT / "solutions" / KEY / f"{KEY}.ipynb"), course_sol=course_sol,
        gradebook=str(course / "gradebook.db"))))
    submit(course, "env_secrets", insert_after(sol, "q7_threshold_test", ENV_SECRETS.format(run=RUN)))
    submit(course, "sysv_shm", insert_after(sol, "q7_threshold_test", SYSV_SHM.format(key=SHM_KEY)))
    submit(course, "sysv_reader", insert_after(sol, "q7_threshold_test", SYSV_READER.format(key=SHM_KEY)))
    submit(course, "huge_outputs", insert_after(insert_after(sol, "q1_task_types_test", HUGE_OUTPUTS),
                                                "q2_split_test", HUGE_OUTPUTS))
    leak = insert_after(insert_after(part, "setup", LEAK_TRANSFORMER), "q7_threshold_test", LEAK_PRINT)
    submit(course, "leak_transformer", leak)
    submit(course, "leak_wrapped_function", wrong_for_its_test(sol, "q3_mse", LEAK_WRAPPED))
    for kind in ("pickle", "keras_code", "deep", "lambda_layer"):
        submit(course, f"fake_agent_{kind}", insert_after(blank, "setup", FAKE_AGENT.format(payload=_agent_payload(kind))))
    submit(course, "fork_sleepers", insert_after(sol, "q7_threshold_test", FORK_SLEEPERS.format(marker=MARKER)))
    submit(course, "kill_launcher", insert_after(sol, "q1_task_types_test", KILL_LAUNCHER))
    submit(course, "kill_all", insert_after(sol, "q1_task_types_test", KILL_ALL))
    import dlcourse.checks.ch01_learning_from_data as checks_module
    from dlcourse.data import get_data_dir

    submit(course, "write_outside", insert_after(sol, "q7_threshold_test", WRITE_OUTSIDE.format(
        course=str(course), checks=checks_module.__file__, datasets=str(get_data_dir()), outside=str(outside),
        repo=str(ROOT))))
    submit(course, "slow_function", wrong_for_its_test(sol, "q3_mse", SLOW_MSE))
    submit(course, "return_proxy", wrong_for_its_test(sol, "q3_mse", RETURN_PROXY))
    submit(course, "hostname", insert_after(sol, "q7_threshold_test", HOSTNAME))
    submit(course, "deep_answer", wrong_for_its_test(sol, "q6_diverging_lr", DEEP_ANSWER))
    submit(course, "answer_above_setup", insert_after(answer_first(honest_q3, "q3_mse"), "setup", PATCH_AFTER_SETUP))
    submit(course, "answers_above_setup_partial",
           insert_after(answer_first(answer_first(part, "q3_mse"), "q1_task_types"), "setup", PATCH_AFTER_SETUP))
    folder = course / "submitted" / "hard_link_solution" / KEY
    folder.mkdir(parents=True)
    os.link(course_sol, folder / f"{KEY}.ipynb")
    submit(course, "fifo_extra", sol)
    os.mkfifo(course / "submitted" / "fifo_extra" / KEY / "notes.txt")
    submit(course, "too_many_files", sol)
    for i in range(201):
        (course / "submitted" / "too_many_files" / KEY / f"f{i}.txt").write_text("x")
    (course / "submitted" / "linked_folder").mkdir()
    (course / "submitted" / "linked_folder" / KEY).symlink_to(course / "solutions" / KEY)


def machine_state() -> dict:
    """What attacks could leave behind on this machine: their processes and SysV IPC objects."""
    procs = subprocess.run(["pgrep", "-f", MARKER], capture_output=True, text=True).stdout.split()
    ipcs = subprocess.run(["ipcs", "-m"], capture_output=True, text=True).stdout
    return {"procs": procs, "shm": f"0x{SHM_KEY:08x}" in ipcs, "outside": sorted(
        str(p) for p in Path("/").glob("pwned"))}


# --- finding hidden-test lines in any encoding ------------------------------------------------------

_B64 = re.compile(r"[A-Za-z0-9+/=]{24,}")


def decodings(text: str) -> list[str]:
    """``text`` and what an attacker could have hidden in it: reversed, base64, split over lines."""
    out = [text, text[::-1]]
    for token in _B64.findall(text):
        for pad in ("", "=", "=="):
            try:
                out.append(base64.b64decode(token + pad, validate=False).decode("utf-8", "ignore"))
                break
            except ValueError:
                continue
    return out + ["".join(t.split()) for t in list(out)]


def recoverable(lines: list[str], text: str) -> list[str]:
    """The hidden-test lines that can be read back from ``text`` in any of :func:`decodings`."""
    variants = decodings(text)
    found = []
    for line in lines:
        squeezed = "".join(line.split())
        if any(line in v or (len(squeezed) > 12 and squeezed in v) for v in variants):
            found.append(line)
    return found


# --- issue 24 on chapters 2, 4 and 5: one small class per chapter --------------------------------
#
# Each chapter's class holds the solution and the chapter's honest wrong answer (tests/grading_cases.py)
# as neighbours, and the attacks of issue 24 that apply to the chapter, each built on an honest base
# whose score is derived from the release's points (``without``). ``chapter_class(key)`` returns
# ``{student: ChapterCase}``; tests/test_grading_class_chapters.py grades each class once.

from dataclasses import dataclass  # noqa: E402

from grading_cases import CASES  # noqa: E402
from grading_fixtures import full_marks as _full, release as _release, replace as _replace  # noqa: E402
from grading_fixtures import solution as _solution, without as _without  # noqa: E402


@dataclass(frozen=True)
class ChapterCase:
    """One submission of a chapter's class: its notebook, the issue's class, its honest base and its exact score."""

    nb: object
    item: str        # the class of issue 24 it belongs to ("1" .. "7", or "neighbour")
    base: str        # the honest submission it builds on, in words
    base_score: float
    score: float     # exact autograded points it must get (never above base_score)
    status: str = "graded"
    reason: str = ""  # words the report's reason must contain


#: Every check of the kernel's copy of ``checks`` patched to pass, and the kernel's ``np`` a proxy whose
#: comparisons always pass: with an answer above the locked set-up, the old grader took ``checks`` and ``np``
#: from the kernel (issue 24, item 1). NumPy itself stays intact, so the kernel's own training still works.
PATCH_ALL_CHECKS = """
import types as _types
for _name in dir(checks):
    if _name.startswith("check_"):
        setattr(checks, _name, lambda *a, **k: None)
class _YesNumpy(_types.ModuleType):
    def __getattr__(self, name):
        if name in ("allclose", "array_equal", "isclose"):
            return lambda *a, **k: True
        return getattr(__import__("numpy"), name)
np = _YesNumpy("numpy")
"""

#: Reference data redefined, and multiplied by NaN, in the kernel (issue 24, item 2): the test must read the
#: grader's. ``{names}`` are the chapter's data names; the originals come back after the test.
NAN_DATA = """
_saved = {{_n: globals()[_n] for _n in {names!r}}}
for _n in {names!r}:
    try:
        globals()[_n] = globals()[_n] * np.nan
    except TypeError:
        globals()[_n] = None
wine = order = None
split_red_wine = lambda *a, **k: None
"""
NAN_RESTORE = "globals().update(_saved)\n"

#: numpy_predict that zeroes the weights of the model it is given (issue 24, item 3): arguments go by value.
ZERO_WEIGHTS = """
def numpy_predict(model, X):
    for _layer in model.layers:
        _layer.set_weights([np.zeros_like(_w) for _w in _layer.get_weights()])
    return np.zeros((len(X), model.layers[-1].get_weights()[0].shape[1]))
"""

#: A plain object whose predict looks the true targets up by nearest row (issue 24, item 4); the rows come
#: from the public wine data the kernel can read. ``{rows}`` builds ``_rows`` and ``_ys``.
LOOKUP_MODEL = """
{rows}
class LookUpModel:
    loss = "mae"
    def predict(self, X, verbose=0, **kwargs):
        X = np.asarray(X, dtype=float)
        near = np.argmin(((X[:, None, :] - _rows[None, :, :]) ** 2).sum(-1), axis=1)
        return _ys[near].reshape(-1, 1)
    def fit(self, *args, **kwargs):
        return None
model = LookUpModel()
history = {{"loss": [0.9, 0.5, 0.45, 0.46], "val_loss": [0.9, 0.5, 0.45, 0.46], "mae": [0.7, 0.5, 0.44, 0.45],
           "val_mae": [0.7, 0.5, 0.44, 0.45]}}
print("LOOKUP-MAE", round(float(np.mean(np.abs(model.predict(X_val).ravel() - y_val))), 6))
"""
ROWS_CH04 = """from dlcourse.data import split_red_wine as _split
_p = _split().arrays()
_rows = np.concatenate([_p["X_train"], _p["X_val"], _p["X_test"]]).astype(float)
_ys = np.concatenate([_p["y_train"], _p["y_val"], _p["y_test"]]).astype(float)"""
ROWS_CH05 = """_parts = checks.wine_split()
_rows = np.concatenate(_parts[0::2]).astype(float)
_ys = np.concatenate(_parts[1::2]).astype(float)"""

#: A Keras model with a Lambda layer (issue 24, item 4): its rebuild is refused, the submission flagged.
LAMBDA_MODEL = """
model = keras.Sequential([keras.Input(shape=(11,)),
                          keras.layers.Lambda(lambda x: keras.ops.sum(x * 0.0, axis=1, keepdims=True) + 5.6)])
history = {"loss": [0.9, 0.5, 0.45], "val_loss": [0.9, 0.5, 0.45], "mae": [0.7, 0.5, 0.44],
           "val_mae": [0.7, 0.5, 0.44]}
"""

#: A wrapper that records the graded function's inputs, printed by a later cell (issue 24, item 5).
RECORD_CALLS = """
_recorded = []
_inner = {fn}
def {fn}(*args, **kwargs):
    _recorded.append(repr((args, kwargs)))
    return _inner(*args, **kwargs)
"""
PRINT_RECORDED = "print('RECORDED', len(_recorded), _recorded)\n"

#: About a thousand sleeping threads parked in the kernel (issue 24, item 6): a neighbour graded in
#: parallel must keep its exact score (each kernel has its own uid, so RLIMIT_NPROC is per submission).
PARK_THREADS = """
import threading, time
threading.stack_size(256 * 1024)
_parked = []
for _ in range({n}):
    try:
        _t = threading.Thread(target=time.sleep, args=(3600,), daemon=True)
        _t.start()
    except RuntimeError:
        break
    _parked.append(_t)
print("PARKED", len(_parked))
"""

#: Replies the grader must decode within a bounded memory (issue 24, item 7), sent by a replaced agent
#: (``FAKE_AGENT``): 60 MB of empty lists (3.0 GB in the old grader), a 100 MB string, and a 400-byte config
#: for Dense(50_000_000) (6.9 GB when built before its weights were checked).
HUGE_REPLIES = {
    "huge_reply_lists": '"{\\"ok\\": [" + "[]," * 20_000_000 + "[]]}"',
    "huge_reply_string": '"{\\"ok\\": \\"" + "x" * 100_000_000 + "\\"}"',
    "huge_config": repr(json.dumps({"ok": {"__keras__": {"config": {
        "module": "keras.layers", "class_name": "Dense", "registered_name": None,
        "config": {"name": "d", "units": 50_000_000, "activation": "linear", "use_bias": True}},
        "weights": []}, "__h__": 1}})),
}
FAKE_AGENT_EXPR = """
import sys, types
_reply = {expression}
_fake = types.ModuleType("dlcourse.grading.agent")
_fake.handle = lambda text: _reply
sys.modules["dlcourse.grading.agent"] = _fake
import dlcourse.grading
dlcourse.grading.agent = _fake
print("REPLY-BYTES", len(_reply))
"""


@dataclass(frozen=True)
class ChapterPlan:
    """What each attack needs of one chapter: grade ids and names."""

    setup_patch: str            # code after the set-up that patches the kernel's copies of the checks
    data_names: tuple           # reference data a test reads (item 2)
    nan_answer: str             # the answer whose test reads them
    nan_untrained: str          # its honest untrained (or blank) answer
    model_answer: str | None    # the answer that stores a model evaluated on kept-back rows (item 4)
    model_untrained: str | None
    rows: str | None            # code that builds _rows, _ys for LOOKUP_MODEL
    recorded: tuple | None      # (answer cell, function) wrapped by RECORD_CALLS (item 5)
    huge: bool = False          # the item-7 replies (blank base: they cost no training)


UNTRAINED_CH04 = """
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input(shape=(11,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=1e-6), loss="mae")
history = model.fit(X_train, y_train, validation_data=(X_val, y_val), epochs=1, verbose=0)
"""
#: Stopped early after two epochs that barely moved it: the check reaches its comparison of the MAE.
UNTRAINED_CH05 = """
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input(shape=(11,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=1e-6), loss="mse", metrics=["mae"])
stop = keras.callbacks.EarlyStopping(monitor="val_mae", patience=1, min_delta=0.01, restore_best_weights=True)
history = model.fit(X_train, y_train, validation_data=(X_val, y_val), epochs=200, callbacks=[stop], verbose=0)
"""
UNTRAINED_CH02 = """
keras.utils.set_random_seed(0)
model = keras.Sequential([keras.Input(shape=(10,)), keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.SGD(learning_rate=1e-6), loss="mse")
history = model.fit(X_train, y_train, epochs=1, verbose=0)
"""

PLANS = {
    "ch02_neurons": ChapterPlan(
        setup_patch=PATCH_ALL_CHECKS, data_names=("X_train", "y_train", "X_val", "y_val", "mean", "std"),
        nan_answer="q6_wine_unit", nan_untrained=UNTRAINED_CH02, model_answer=None, model_untrained=None,
        rows=None, recorded=("q3_max_hidden_units", "max_hidden_units"), huge=True),
    "ch04_sgd": ChapterPlan(
        setup_patch=PATCH_ALL_CHECKS, data_names=("X_train", "y_train", "X_val", "y_val"),
        nan_answer="q7_train", nan_untrained=UNTRAINED_CH04, model_answer="q7_train",
        model_untrained=UNTRAINED_CH04, rows=ROWS_CH04, recorded=("q2_steps_per_epoch", "steps_per_epoch")),
    "ch05_overfitting": ChapterPlan(
        setup_patch=PATCH_ALL_CHECKS, data_names=("X_train", "y_train", "X_val", "y_val", "baseline_mse"),
        nan_answer="q5_train_early_stopping", nan_untrained=UNTRAINED_CH05,
        model_answer="q5_train_early_stopping", model_untrained=UNTRAINED_CH05, rows=ROWS_CH05, recorded=None),
}

#: Threads parked by the item-6 attack: below the kernel's own process limit (``Policy.pids_max``, 1024),
#: so that the attacker's own kernel keeps room for TensorFlow's threads and its score is exact.
PARKED_THREADS = 900


def chapter_class(key: str) -> dict[str, ChapterCase]:
    """The class of chapter ``key``: neighbours and attacks, each with its exact score (see :class:`ChapterCase`)."""
    from grading_fixtures import insert_after as _after

    plan, case = PLANS[key], CASES[key]
    sol, blank = _solution(key), _release(key)
    full = _full(key)
    wrong_cell, wrong_code, wrong_score = case.wrong_answer
    wrong = _replace(sol, wrong_cell, wrong_code)
    assert wrong_score == _without(f"{wrong_cell}_test", key=key), (key, wrong_score)  # grading_cases agrees
    test = f"{plan.nan_answer}_test"
    # answers replaced for good (not put back after their tests, as wrong_for_its_test does): no later
    # test reads them, and the kernel then trains no model the grade does not need
    untrained = _replace(sol, plan.nan_answer, plan.nan_untrained)
    out = {
        "sol": ChapterCase(sol, "neighbour", "the solution", full, full),
        "wrong": ChapterCase(wrong, "neighbour", f"honest wrong {wrong_cell}", wrong_score, wrong_score),
        # item 1: the honest wrong answer moved above the locked set-up, every check patched after it
        "answer_above_setup": ChapterCase(
            _after(answer_first(wrong, wrong_cell), "setup", plan.setup_patch), "1",
            f"honest wrong {wrong_cell}", wrong_score, wrong_score),
        # item 2: an untrained model, the reference data redefined and multiplied by NaN before its test
        "nan_reference_data": ChapterCase(
            _after(_after(untrained, plan.nan_answer, NAN_DATA.format(names=list(plan.data_names))), test,
                   NAN_RESTORE), "2", f"untrained {plan.nan_answer}", _without(test, key=key),
            _without(test, key=key)),
        # item 6: parked threads; the neighbours graded beside it keep their exact scores
        "park_threads": ChapterCase(_after(sol, "setup", PARK_THREADS.format(n=PARKED_THREADS)), "6",
                                    "the solution", full, full),
    }
    if plan.model_answer:
        mtest = f"{plan.model_answer}_test"
        rows = LOOKUP_MODEL.format(rows=plan.rows)
        out["lookup_model"] = ChapterCase(
            _replace(sol, plan.model_answer, rows), "4", f"untrained {plan.model_answer}",
            _without(mtest, key=key), _without(mtest, key=key))
        out["lambda_model"] = ChapterCase(
            _replace(sol, plan.model_answer, LAMBDA_MODEL), "4", f"untrained {plan.model_answer}",
            _without(mtest, key=key), 0, "tampered", f"tampered in {mtest}")
    if key == "ch02_neurons":  # item 3: numpy_predict zeroes the reference model's weights
        q7 = "q7_numpy_predict"
        out["zero_weights"] = ChapterCase(
            _replace(sol, q7, ZERO_WEIGHTS), "3", f"honest wrong {q7}",
            _without(f"{q7}_test", key=key), _without(f"{q7}_test", key=key))
    if plan.recorded:
        cell, fn = plan.recorded
        out["record_inputs"] = ChapterCase(
            _append(_after(sol, cell, RECORD_CALLS.format(fn=fn)), PRINT_RECORDED), "5", "the solution", full, full)
    if plan.huge:
        for name, expression in HUGE_REPLIES.items():
            out[name] = ChapterCase(_after(blank, "setup", FAKE_AGENT_EXPR.format(expression=expression)), "7",
                                    "blank release", 0, 0, "tampered", "tampered in")
    return out


def _append(nb, source: str):
    """``nb`` with a code cell added at the very end."""
    import copy

    import nbformat

    nb = copy.deepcopy(nb)
    nb.cells.append(nbformat.v4.new_code_cell(source))
    return nb
