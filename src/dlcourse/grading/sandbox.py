"""Isolation of a student's kernel while ``dlcourse-grade`` autogrades it (Instructors' guide).

nbgrader starts one Jupyter kernel per submitted notebook and runs the student's code in it.
``dlcourse-grade`` starts that kernel through :func:`main` (``python -m dlcourse.grading.sandbox``),
which confines it before it runs a single line of student code. What Linux offers is probed
once per class run (:func:`probe`); each missing feature is reported as a notice and grading
goes on with what is left.

What is isolated (when the feature is available; root, or unprivileged user namespaces):

* **Network**: a new, empty network namespace (``CLONE_NEWNET``): no interface is up, not even
  loopback, so neither the internet nor services on 127.0.0.1 (a PostgreSQL gradebook, Jupyter
  servers) can be reached. The grader talks to the kernel over Unix sockets (``ipc`` transport).
* **Files**: a private mount namespace. The course root, the temporary grading folders of every
  submission, ``/tmp``, ``/var/tmp``, ``/dev/shm``, ``/run``, home folders and PostgreSQL's data
  are covered by empty in-memory file systems. Only the Python environment, the ``dlcourse``
  package and ``datasets/`` come back, **read-only**. So ``solutions/``, the gradebook (SQLite
  file or server), ``.git``, ``submitted/``, ``autograded/``, ``feedback/`` and other students'
  files cannot be read by absolute path, and the checks and data cannot be changed for the next
  student. The kernel's working folder is a private copy of the submission folder: nothing it
  writes reaches the grader's files (so it cannot plant a link where nbgrader writes the
  graded notebook).
* **Processes**: a new PID namespace with its own ``/proc``; when the kernel ends, every process
  it started is killed, so nothing outlives the grading of a submission.
* **User**: as root, the kernel drops to ``nobody`` (no capabilities, no root-owned secrets).
* **Resources**: ``RLIMIT_AS`` (memory: a memory bomb raises ``MemoryError`` in its cell),
  ``RLIMIT_FSIZE`` (largest file), ``RLIMIT_CORE`` = 0; a wall-clock timeout per cell
  (``Execute.timeout``, interrupt and go on) and per submission (the whole grading process
  group is killed).

What is **not** isolated: CPU time shares and total memory of a fork bomb (no cgroups; each
process has its own address-space limit and the per-submission timeout ends them all); files
readable by ``nobody`` outside the hidden folders (system files, the Python environment and
the course's public datasets); timing side channels; and the kernel's own state: student code
runs in the same Python process as the tests, so a hostile notebook can tamper with the
interpreter. :mod:`dlcourse.grading.preprocessors` re-imports the checks and undoes the common
tricks before every graded cell, and it detects a kernel that swallows errors; see there.
"""

from __future__ import annotations

import ctypes
import json
import os
import pwd
import resource
import shutil
import signal
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG = 1

#: Folders hidden from every kernel besides the course root and the grading folders.
DEFAULT_HIDDEN = ("/tmp", "/var/tmp", "/dev/shm", "/run", "/root", "/home", "/var/lib/postgresql", "/srv", "/mnt", "/media")


