"""What a submission may contain: regular files inside its folder, capped in number and size (Instructors' guide).

:func:`read_submission` reads ``submitted/<student>/<assignment>/`` without ever following a
link: a symbolic link, a hard link shared with another file, a device, a named pipe, a socket
or anything whose path leaves the folder is rejected with its reason, and only regular files
are packed for grading. More than ``max_files`` files or ``max_bytes`` bytes in all fail the
submission with the reason. A submission folder that is itself a link is refused as a whole.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

MAX_FILES = 200
MAX_BYTES = 64 << 20


@dataclass
class Submission:
    """The files of one submission and what was refused (Instructors' guide)."""

    files: dict[str, bytes] = field(default_factory=dict)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (relative path, reason)
    problem: str | None = None  # the whole submission cannot be graded

    def summary(self) -> str:
        return "; ".join(f"rejected {path}: {why}" for path, why in self.rejected[:5]) + (
            f" and {len(self.rejected) - 5} more" if len(self.rejected) > 5 else "")


def _kind(mode: int) -> str | None:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode) or stat.S_ISREG(mode):
        return None
    return "not a regular file"


def read_submission(folder: str | os.PathLike, *, max_files: int = MAX_FILES, max_bytes: int = MAX_BYTES,
                    skip_notebooks: bool = False) -> Submission:
    """Read the regular files under ``folder`` (never following links); see the module docstring."""
    out = Submission()
    folder = Path(folder)
    try:
        top = os.lstat(folder)
    except FileNotFoundError:
        return out
    parent_links = [p for p in [folder, *folder.parents][:3] if p.is_symlink()]
    if stat.S_ISLNK(top.st_mode) or parent_links:
        out.problem = f"the submission folder is a symbolic link ({parent_links[0] if parent_links else folder})"
        return out
    if not stat.S_ISDIR(top.st_mode):
        out.problem = "the submission is not a folder"
        return out
    root_real = os.path.realpath(folder)
    total = 0
    count = 0
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        for name in sorted(dirnames):
            st = os.lstat(os.path.join(dirpath, name))
            if stat.S_ISLNK(st.st_mode):  # os.walk does not descend into it; record why
                rel = os.path.relpath(os.path.join(dirpath, name), folder)
                out.rejected.append((rel, "a symbolic link"))
        dirnames[:] = sorted(d for d in dirnames if d != ".ipynb_checkpoints"
                             and not os.path.islink(os.path.join(dirpath, d)))
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, folder)
            if skip_notebooks and name.endswith(".ipynb"):
                continue
            st = os.lstat(path)
            why = _kind(st.st_mode)
            if why is None and st.st_nlink > 1:
                why = "a hard link shared with another file"
            if why is None and not os.path.realpath(path).startswith(root_real + os.sep):
                why = "outside the submission folder"
            if why:
                out.rejected.append((rel, why))
                continue
            count += 1
            total += st.st_size
            if count > max_files:
                out.problem = f"more than {max_files} files in the submission"
                return out
            if total > max_bytes:
                out.problem = f"the submission is larger than {max_bytes >> 20} MiB"
                return out
            try:
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            except OSError as exc:
                out.rejected.append((rel, f"unreadable ({exc.strerror})"))
                continue
            with os.fdopen(fd, "rb") as fh:
                now = os.fstat(fh.fileno())
                if not stat.S_ISREG(now.st_mode) or (now.st_ino, now.st_dev) != (st.st_ino, st.st_dev):
                    out.rejected.append((rel, "changed while it was read"))
                    continue
                data = fh.read(st.st_size + 1)
            if len(data) > st.st_size:  # grew while read
                out.problem = f"the submission is larger than {max_bytes >> 20} MiB"
                return out
            out.files[rel] = data
    return out


__all__ = ["MAX_BYTES", "MAX_FILES", "Submission", "read_submission"]


# --------------------------------------------------------------------------------------------------
# Whose notebook is it: a submission of another assignment's notebook (issue 25)


#: In every message of :func:`wrong_assignment` (the grader recognises them by it).
NOT_FETCHED = "it is not the notebook fetched for"


def key_ids(nb: dict) -> list[str]:
    """The grade ids of a notebook's answer and test cells (nbgrader ``solution`` or ``grade`` cells), in
    order: what names an assignment's own cells (headers and set-up cells share ids across chapters)."""
    ids = []
    for cell in nb.get("cells", []):
        meta = (cell.get("metadata") or {}).get("nbgrader") or {}
        if meta.get("grade_id") and (meta.get("solution") or meta.get("grade")):
            ids.append(str(meta["grade_id"]))
    return ids


def key_ids_by_assignment(folder: str | os.PathLike) -> dict[str, list[str]]:
    """Assignment -> the key ids of its notebooks, from a folder with one sub-folder per assignment (the
    course's release folder, or the exchange's outbound folder); unreadable notebooks are left out."""
    out: dict[str, list[str]] = {}
    for path in sorted(Path(folder).glob("*/*.ipynb")):
        try:
            out.setdefault(path.parent.name, []).extend(key_ids(json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, ValueError):
            continue
    return out


def wrong_assignment(nb: dict, released: dict, assignment: str, name: str,
                     others: dict[str, list[str]] | None = None) -> str | None:
    """Why notebook ``name`` (parsed JSON) handed in for ``assignment`` is not that assignment's notebook, or
    None. It is not when none of its answer and test cells is one of the released notebook's: another
    assignment's notebook (named when ``others``, assignment -> its key ids, holds it), or a notebook made
    anew. A student's notebook with some of the assignment's cells deleted still is."""
    mine = set(key_ids(released))
    theirs = key_ids(nb)
    if not mine or mine & set(theirs):
        return None
    if not theirs:
        return (f"{name} has none of {assignment}'s answer or test cells; {NOT_FETCHED} {assignment} (a new "
                f"notebook, or one whose cells were copied without their metadata)")
    guess = None
    if others:
        overlap = {a: len(set(ids) & set(theirs)) for a, ids in others.items() if a != assignment}
        best = max(overlap, key=overlap.get, default=None)
        if best and overlap[best] * 2 >= len(theirs):
            guess = best
    shown = ", ".join(theirs[:3]) + (" ..." if len(theirs) > 3 else "")
    return (f"{name} holds another assignment's notebook" + (f" ({guess})" if guess else "")
            + f": none of its answer and test cells ({shown}) belongs to {assignment}; {NOT_FETCHED} "
              f"{assignment}")
