"""What the class got wrong: a per-question report of mistakes after grading (Instructors' guide).

``dlcourse-grade ASSIGNMENT --insights DIR`` (after grading, or alone with ``--skip-grading``) reads
the gradebook (any nbgrader URL: SQLite, PostgreSQL) and the autograded notebooks of a class and
writes to ``DIR``:

* ``index.html``: a static page, its figures as PNG files with alt text. Per question: the score
  histogram, the share of full, partial and zero marks, the time its cells took, and the failures
  grouped by mistake: by the check's tag (:func:`dlcourse.checks._common.fail`), else by the
  message with numbers and quoted names replaced; failures that no check names (a timeout, a
  missing name, an exception of the student's code, a tampered kernel, a test that never ran) by
  kind. Each group has its count and one example message, as a student saw it. Manually graded
  questions are shown with their state in the formgrader. Across questions: which fail together
  and the distribution of total scores.
* ``insights.json``: the same data; ``failures.csv``: one row per question and group of failures.

Privacy: the report names no student unless ``names=True`` (``--names``; a student id inside a
message, such as the message of a student's own error, is replaced too), and it contains no
hidden-test line: every message is redacted with the lines of the hidden tests, as the feedback
is (:func:`dlcourse.grading.preprocessors.secret_lines`). It can be shared with teaching
assistants as it is.

Where a failure comes from: the grader records each graded test's verdict in the test cell's
metadata (``dlcourse_grading``: outcome, kind, tag, seconds; never a message). Notebooks graded
before verdicts existed are read from their outputs (the exception's type) instead.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import json
import math
import re
from collections import Counter, defaultdict
from pathlib import Path

from .preprocessors import _ANSI, INCIDENTS_KEY, redact, secret_lines

#: What each kind of failure means, in the report's words.
KINDS = {
    "check": "a check found a mistake",
    "timeout": "the student's code did not finish in time (an answer cell or the test was interrupted)",
    "kernel_died": "the kernel died in an answer cell (a crash, os._exit or out of memory)",
    "memory": "an answer cell ran out of its memory limit",
    "missing_name": "a name the test reads is not defined",
    "student_exception": "the student's code raised an error",
    "exception": "the test stopped on an unexpected error",
    "tampered": "the kernel's answers were not valid data (tampering)",
    "not_graded": "the test never ran (the submission could not be graded, or grading stopped)",
}
_QUOTED = re.compile(r"'[^'\n]{0,80}'|\"[^\"\n]{0,80}\"")
_NUMBER = re.compile(r"(?<![A-Za-z_])[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?%?")
_DETAILS = re.compile(r"<details>.*?</details>", re.S)
_TAGS = re.compile(r"<[^>]+>")


def normalise(message: str) -> str:
    """A message with its quoted names and numbers replaced, so that the same mistake groups together."""
    text = _QUOTED.sub("'…'", message)
    return _NUMBER.sub("N", text)


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _is_test(cell) -> bool:
    meta = _nbgrader(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def _seconds(cell) -> float:
    """Seconds a cell ran in the kernel, from the execution timestamps nbclient records."""
    timing = cell.get("metadata", {}).get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not start or not end:
        return 0.0
    try:
        a = dt.datetime.fromisoformat(start.replace("Z", "+00:00"))
        b = dt.datetime.fromisoformat(end.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    return max(0.0, (b - a).total_seconds())


def _verdict_from_outputs(cell) -> dict:
    """A test's verdict read from its outputs (notebooks graded before verdicts were recorded)."""
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if not errors:
        return {"outcome": "passed"}
    ename = errors[-1].get("ename", "")
    kind = {"AssertionError": "check", "NameError": "missing_name", "NotGraded": "not_graded",
            "StudentTimeout": "timeout", "InterfaceError": "tampered"}.get(ename, "exception")
    return {"outcome": "failed", "kind": kind, "tag": None, "ename": ename}


def _message(cell) -> str:
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if not errors:
        return ""
    out = errors[-1]
    value = _ANSI.sub("", str(out.get("evalue", ""))).strip()
    if out.get("ename") == "AssertionError" and value:
        return value  # a check's message, as the student reads it
    return f"{out.get('ename', 'Error')}: {value}" if value else str(out.get("ename", "Error"))


