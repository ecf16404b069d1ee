"""Isolation of a student's kernel while ``dlcourse-grade`` autogrades it (Instructors' guide).

nbgrader starts one Jupyter kernel per submitted notebook and runs the student's code in it.
``dlcourse-grade`` starts that kernel through :func:`main` (``python -m dlcourse.grading.sandbox``),
which confines it before it runs a single line of student code. What Linux offers is probed
once per class run (:func:`probe`); each missing feature is reported and grading goes on with
what is left. The kernel is only a source of data: the verdicts are computed in the grader
(:mod:`dlcourse.grading.interface`).

What is isolated (when the feature is available; root, or unprivileged user namespaces):

* **Files, by allowlist**: a private mount namespace whose root is a new, empty in-memory file
  system (``pivot_root``) holding only what the kernel needs, bound **read-only**: the system's
  programs and libraries (``/usr``, ``/bin``, ``/lib``...), a few files of ``/etc`` (dynamic
  linker, fonts, time zone, users), the Python environment, the ``dlcourse`` package and
  ``datasets/``; ``/dev`` holds only ``null``, ``zero``, ``full``, ``random``, ``urandom``.
  Writable: the kernel's working folder (a private copy of the submission), ``/tmp``,
  ``/dev/shm`` and its home, all in the sandbox's own capped memory file system, gone when the
  kernel ends. Nothing else of the machine exists for the kernel: not the course, the
  gradebook, other submissions, home folders, ``/run`` or ``/var``.
* **Environment, by allowlist**: the kernel gets ``PATH``, ``HOME``, ``TMPDIR``, ``PYTHONPATH``
  (the package), its caches' folders and the variables of :data:`ENV_ALLOWLIST` (TensorFlow's
  logging, thread counts, locale); nothing else of the grader's environment (tokens,
  credentials, database URLs).
* **Network**: a new, empty network namespace: no interface is up, not even loopback. The
  grader talks to the kernel over Unix sockets (``ipc`` transport).
* **Processes, IPC, host name**: new PID, IPC (System V shared memory, semaphores, message
  queues) and UTS namespaces; when the kernel ends, every process it started and every IPC
  object it made are gone with the namespaces.
* **User**: as root, the kernel drops to a uid of its own (``Policy.uid_base`` plus its
  launcher's process id, group ``nobody``'s; no capabilities).
* **Resources**: ``RLIMIT_AS`` per process (memory), ``RLIMIT_FSIZE``, ``RLIMIT_CORE`` = 0,
  ``RLIMIT_NPROC`` per kernel where it runs as its own uid; a memory limit and ``pids.max``
  over all its processes where the grader can write a memory cgroup (v2 ``memory.max``, else
  the v1 ``memory`` and ``pids`` hierarchies; reported when not); a wall-clock timeout per cell and per submission; output
  capped per cell and per notebook as it arrives (:mod:`dlcourse.grading.preprocessors`).
* **CPU**: a CPU quota over all the kernel's processes (``Policy.cpu_cores``, one core by
  default): a cgroup of its own in the CPU controller, v2 ``cpu.max`` or v1
  ``cpu.cfs_quota_us``, whichever the machine lets the grader write. Processes stay in their
  cgroup whatever they do, so a burner that starts a new session (which would put it in a
  scheduling group of its own, the kernel's "autogroup", out of reach of ``nice``) still
  shares its kernel's quota, and a neighbour graded on another core keeps its speed.

What is **not** isolated: the kernel's own interpreter (which is why no verdict is computed
there), timing side channels, and, where the grader can write no cgroup (reported), CPU
shares and the total memory of many processes (each one is capped by ``RLIMIT_AS`` and their
number by ``RLIMIT_NPROC``).
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


CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG = 1
MNT_DETACH = 2
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "ppc64le": 203, "s390x": 217}.get(os.uname().machine)

#: The largest message part the grader receives from a kernel (a reply or an output): twice the
#: interface's reply cap (``interface.MAX_REPLY``), far above any honest output, which is cut at 1 MiB.
MAX_MESSAGE_BYTES = 256 << 20
#: Variables of the grader's environment that the kernel may inherit; everything else is dropped.
ENV_ALLOWLIST = ("TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS", "PYTHONHASHSEED", "LANG", "LC_ALL", "LC_CTYPE",
                 "TZ", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "KERAS_BACKEND",
                 "CUDA_VISIBLE_DEVICES", "PYTHONDONTWRITEBYTECODE", "DLCOURSE_DATA_DIR")
#: The grader's variable that sets the TensorFlow intra-op threads of every graded kernel (default 1).
KERNEL_THREADS_ENV = "DLCOURSE_KERNEL_THREADS"
#: System folders bound read-only into the kernel's root (those that exist; links are recreated).
SYSTEM_RO = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
#: Files and folders of /etc the kernel may read.
ETC_RO = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/localtime", "/etc/passwd", "/etc/group",
          "/etc/nsswitch.conf", "/etc/fonts", "/etc/mime.types", "/etc/alternatives")
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")

#: The namespaces a kernel gets, by the name of the Capabilities/Policy field that switches each on.
NAMESPACES = {"net": CLONE_NEWNET, "mount": CLONE_NEWNS, "pid": CLONE_NEWPID, "ipc": CLONE_NEWIPC, "uts": CLONE_NEWUTS}


@dataclass
class Capabilities:
    """What this machine lets the grader do; found by :func:`probe` (Instructors' guide)."""

    root: bool = False
    userns: bool = False
    net: bool = False
    mount: bool = False
    pid: bool = False
    ipc: bool = False
    uts: bool = False
    drop_user: bool = False
    cgroup: str = ""  # a cgroup v2 folder where the grader may make per-kernel groups with memory.max
    cpu_cgroup: str = ""  # a folder of the CPU controller (v2 or v1) where it may make per-kernel groups
    #: Without cgroup v2's memory controller: v1 hierarchies ("memory", "pids") where it may make groups.
    cgroups_v1: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line per isolation feature, for the grading report."""
        lines = [
            f"network isolation: {'on' if self.net else 'OFF'}",
            f"file isolation (private mounts): {'on, allowlisted root' if self.mount else 'OFF'}",
            f"process isolation (PID namespace): {'on' if self.pid else 'OFF'}",
            f"IPC isolation (IPC namespace): {'on' if self.ipc else 'OFF'}",
            f"host name isolation (UTS namespace): {'on' if self.uts else 'OFF'}",
            "environment: allowlisted",
            "memory of all the kernel's processes (cgroup memory limit): "
            + ("on (v2 memory.max)" if self.cgroup else "on (v1)" if "memory" in self.cgroups_v1 else "OFF"),
            f"CPU of all the kernel's processes (cgroup CPU quota): {'on' if self.cpu_cgroup else 'OFF'}",
            f"runs as an unprivileged uid of its own: {'yes' if self.drop_user else 'no'}",
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
    ipc: bool = True
    uts: bool = True
    userns: bool = False
    user: str | None = "nobody"
    keep_ro: list[str] = field(default_factory=list)
    keep_rw: list[str] = field(default_factory=list)
    tmpfs_size: str = "256m"
    pid_dir: str | None = None
    cgroup: str = ""  # the kernel's own cgroup v2 folder (made by the launcher, removed by the grader)
    cpu_cgroup: str = ""  # the kernel's own CPU cgroup folder, v2 or v1 (made by the launcher, removed by the grader)
    cpu_cores: float = 1.0  # the CPU quota of all the kernel's processes together, in cores
    cgroups_v1: dict[str, str] = field(default_factory=dict)  # the kernel's own v1 groups, per controller
    pids_max: int = 1024
    #: Each kernel runs as its own uid, this plus its launcher's process id (which no two live
    #: launchers share), so that RLIMIT_NPROC counts one submission's processes, not the class's.
    uid_base: int = 2_000_000_000
    pythonpath: list[str] = field(default_factory=list)

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


def _pivot_root(new_root: str, put_old: str) -> None:
    if SYS_PIVOT_ROOT is None:
        raise OSError("pivot_root: unknown system call number on this machine")
    _check(_libc.syscall(ctypes.c_long(SYS_PIVOT_ROOT), new_root.encode(), put_old.encode()), "pivot_root")


def _umount(target: str) -> None:
    _check(_libc.umount2(target.encode(), ctypes.c_int(MNT_DETACH)), f"umount {target}")


def _probe_child(flag: int, use_userns: bool) -> bool:
    import tempfile

    workdir = tempfile.mkdtemp(prefix="dlcourse-probe-")
    try:
        return _probe_fork(flag, use_userns, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _probe_fork(flag: int, use_userns: bool, workdir: str) -> bool:
    pid = os.fork()
    if pid == 0:
        try:
            uid, gid = os.getuid(), os.getgid()
            _unshare(flag | (CLONE_NEWUSER if use_userns else 0))
            if use_userns:
                _map_user(uid, gid)
            if flag & CLONE_NEWNS:  # the whole allowlisted root, as a kernel gets it
                _build_root(Policy(keep_ro=[sys.prefix], pid=False), workdir)
                os.listdir(sys.prefix)
            os._exit(0)
        except BaseException:
            os._exit(1)
    return os.waitpid(pid, 0)[1] == 0


def _cgroup_v2() -> tuple[str, str]:
    """A cgroup v2 folder where this process may make child groups with memory.max; or ('', why not)."""
    mounts = Path("/proc/self/mounts").read_text().splitlines()
    v2 = [line.split()[1] for line in mounts if line.split()[2:3] == ["cgroup2"]]
    if not v2:
        return "", "no cgroup v2 file system (cgroups v1 only)"
    rel = next((line[3:] for line in Path("/proc/self/cgroup").read_text().splitlines() if line.startswith("0::")), "/")
    for mount in v2:
        for base in (Path(mount + rel.rstrip("/")).parent if rel != "/" else Path(mount), Path(mount)):
            controllers = base / "cgroup.controllers"
            if not controllers.is_file() or "memory" not in controllers.read_text().split():
                continue
            try:
                sub = (base / "cgroup.subtree_control").read_text().split()
                if "memory" not in sub:
                    (base / "cgroup.subtree_control").write_text("+memory +pids")
                test = base / f"dlcourse-probe-{os.getpid()}"
                test.mkdir()
                ok = (test / "memory.max").is_file()
                test.rmdir()
                if ok:
                    return str(base), ""
            except OSError:
                continue
    return "", "the cgroup v2 memory controller is not available to the grader"


def _own_cgroups() -> tuple[list[list[str]], dict[str, str]]:
    """The mounts, and this process's cgroup path per controller list ("" for v2)."""
    mounts = [line.split() for line in Path("/proc/self/mounts").read_text().splitlines()]
    own = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, rel = line.split(":", 2)
        own[controllers] = rel
    return mounts, own


def _writable_base(candidates: list[tuple[Path, str, str]]) -> str:
    """The first base folder where a child group can be made and gets ``file``; '' if none.

    ``candidates``: (base, file, v2 controller to enable in the base, or "" for v1).
    """
    for base, file, enable in candidates:
        try:
            if enable:
                if enable not in (base / "cgroup.controllers").read_text().split():
                    continue
                if enable not in (base / "cgroup.subtree_control").read_text().split():
                    (base / "cgroup.subtree_control").write_text(f"+{enable}")
            test = base / f"dlcourse-probe-{enable or 'v1'}-{os.getpid()}"
            test.mkdir()
            ok = (test / file).is_file()
            test.rmdir()
            if ok:
                return str(base)
        except OSError:
            continue
    return ""


def _v1_cgroup(controller: str, file: str) -> str:
    """A folder of the cgroup v1 ``controller`` hierarchy where this process may make child groups."""
    mounts, own = _own_cgroups()
    rel = next((r for c, r in own.items() if controller in c.split(",")), "/")
    return _writable_base([(Path(f[1] + rel.rstrip("/")), file, "") for f in mounts
                           if f[2:3] == ["cgroup"] and controller in f[3].split(",")])


def _cpu_cgroup() -> tuple[str, str]:
    """A folder of the CPU controller where this process may make child groups with a CPU quota.

    cgroup v2 (``cpu.max``) where its CPU controller can be enabled, else the v1 ``cpu`` hierarchy
    (``cpu.cfs_quota_us``); or ('', why not).
    """
    mounts, own = _own_cgroups()
    rel = own.get("", "/")
    v2 = []
    for fields in mounts:
        if fields[2:3] == ["cgroup2"]:
            for base in (Path(fields[1] + rel.rstrip("/")).parent if rel != "/" else Path(fields[1]), Path(fields[1])):
                v2.append((base, "cpu.max", "cpu"))
    base = _writable_base(v2) or _v1_cgroup("cpu", "cpu.cfs_quota_us")
    return base, "" if base else "no writable CPU controller (cgroup v2 cpu or v1 cpu) for the grader"


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
            caps.notes.append("unprivileged user namespaces are not permitted: no network, file, process or IPC isolation")
            return caps
    for name, flag in NAMESPACES.items():
        setattr(caps, name, _probe_child(flag, use_userns))
    try:
        pwd.getpwnam("nobody")
        caps.drop_user = caps.root
    except KeyError:
        caps.notes.append("no user 'nobody': the kernel keeps the grader's user")
    if not caps.root:
        caps.notes.append("not root: the kernel keeps the grader's user (inside a user namespace)")
    for name in NAMESPACES:
        if not getattr(caps, name):
            caps.notes.append(f"{name} namespaces are not permitted here: that isolation is OFF")
    if caps.root:
        caps.cgroup, why = _cgroup_v2()
        if not caps.cgroup:  # cgroups v1 (or a hybrid machine): the same limits, file names of v1
            for controller, file in (("memory", "memory.limit_in_bytes"), ("pids", "pids.max")):
                if base := _v1_cgroup(controller, file):
                    caps.cgroups_v1[controller] = base
    else:
        why = "not root: no cgroup of its own for each kernel"
    if not caps.cgroup and "memory" not in caps.cgroups_v1:
        caps.notes.append(f"{why}: the total memory of a kernel's processes is not capped "
                          "(each process has its RLIMIT_AS, their number RLIMIT_NPROC)")
    if caps.root:
        caps.cpu_cgroup, why = _cpu_cgroup()
    if not caps.cpu_cgroup:
        caps.notes.append(f"{why}: a kernel's processes have no CPU quota; one that starts new sessions "
                          "can slow the kernels graded beside it")
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


def make_policy(caps: Capabilities, *, keep_ro, keep_rw, memory_bytes, file_size_bytes) -> Policy:
    """The policy that applies every isolation ``caps`` allows (Instructors' guide).

    With the allowlisted root, nothing outside ``keep_ro`` and ``keep_rw`` is visible to the kernel.
    """
    return Policy(
        memory_bytes=memory_bytes,
        file_size_bytes=file_size_bytes,
        **{name: getattr(caps, name) for name in NAMESPACES},
        userns=not caps.root and caps.userns,
        user="nobody" if caps.drop_user else None,
        keep_ro=[str(p) for p in keep_ro],
        keep_rw=[str(p) for p in keep_rw],
    )


def _set_limits(policy: Policy) -> None:
    limits = [(resource.RLIMIT_CORE, 0)]
    if policy.memory_bytes:
        limits.append((resource.RLIMIT_AS, policy.memory_bytes))
    if policy.file_size_bytes:
        limits.append((resource.RLIMIT_FSIZE, policy.file_size_bytes))
    if policy.user and policy.pids_max:
        limits.append((resource.RLIMIT_NPROC, policy.pids_max))
    for which, value in limits:
        resource.setrlimit(which, (value, value))


def _build_root(policy: Policy, workdir: str) -> str:
    """Make a new root holding only the allowlist, pivot into it; return the kernel's cwd.

    Read-only: :data:`SYSTEM_RO`, :data:`ETC_RO`, ``policy.keep_ro``; writable: ``policy.keep_rw``,
    ``/tmp``, ``/dev/shm`` and a private copy of ``workdir`` (at the same path).
    """
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    # Open what must stay visible before anything is covered; bind it back from the fd.
    wanted: list[tuple[str, bool]] = [(p, False) for p in (*SYSTEM_RO, *ETC_RO, *DEVICES)]
    wanted += [(os.path.realpath(p), False) for p in policy.keep_ro]
    wanted += [(os.path.realpath(p), True) for p in policy.keep_rw]
    keep, links = [], []
    for path, writable in wanted:
        if os.path.islink(path) and path in (*SYSTEM_RO, *ETC_RO):
            links.append((path, os.readlink(path)))
        elif os.path.exists(path):
            keep.append((path, writable, os.open(path, os.O_PATH)))
    work_fd = os.open(workdir, os.O_RDONLY | os.O_DIRECTORY)
    # Scratch space for the new root, on a tmpfs only this namespace sees.
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=700")
    root = "/tmp/root"
    os.mkdir(root)
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, f"size={policy.tmpfs_size},mode=755")
    for path, target in links:
        os.makedirs(os.path.dirname(root + path), exist_ok=True)
        os.symlink(target, root + path)
    for sub, mode in (("tmp", "1777"), ("dev/shm", "1777")):
        os.makedirs(f"{root}/{sub}", exist_ok=True)
        _mount("tmpfs", f"{root}/{sub}", "tmpfs", MS_NOSUID | MS_NODEV, f"size={policy.tmpfs_size},mode={mode}")
    # Longest paths last, so a folder kept inside another kept folder is mounted on top of it.
    for path, writable, fd in sorted(keep, key=lambda k: k[0].count("/")):
        target = root + path
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            os.makedirs(target, exist_ok=True)
        else:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if not os.path.lexists(target):
                Path(target).touch()
        _mount(f"/proc/self/fd/{fd}", target, None, MS_BIND | MS_REC)
        if not writable:
            flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | (0 if path.startswith("/dev/") else MS_NODEV)
            _mount(None, target, None, flags)
        os.close(fd)
    os.makedirs(f"{root}/proc", exist_ok=True)
    if policy.pid:
        _mount("proc", f"{root}/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    # A private, writable copy of the submission folder at the same path.
    private = f"{root}/tmp/.dlcourse-work"
    shutil.copytree(f"/proc/self/fd/{work_fd}", private, symlinks=True)
    os.close(work_fd)
    os.makedirs(root + workdir, exist_ok=True)
    _mount(private, root + workdir, None, MS_BIND)
    os.chdir(root)
    os.mkdir(".old")
    _pivot_root(".", ".old")
    os.chdir("/")
    _umount("/.old")
    os.rmdir("/.old")
    _mount(None, "/", None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    return workdir


def kernel_env(policy: Policy, home: str, tmpdir: str) -> dict[str, str]:
    """The kernel's whole environment: the allowlist of the grader's, plus its own folders."""
    env = {k: v for k, v in os.environ.items() if k in ENV_ALLOWLIST}
    env.update(
        PATH=os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]),
        HOME=home, TMPDIR=tmpdir, IPYTHONDIR=os.path.join(home, "ipython"),
        MPLCONFIGDIR=os.path.join(home, "matplotlib"), KERAS_HOME=os.path.join(home, "keras"),
        JUPYTER_RUNTIME_DIR=os.path.join(home, "runtime"), PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    # Kernels graded side by side each get an explicit TensorFlow thread count (one by default, a
    # laptop core; the exercises are sized for it), so that N kernels do not each start a thread
    # pool per core and fight over the cores.
    threads = os.environ.get(KERNEL_THREADS_ENV, "1")
    env.update(TF_NUM_INTRAOP_THREADS=threads, TF_NUM_INTEROP_THREADS="1")
    if policy.pythonpath:
        env["PYTHONPATH"] = os.pathsep.join(policy.pythonpath)
    if policy.user:
        env.update(USER=policy.user, LOGNAME=policy.user)
    return env


def _chown_tree(folder: str, uid: int, gid: int) -> None:
    """Give ``folder`` and everything in it to the kernel's user (links themselves, never their targets)."""
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in [dirpath] + [os.path.join(dirpath, n) for n in dirnames + filenames]:
            os.lchown(name, uid, gid)


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
    if policy.uts:
        hostname = b"sandbox"
        _libc.sethostname(hostname, len(hostname))
    if policy.mount:
        workdir = _build_root(policy, workdir)
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
    env = kernel_env(policy, home, "/tmp" if policy.mount else home)
    if policy.user:
        user = pwd.getpwnam(policy.user)
        uid = getattr(policy, "kernel_uid", None) or user.pw_uid
        for folder in (home, workdir) if policy.mount else (home,):
            _chown_tree(folder, uid, user.pw_gid)
        _set_limits(policy)
        os.setgroups([])
        os.setgid(user.pw_gid)
        os.setuid(uid)
        # Changing the user clears the parent-death signal: re-arm it, or a SIGKILLed launcher
        # (a stuck kernel's restart, a submission timeout) leaves the kernel running forever.
        libc_prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    else:
        _set_limits(policy)
    os.chdir(workdir)
    os.execvpe(argv[0], argv, env)


def _join_cgroup(policy: Policy) -> None:
    """Put this launcher (and so the kernel) in its own cgroup v2 with memory.max and pids.max."""
    if not policy.cgroup:
        return
    folder = Path(policy.cgroup)
    folder.mkdir(exist_ok=True)
    if policy.memory_bytes:
        (folder / "memory.max").write_text(str(policy.memory_bytes))
        swap = folder / "memory.swap.max"
        if swap.exists():
            swap.write_text("0")
    if policy.pids_max and (folder / "pids.max").exists():
        (folder / "pids.max").write_text(str(policy.pids_max))
    (folder / "cgroup.procs").write_text(str(os.getpid()))


def _join_cgroups_v1(policy: Policy) -> None:
    """Put this launcher (and so the kernel) in its own v1 memory and pids groups, with their limits."""
    for controller, folder in policy.cgroups_v1.items():
        folder = Path(folder)
        folder.mkdir(exist_ok=True)
        if controller == "memory" and policy.memory_bytes:
            (folder / "memory.limit_in_bytes").write_text(str(policy.memory_bytes))
        if controller == "pids" and policy.pids_max:
            (folder / "pids.max").write_text(str(policy.pids_max))
        (folder / "cgroup.procs").write_text(str(os.getpid()))


def _join_cpu_cgroup(policy: Policy) -> None:
    """Put this launcher (and so the kernel) in its own CPU cgroup with a quota of ``cpu_cores``."""
    if not policy.cpu_cgroup or not policy.cpu_cores:
        return
    folder = Path(policy.cpu_cgroup)
    folder.mkdir(exist_ok=True)
    period = 100_000  # microseconds
    quota = max(1000, int(policy.cpu_cores * period))
    if (folder / "cpu.max").exists():  # cgroup v2
        (folder / "cpu.max").write_text(f"{quota} {period}")
    else:  # cgroup v1
        (folder / "cpu.cfs_period_us").write_text(str(period))
        (folder / "cpu.cfs_quota_us").write_text(str(quota))
    (folder / "cgroup.procs").write_text(str(os.getpid()))


def run_confined(policy: Policy, argv: list[str]) -> int:
    """Start ``argv`` under ``policy`` and wait for it; the exit status (Instructors' guide)."""
    # Die with the grading process, and let the grader find us when it must stop a submission.
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if policy.pid_dir:
        Path(policy.pid_dir, str(os.getpid())).touch()
    _join_cgroup(policy)
    _join_cgroups_v1(policy)
    _join_cpu_cgroup(policy)
    flags = sum(flag for name, flag in NAMESPACES.items() if getattr(policy, name))
    if policy.user and policy.uid_base:
        policy.kernel_uid = policy.uid_base + os.getpid()  # before a new PID namespace renumbers us
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


def _kernel_manager_class() -> type:
    """The kernel manager class, built on first use: the launcher (``python -m``) never imports
    ``jupyter_client``, which would cost a quarter of a second of CPU at every kernel start."""
    from jupyter_client.manager import AsyncKernelManager

    class SandboxedKernelManager(AsyncKernelManager):
        """Kernel manager that starts every kernel through the sandbox launcher (Instructors' guide).

        The policy file is named by the environment variable ``DLCOURSE_SANDBOX_POLICY``; without
        it the kernel starts as usual (plain ``nbgrader autograde``).
        """

        def client(self, **kwargs):
            """A client whose sockets drop any message part over :data:`MAX_MESSAGE_BYTES` unread.

            jupyter_client receives and parses a whole message before the grader can look at its
            size; the cap makes ZeroMQ refuse a flood at the socket, so the request it answers
            times out and its test fails closed, while the grader's memory stays small.
            """
            import zmq

            kc = super().client(**kwargs)
            kc.context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
            return kc

        def format_kernel_cmd(self, extra_arguments=None):
            cmd = super().format_kernel_cmd(extra_arguments)
            policy = os.environ.get("DLCOURSE_SANDBOX_POLICY")
            if not policy:
                return cmd
            return [sys.executable, "-m", "dlcourse.grading.sandbox", "--policy", policy, "--", *cmd]

    SandboxedKernelManager.__module__ = "dlcourse.grading.sandbox"
    SandboxedKernelManager.__qualname__ = "SandboxedKernelManager"
    return SandboxedKernelManager


_LAZY: dict[str, type] = {}


def __getattr__(name: str):
    if name == "SandboxedKernelManager":
        if name not in _LAZY:
            _LAZY[name] = _kernel_manager_class()
        return _LAZY[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