@dataclass
class Capabilities:
    """What this machine lets the grader do; found by :func:`probe` (Instructors' guide)."""

    root: bool = False
    userns: bool = False
    net: bool = False
    mount: bool = False
    pid: bool = False
    drop_user: bool = False
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line per isolation feature, for the grading report."""
        lines = [
            f"network isolation: {'on' if self.net else 'OFF'}",
            f"file isolation (private mounts): {'on' if self.mount else 'OFF'}",
            f"process isolation (PID namespace): {'on' if self.pid else 'OFF'}",
            f"runs as unprivileged user 'nobody': {'yes' if self.drop_user else 'no'}",
        ]
        return "\n".join(lines + [f"notice: {n}" for n in self.notes])


@dataclass
class Policy:
    """How one kernel is confined: written by the grader, read by the launcher (Instructors' guide)."""

    memory_bytes: int | None = 4 << 30
    file_size_bytes: int | None = 256 << 20
    net: bool = True
    mount: bool = True
    pid: bool = True
    userns: bool = False
    user: str | None = "nobody"
    hide: list[str] = field(default_factory=list)
    keep_ro: list[str] = field(default_factory=list)
    keep_rw: list[str] = field(default_factory=list)
    tmpfs_size: str = "256m"
    pid_dir: str | None = None

    def dump(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Policy":
        return cls(**json.loads(Path(path).read_text()))


_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _unshare(flags: int) -> None:
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    enc = lambda s: None if s is None else s.encode()  # noqa: E731
    _check(_libc.mount(enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)), f"mount {target}")


def _map_user(uid: int, gid: int) -> None:
    # Inside a new user namespace, map our own ids to themselves (we keep our capabilities
    # in the namespace until exec, which is all the mounts need).
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
    Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")


def _probe_child(flag: int, use_userns: bool) -> bool:
    pid = os.fork()
    if pid == 0:
        try:
            uid, gid = os.getuid(), os.getgid()
            _unshare(flag | (CLONE_NEWUSER if use_userns else 0))
            if use_userns:
                _map_user(uid, gid)
            if flag & CLONE_NEWNS:
                _mount(None, "/", None, MS_REC | MS_PRIVATE)
                _mount("tmpfs", "/mnt", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m")
            os._exit(0)
        except BaseException:
            os._exit(1)
    return os.waitpid(pid, 0)[1] == 0


def _probe_here() -> Capabilities:
    caps = Capabilities(root=os.geteuid() == 0)
    if not sys.platform.startswith("linux"):
        caps.notes.append("not Linux: only resource limits and timeouts are in force")
        return caps
    use_userns = False
    if not caps.root:
        caps.userns = _probe_child(0, True)
        use_userns = caps.userns
        if not use_userns:
            caps.notes.append("unprivileged user namespaces are not permitted: no network or file isolation")
            return caps
    caps.net = _probe_child(CLONE_NEWNET, use_userns)
    caps.mount = _probe_child(CLONE_NEWNS, use_userns)
    caps.pid = _probe_child(CLONE_NEWPID, use_userns)
    try:
        pwd.getpwnam("nobody")
        caps.drop_user = caps.root
    except KeyError:
        caps.notes.append("no user 'nobody': the kernel keeps the grader's user")
    if not caps.root:
        caps.notes.append("not root: the kernel keeps the grader's user (inside a user namespace)")
    for name in ("net", "mount", "pid"):
        if not getattr(caps, name):
            caps.notes.append(f"{name} namespaces are not permitted here: that isolation is OFF")
    return caps


def probe() -> Capabilities:
    """Find which isolation features this machine permits, in a throw-away child (Instructors' guide)."""
    out = subprocess.run(
        [sys.executable, "-m", "dlcourse.grading.sandbox", "--probe"],
        capture_output=True, text=True, timeout=60,
    )
    try:
        return Capabilities(**json.loads(out.stdout))
    except (json.JSONDecodeError, TypeError):
        return Capabilities(notes=[f"isolation probe failed: {out.stderr.strip()[-300:]}"])


def make_policy(caps: Capabilities, *, hide, keep_ro, keep_rw, memory_bytes, file_size_bytes) -> Policy:
    """The policy that applies every isolation ``caps`` allows (Instructors' guide)."""
    return Policy(
        memory_bytes=memory_bytes,
        file_size_bytes=file_size_bytes,
        net=caps.net,
        mount=caps.mount,
        pid=caps.pid,
        userns=not caps.root and caps.userns,
        user="nobody" if caps.drop_user else None,
        hide=[str(p) for p in hide],
        keep_ro=[str(p) for p in keep_ro],
        keep_rw=[str(p) for p in keep_rw],
    )


def _set_limits(policy: Policy) -> None:
    limits = [(resource.RLIMIT_CORE, 0)]
    if policy.memory_bytes:
        limits.append((resource.RLIMIT_AS, policy.memory_bytes))
    if policy.file_size_bytes:
        limits.append((resource.RLIMIT_FSIZE, policy.file_size_bytes))
    for which, value in limits:
        resource.setrlimit(which, (value, value))


def _confine_files(policy: Policy, workdir: str) -> str:
    """Hide folders behind empty tmpfs mounts and bring back what the kernel needs; return its cwd."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    if policy.pid:
        _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    # Open what must stay visible before anything is covered; bind it back from the fd.
    keep = []
    for path, writable in [(p, False) for p in policy.keep_ro] + [(p, True) for p in policy.keep_rw]:
        path = os.path.realpath(path)
        if os.path.exists(path):
            keep.append((path, writable, os.open(path, os.O_PATH)))
    work_fd = os.open(workdir, os.O_RDONLY | os.O_DIRECTORY)
    hidden = sorted({os.path.realpath(p) for p in policy.hide if os.path.exists(p)}, key=len)
    covered: list[str] = []
    for path in hidden:
        if any(path.startswith(c.rstrip("/") + "/") for c in covered):
            continue  # already under an empty tmpfs
        covered.append(path)
        if os.path.isdir(path):
            _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, f"size={policy.tmpfs_size},mode=1777")
        else:
            _mount("/dev/null", path, None, MS_BIND)
    for path, writable, fd in keep:
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            os.makedirs(path, exist_ok=True)
        elif not os.path.exists(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            Path(path).touch()
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        if not writable:
            _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
        os.close(fd)
    # A private, writable copy of the submission folder at the same path.
    private = os.path.join("/tmp", ".dlcourse-work")
    shutil.copytree(f"/proc/self/fd/{work_fd}", private, symlinks=True)
    os.close(work_fd)
    os.makedirs(workdir, exist_ok=True)
    _mount(private, workdir, None, MS_BIND)
    return workdir


def _launch(policy: Policy, argv: list[str]) -> None:
    """Child side: confine this process, then exec the kernel (never returns)."""
    libc_prctl = _libc.prctl
    libc_prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    workdir = os.getcwd()
    # The connection file is readable by the grader's user only; pass its content on.
    conn_idx = argv.index("-f") + 1 if "-f" in argv else None
    conn_text = Path(argv[conn_idx]).read_text() if conn_idx else None
    font_caches = sorted(Path(os.path.expanduser("~/.cache/matplotlib")).glob("fontlist-*.json"))
    fonts = {p.name: p.read_bytes() for p in font_caches}
    if policy.mount:
        workdir = _confine_files(policy, workdir)
    if policy.mount:
        home = "/tmp/.dlcourse-home"
    else:
        import tempfile

        home = tempfile.mkdtemp(prefix="dlcourse-home-")
    os.makedirs(os.path.join(home, "matplotlib"), exist_ok=True)
    for name, data in fonts.items():
        Path(home, "matplotlib", name).write_bytes(data)
    if conn_idx:
        conn = Path(home, "kernel.json")
        conn.write_text(conn_text)
        argv[conn_idx] = str(conn)
    env = dict(os.environ, HOME=home, IPYTHONDIR=os.path.join(home, "ipython"),
               MPLCONFIGDIR=os.path.join(home, "matplotlib"), TMPDIR="/tmp" if policy.mount else home)
    if policy.user:
        user = pwd.getpwnam(policy.user)
        for dirpath, dirnames, filenames in os.walk(home):
            for name in [dirpath] + [os.path.join(dirpath, n) for n in dirnames + filenames]:
                os.chown(name, user.pw_uid, user.pw_gid)
        if policy.mount:
            for dirpath, dirnames, filenames in os.walk(workdir):
                for name in [dirpath] + [os.path.join(dirpath, n) for n in dirnames + filenames]:
                    os.lchown(name, user.pw_uid, user.pw_gid)
        env.update(USER=policy.user, LOGNAME=policy.user)
        _set_limits(policy)
        os.setgroups([])
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)
        # Changing the user clears the parent-death signal: re-arm it, or a SIGKILLed launcher
        # (a stuck kernel's restart, a submission timeout) leaves the kernel running forever.
        libc_prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    else:
        _set_limits(policy)
    os.chdir(workdir)
    os.execvpe(argv[0], argv, env)


def run_confined(policy: Policy, argv: list[str]) -> int:
    """Start ``argv`` under ``policy`` and wait for it; the exit status (Instructors' guide)."""
    # Die with the grading process, and let the grader find us when it must stop a submission.
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if policy.pid_dir:
        Path(policy.pid_dir, str(os.getpid())).touch()
    flags = (CLONE_NEWNET if policy.net else 0) | (CLONE_NEWNS if policy.mount else 0)
    flags |= CLONE_NEWPID if policy.pid else 0
    if flags:
        uid, gid = os.getuid(), os.getgid()
        _unshare(flags | (CLONE_NEWUSER if policy.userns else 0))
        if policy.userns:
            _map_user(uid, gid)
    child = os.fork()
    if child == 0:
        try:
            _launch(policy, argv)
        except BaseException as exc:  # report and never fall back to an unconfined kernel
            print(f"dlcourse sandbox: could not confine the kernel: {exc!r}", file=sys.stderr)
            if os.environ.get("DLCOURSE_SANDBOX_DEBUG"):
                import traceback

                traceback.print_exc()
        os._exit(70)
    # nbgrader interrupts the whole process group with SIGINT; the kernel handles it, we ignore it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, lambda *_: os.kill(child, signal.SIGKILL))
    while True:
        try:
            _, status = os.waitpid(child, 0)
            break
        except ChildProcessError:
            return 1
        except InterruptedError:
            continue
    return os.waitstatus_to_exitcode(status)


class SandboxedKernelManager(AsyncKernelManager):
    """Kernel manager that starts every kernel through the sandbox launcher (Instructors' guide).

    The policy file is named by the environment variable ``DLCOURSE_SANDBOX_POLICY``; without
    it the kernel starts as usual (plain ``nbgrader autograde``).
    """

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        policy = os.environ.get("DLCOURSE_SANDBOX_POLICY")
        if not policy:
            return cmd
        return [sys.executable, "-m", "dlcourse.grading.sandbox", "--policy", policy, "--", *cmd]


def main(argv: list[str] | None = None) -> int:
    """``python -m dlcourse.grading.sandbox --policy FILE -- CMD...`` or ``--probe`` (Instructors' guide)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--probe"]:
        print(json.dumps(asdict(_probe_here())))
        return 0
    if len(argv) < 4 or argv[0] != "--policy" or argv[2] != "--":
        print("usage: python -m dlcourse.grading.sandbox --policy FILE -- CMD...", file=sys.stderr)
        return 2
    return run_confined(Policy.load(argv[1]), argv[3:])


if __name__ == "__main__":
    sys.exit(main())