def _question(grade_id: str) -> str:
    return grade_id[: -len("_test")] if grade_id.endswith("_test") else grade_id


def _hints(nb: dict) -> dict[str, str]:
    """grade_id of each graded cell -> the text of the hints (``<details>``) shown before it."""
    hints, pending = {}, []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            for block in _DETAILS.findall(_source(cell)):
                text = _TAGS.sub(" ", block)
                text = re.sub(r"\s+", " ", text).strip()
                text = re.sub(r"^Hint\s*", "", text)
                pending.append(text)
        meta = _nbgrader(cell)
        if meta.get("grade") and meta.get("grade_id"):
            if pending:
                hints[meta["grade_id"]] = " ".join(pending)
            pending = []
    return hints


# ------------------------------------------------------------------------------------------------
# Collecting the class's data

def collect(course_root: str | Path, assignment: str, db_url: str, *, autograded_dir: str = "autograded",
            release_dir: str = "notebooks", source_dir: str = "solutions", names: bool = False) -> dict:
    """The report's data for ``assignment``: questions, failures grouped by mistake, co-failures, totals.

    Instructors' guide. Student ids appear only with ``names=True`` (in ``students``).
    """
    from nbgrader.api import Gradebook

    root = Path(course_root)
    with Gradebook(db_url) as gb:
        a = gb.find_assignment(assignment)
        notebooks = [nb.name for nb in a.notebooks]
        cells = []  # (notebook, grade_id, max_score, cell_type, manual)
        for nb in a.notebooks:
            solution = {c.name for c in nb.solution_cells}
            for c in nb.grade_cells:
                cells.append((nb.name, c.name, float(c.max_score), c.cell_type,
                              c.cell_type != "code" or c.name in solution))
        grades: dict[str, dict[str, dict]] = {}
        for sub in a.submissions:
            per = {}
            for snb in sub.notebooks:
                for g in snb.grades:
                    per[g.name] = {"auto": g.auto_score, "manual": g.manual_score,
                                   "needs_manual": bool(g.needs_manual_grade), "score": float(g.score or 0.0)}
            grades[sub.student.id] = per
    students = sorted(grades)

    # the release (or the source) gives the questions' order and their hints; the source's hidden
    # tests are secrets too
    order: list[str] = []
    hints: dict[str, str] = {}
    secrets: set[str] = set()
    for name in notebooks:
        for folder in (release_dir, source_dir):
            path = root / folder / assignment / f"{name}.ipynb"
            if not path.is_file():
                continue
            nb = json.loads(path.read_text())
            for cell in nb.get("cells", []):
                secrets.update(secret_lines(_source(cell)))
            if folder == release_dir or not order:
                order += [_nbgrader(c)["grade_id"] for c in nb.get("cells", [])
                          if _nbgrader(c).get("grade") and _nbgrader(c).get("grade_id") not in order]
                hints.update({k: v for k, v in _hints(nb).items() if k not in hints})
    position = {gid: i for i, gid in enumerate(order)}
    cells.sort(key=lambda c: (notebooks.index(c[0]), position.get(c[1], 10**6), c[1]))

    verdicts: dict[str, dict[str, dict]] = {s: {} for s in students}  # student -> grade_id -> verdict
    times: dict[str, list[float]] = defaultdict(list)
    for student in students:
        for name in notebooks:
            path = root / autograded_dir / student / assignment / f"{name}.ipynb"
            try:
                nb = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            for cell in nb.get("cells", []):
                if _is_test(cell):
                    secrets.update(secret_lines(_source(cell)))
            spent = 0.0
            for cell in nb.get("cells", []):
                spent += _seconds(cell)
                meta = _nbgrader(cell)
                if not meta.get("grade") or not meta.get("grade_id"):
                    continue
                gid = meta["grade_id"]
                if _is_test(cell):
                    verdict = cell.get("metadata", {}).get(INCIDENTS_KEY)
                    if not isinstance(verdict, dict) or verdict.get("outcome") not in ("passed", "failed"):
                        verdict = _verdict_from_outputs(cell)
                    verdict = dict(verdict)
                    spent += float(verdict.get("seconds") or 0.0)
                    verdict["message"] = _message(cell)
                    verdicts[student][gid] = verdict
                times[gid].append(round(spent, 3))
                spent = 0.0
    # a student's id inside a message (a path, a string of theirs) is anonymised like the rest
    ids = [] if names else sorted((s for s in students if len(s) >= 3), key=len, reverse=True)

    def anonymise(text: str) -> str:
        text = redact(text, secrets)
        for sid in ids:
            if sid in text:
                text = text.replace(sid, "[student]")
        return text

    questions = []
    failing: dict[str, set[str]] = {}
    for nb_name, gid, max_score, cell_type, manual in cells:
        scores = [grades[s].get(gid, {}).get("score", 0.0) for s in students]
        q = {"id": _question(gid), "grade_id": gid, "notebook": nb_name, "max_score": max_score,
             "manual": manual, "submissions": len(students),
             "scores": dict(sorted(Counter(round(x, 3) for x in scores).items())),
             "mean": round(sum(scores) / len(scores), 2) if scores else None,
             "full": sum(x >= max_score for x in scores), "zero": sum(x <= 0 for x in scores)}
        q["partial"] = len(scores) - q["full"] - q["zero"]
        spent = sorted(times.get(gid, []))
        q["seconds"] = {"median": spent[len(spent) // 2] if spent else None, "max": spent[-1] if spent else None}
        q["hint"] = redact(hints.get(gid, ""), secrets)
        if manual:
            states = Counter()
            for s in students:
                g = grades[s].get(gid)
                if g is None:
                    states["not submitted"] += 1
                elif g["needs_manual"]:
                    states["needs manual grading"] += 1
                elif g["manual"] is not None:
                    states["graded by hand"] += 1
                else:
                    states["scored automatically (unchanged answer)"] += 1
            q["formgrader"] = dict(sorted(states.items()))
            q["groups"] = []
            questions.append(q)
            continue
        groups: dict[tuple, dict] = {}
        failed_students = set()
        for s, score in zip(students, scores):
            if score >= max_score:
                continue
            failed_students.add(s)
            v = verdicts[s].get(gid) or {"outcome": "failed", "kind": "not_graded", "tag": None,
                                         "ename": "NotGraded",
                                         "message": "NotGraded: the submission could not be graded"}
            if v.get("outcome") != "failed":  # scored below full by hand, or a late penalty
                v = {"outcome": "failed", "kind": "exception", "tag": None, "ename": "", "message": ""}
            kind = v.get("kind") or "exception"
            message = anonymise(v.get("message", ""))
            if kind == "check" and v.get("tag"):
                key = ("check", v["tag"], "")
            elif kind == "check":
                key = ("check", None, normalise(message))
            else:
                key = (kind, None, v.get("ename") or "")
            group = groups.setdefault(key, {"kind": kind, "tag": key[1], "pattern": key[2] if kind == "check" else "",
                                            "ename": v.get("ename") or "", "count": 0, "example": message})
            group["count"] += 1
        q["groups"] = sorted(groups.values(), key=lambda g: (-g["count"], g["kind"] != "check", str(g["tag"]), g["pattern"]))
        for g in q["groups"]:
            g["share"] = round(g["count"] / len(students), 4) if students else 0.0
        q["failed"] = len(failed_students)
        failing[gid] = failed_students
        questions.append(q)

    auto_ids = [q["grade_id"] for q in questions if not q["manual"]]
    together = []
    for i, a_id in enumerate(auto_ids):
        row = []
        for b_id in auto_ids:
            row.append(len(failing[a_id] & failing[b_id]))
        together.append(row)
    phi = []
    n = len(students)
    for a_id in auto_ids:
        row = []
        for b_id in auto_ids:
            fa, fb, both = len(failing[a_id]), len(failing[b_id]), len(failing[a_id] & failing[b_id])
            den = math.sqrt(fa * (n - fa) * fb * (n - fb))
            row.append(round((n * both - fa * fb) / den, 3) if den else None)
        phi.append(row)
    maximum = sum(c[2] for c in cells)
    totals = [round(sum(grades[s].get(c[1], {}).get("score", 0.0) for c in cells), 3) for s in students]
    tagged = sum(g["count"] for q in questions for g in q["groups"] if g["kind"] == "check" and g["tag"])
    checks = sum(g["count"] for q in questions for g in q["groups"] if g["kind"] == "check")
    data = {
        "assignment": assignment,
        "submissions": n,
        "max_score": maximum,
        "questions": questions,
        "fail_together": {"questions": [_question(g) for g in auto_ids], "both": together, "phi": phi},
        "totals": dict(sorted(Counter(totals).items())),
        "failures": {"total": sum(g["count"] for q in questions for g in q["groups"]),
                     "checks": checks, "tagged": tagged},
        "kinds": KINDS,
    }
    if names:
        data["students"] = [
            {"student": s, "total": t,
             "failed": {_question(gid): (verdicts[s].get(gid, {}).get("tag") or verdicts[s].get(gid, {}).get("kind")
                                         or "not_graded")
                        for gid in auto_ids if s in failing[gid]}}
            for s, t in zip(students, totals)
        ]
    return data


# ------------------------------------------------------------------------------------------------
# Figures and the page

def _figure(path: Path, draw) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.2, 2.4), dpi=100)
    try:
        draw(fig, ax)
        fig.tight_layout()
        fig.savefig(path, format="png")
    finally:
        plt.close(fig)


