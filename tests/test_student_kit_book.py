"""The students' kit builds its book strictly from the course's notebook execution cache.

No page is executed again in the kit, which keeps this test cheap as chapters are added. It waits for
the course's own build (which fills ``_build/.jupyter_cache``), so it is a file of its own: the rest of
``test_student_kit.py`` runs while the course's book is still building.
"""

from __future__ import annotations

import re
import sys

import pytest

from browser_helpers import BuildResult, build_book
from conftest import ASSIGNMENTS, ROOT

sys.path.insert(0, str(ROOT / "tools"))
import student_kit  # noqa: E402

pytestmark = pytest.mark.slow


def test_kit_book_builds_strictly_from_the_course_cache(tmp_path):
    kit = student_kit.write_kit(tmp_path / "course-kit")
    main = build_book()  # the course's own build fills _build/.jupyter_cache
    assert main.returncode == 0, main.log[-3000:]
    returncode, log, seconds = student_kit.build_book(kit)
    result = BuildResult(returncode, log, seconds, kit / "_build" / "html")
    assert returncode == 0 and not result.warnings, "\n".join(result.warnings[:20]) or log[-3000:]
    executed = re.findall(r"(\S+\.ipynb): Executing notebook", log)
    assert not executed, f"pages executed again instead of coming from the cache: {executed}"
    for key in ASSIGNMENTS:
        html = (kit / "_build" / "html" / "book" / key / "index.html").read_text(encoding="utf-8")
        assert "BEGIN SOLUTION" not in html
    print(f"kit book build: {seconds:.0f} s; kit with its build: {student_kit.size_mb(kit):.1f} MB")