def _bars(counts: dict, xlabel: str, colour: str):
    def draw(fig, ax):
        keys = list(counts)
        ax.bar([f"{k:g}" for k in keys], [counts[k] for k in keys], color=colour)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("submissions")
        ax.yaxis.get_major_locator().set_params(integer=True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    return draw


def _alt_counts(counts: dict, what: str) -> str:
    parts = [f"{v} scored {k:g}" for k, v in counts.items()]
    return f"Bar chart of {what}: " + ("; ".join(parts) if parts else "no submissions") + "."


def _heatmap(data: dict):
    names, both = data["fail_together"]["questions"], data["fail_together"]["both"]

    def draw(fig, ax):
        fig.set_size_inches(max(4.2, 0.55 * len(names) + 2), max(3.2, 0.45 * len(names) + 1.6))
        image = ax.imshow(both, cmap="Oranges", vmin=0)
        ax.set_xticks(range(len(names)), [n.split("_")[0] for n in names], fontsize=8)
        ax.set_yticks(range(len(names)), [n.split("_")[0] for n in names], fontsize=8)
        for i, row in enumerate(both):
            for j, value in enumerate(row):
                ax.text(j, i, str(value), ha="center", va="center", fontsize=8,
                        color="white" if value > 0.6 * max(max(r) for r in both) else "black")
        fig.colorbar(image, ax=ax, label="submissions failing both")
    return draw


def _e(text) -> str:
    return html.escape(str(text), quote=True)


_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0 auto;max-width:62rem;
padding:1rem 1.5rem;color:#1b1b1b;background:#fff;line-height:1.45}
h1{font-size:1.6rem}h2{font-size:1.3rem;margin-top:2rem;border-bottom:1px solid #ccc}
h3{font-size:1.05rem;margin-bottom:.3rem}
table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{border:1px solid #bbb;padding:.25rem .5rem;
text-align:left;vertical-align:top}th{background:#f1f1f1}td.n{text-align:right}
code{background:#f4f4f4;padding:0 .2rem}.q{display:flex;flex-wrap:wrap;gap:1rem;align-items:flex-start}
.q figure{margin:0}.hint{color:#333;font-size:.92rem;border-left:3px solid #6b8fb3;padding-left:.6rem}
.muted{color:#444;font-size:.92rem}
"""


def render_html(data: dict, figures: dict[str, tuple[str, str]]) -> str:
    """The report's page; ``figures`` maps a figure's key to (file name, alt text)."""
    def img(key: str) -> str:
        if key not in figures:
            return ""
        src, alt = figures[key]
        return f'<figure><img src="{_e(src)}" alt="{_e(alt)}" width="378"></figure>'

    n = data["submissions"]
    failures = data["failures"]
    share = f"{failures['tagged'] / failures['checks']:.0%}" if failures["checks"] else "no"
    out = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">', '<link rel="icon" href="data:,">',
        f"<title>What the class got wrong: {_e(data['assignment'])}</title>", f"<style>{_CSS}</style>",
        "</head>", "<body>", "<main>",
        f"<h1>What the class got wrong: <code>{_e(data['assignment'])}</code></h1>",
        f"<p>{n} submissions, {data['max_score']:g} points in all. {failures['total']} failed tests: "
        f"{failures['checks']} found by a check ({share} of these name their mistake with a tag), "
        f"{failures['total'] - failures['checks']} of a kind that no check names. No student is named"
        f"{' (but for the table at the end)' if 'students' in data else ''}; no hidden test is shown.</p>",
        "<h2>Total scores</h2>", img("totals"),
        "<h2>Questions</h2>",
        '<table><caption class="muted">Per question: shares of full, partial and zero marks, and the '
        "seconds its cells took (median, slowest).</caption>",
        '<thead><tr><th scope="col">question</th><th scope="col">points</th><th scope="col">mean</th>'
        '<th scope="col">full</th><th scope="col">partial</th><th scope="col">zero</th>'
        '<th scope="col">seconds</th><th scope="col">most common mistake</th></tr></thead><tbody>',
    ]
    for q in data["questions"]:
        pct = (lambda k: f"{q[k] / n:.0%}") if n else (lambda k: "-")
        top = "graded by hand" if q["manual"] else (
            f'<a href="#{_e(q["id"])}">{_e(q["groups"][0]["tag"] or q["groups"][0]["kind"])}</a> '
            f'({q["groups"][0]["count"]})' if q["groups"] else "none")
        secs = q["seconds"]
        shown = f"{secs['median']:.1f} / {secs['max']:.1f}" if secs["median"] is not None else "-"
        out.append(f'<tr><th scope="row"><a href="#{_e(q["id"])}">{_e(q["id"])}</a></th>'
                   f'<td class="n">{q["max_score"]:g}</td><td class="n">{q["mean"] if q["mean"] is not None else "-"}</td>'
                   f'<td class="n">{pct("full")}</td><td class="n">{pct("partial")}</td><td class="n">{pct("zero")}</td>'
                   f'<td class="n">{shown}</td><td>{top}</td></tr>')
    out.append("</tbody></table>")
    for q in data["questions"]:
        out.append(f'<section aria-labelledby="{_e(q["id"])}"><h3 id="{_e(q["id"])}">{_e(q["id"])} '
                   f'<span class="muted">({q["max_score"]:g} points{", graded by hand" if q["manual"] else ""})</span></h3>')
        out.append(f'<div class="q">{img(q["grade_id"])}<div>')
        if q["manual"]:
            states = ", ".join(f"{v} {_e(k)}" for k, v in q["formgrader"].items())
            out.append(f"<p>Not autograded: a written answer, graded in the formgrader. State: {states}.</p>")
        elif not q["groups"]:
            out.append("<p>Every submission earned full marks.</p>")
        else:
            out.append('<table><thead><tr><th scope="col">mistake</th><th scope="col">count</th>'
                       '<th scope="col">share</th><th scope="col">example message</th></tr></thead><tbody>')
            for g in q["groups"]:
                if g["kind"] == "check" and g["tag"]:
                    label = f'<code id="{_e(q["id"])}-{_e(g["tag"])}">{_e(g["tag"])}</code>'
                elif g["kind"] == "check":
                    bare = g["example"] in ("", "AssertionError")
                    label = "untagged check" + (": an <code>assert</code> without a message" if bare else "")
                else:
                    label = f"<em>{_e(g['kind'])}</em>: {_e(KINDS.get(g['kind'], ''))}"
                out.append(f'<tr><td>{label}</td><td class="n">{g["count"]}</td><td class="n">{g["share"]:.0%}</td>'
                           f'<td>{_e(g["example"][:400])}</td></tr>')
            out.append("</tbody></table>")
        if q["hint"]:
            out.append(f'<p class="hint"><strong>The hint that addresses it:</strong> {_e(q["hint"][:600])}</p>')
        out.append("</div></div></section>")
    together = data["fail_together"]
    out.append("<h2>Which questions fail together</h2>")
    out.append('<p class="muted">Submissions that lost points in both questions (the diagonal: in that '
               "question alone), and the correlation (phi) of failing one with failing the other.</p>")
    out.append(img("together"))
    if together["questions"]:
        out.append('<table><thead><tr><th scope="col">failed both</th>'
                   + "".join(f'<th scope="col">{_e(x.split("_")[0])}</th>' for x in together["questions"])
                   + "</tr></thead><tbody>")
        for name, row, phis in zip(together["questions"], together["both"], together["phi"]):
            cells = "".join(f'<td class="n">{v}{"" if p is None or a == b else f" ({p:+.2f})"}</td>'
                            for v, p, a, b in zip(row, phis, [name] * len(row), together["questions"]))
            out.append(f'<tr><th scope="row">{_e(name)}</th>{cells}</tr>')
        out.append("</tbody></table>")
    if "students" in data:
        out.append("<h2>Students</h2><table><thead><tr><th scope=\"col\">student</th><th scope=\"col\">total</th>"
                   "<th scope=\"col\">lost points in</th></tr></thead><tbody>")
        for row in data["students"]:
            lost = ", ".join(f"{_e(k)} ({_e(v)})" for k, v in row["failed"].items())
            out.append(f'<tr><th scope="row">{_e(row["student"])}</th><td class="n">{row["total"]:g}</td><td>{lost}</td></tr>')
        out.append("</tbody></table>")
    out.append("<h2>Kinds of failure that no check names</h2><dl>")
    out += [f"<dt><em>{_e(k)}</em></dt><dd>{_e(v)}</dd>" for k, v in KINDS.items() if k != "check"]
    out.append("</dl></main></body></html>")
    return "\n".join(out) + "\n"


def write_report(data: dict, out_dir: str | Path) -> Path:
    """Write ``index.html``, its PNG figures, ``insights.json`` and ``failures.csv``; the page's path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    figures: dict[str, tuple[str, str]] = {}
    _figure(out / "totals.png", _bars(data["totals"], f"total score (of {data['max_score']:g})", "#3b6ea5"))
    figures["totals"] = ("totals.png", _alt_counts(data["totals"], "total scores"))
    for i, q in enumerate(data["questions"]):
        name = f"q{i + 1:02d}.png"
        _figure(out / name, _bars(q["scores"], f"points for {q['id']} (of {q['max_score']:g})", "#3b6ea5"))
        figures[q["grade_id"]] = (name, _alt_counts(q["scores"], f"scores for {q['id']}"))
    if data["fail_together"]["questions"]:
        _figure(out / "together.png", _heatmap(data))
        pairs = [(a, b, data["fail_together"]["both"][i][j])
                 for i, a in enumerate(data["fail_together"]["questions"])
                 for j, b in enumerate(data["fail_together"]["questions"]) if i < j]
        common = sorted(pairs, key=lambda p: -p[2])[:3]
        figures["together"] = ("together.png", "Heat map of submissions that failed two questions: "
                               + ("; ".join(f"{c} failed both {a} and {b}" for a, b, c in common if c) or "no pair fails together")
                               + ". The table below has every count.")
    page = out / "index.html"
    page.write_text(render_html(data, figures), encoding="utf-8")
    (out / "insights.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    with open(out / "failures.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["question", "kind", "tag", "pattern", "count", "share", "example"])
        for q in data["questions"]:
            for g in q["groups"]:
                writer.writerow([q["id"], g["kind"], g["tag"] or "", g["pattern"], g["count"], g["share"], g["example"]])
    return page


def report(course_root: str | Path, assignment: str, db_url: str, out_dir: str | Path, *, names: bool = False,
           autograded_dir: str = "autograded", release_dir: str = "notebooks", source_dir: str = "solutions") -> Path:
    """Collect the class's data and write the report into ``out_dir`` (Instructors' guide)."""
    data = collect(course_root, assignment, db_url, autograded_dir=autograded_dir, release_dir=release_dir,
                   source_dir=source_dir, names=names)
    return write_report(data, out_dir)


__all__ = ["KINDS", "collect", "normalise", "render_html", "report", "write_report"]
