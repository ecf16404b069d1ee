"""A student's session in JupyterLab, end to end, in headless Chromium.

``jupyter lab`` is started in the course root (as ``make lab`` does, so nbgrader finds
``nbgrader_config.py``) on 127.0.0.1 with a token. The test works on copies of the Chapter 1 notebooks
in a scratch folder under ``_build/`` that it removes afterwards:

* the release notebook: *Run All Cells* stops at the first unanswered question with its
  ``NotImplementedError``; running that question's test cell shows the check's teaching message;
* the solution notebook: nbgrader's **Validate** button reports
  "Success! Your notebook passes all the tests.".

The server is stopped by its PID.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from browser_helpers import BIN, BUILD_DIR, ROOT, SCREENSHOT_DIR, launch_chromium

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ASSIGNMENT = "ch01_learning_from_data"
RELEASE = ROOT / "notebooks" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
SOLUTION = ROOT / "solutions" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
STARTUP_TIMEOUT_S = 90
VALIDATE_TIMEOUT_MS = 240_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _cell_index(notebook: Path, grade_id: str) -> int:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    for index, cell in enumerate(cells):
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            return index
    raise LookupError(f"{notebook.name} has no cell {grade_id!r}")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server in the course root; yields (base URL, token, scratch folder relative to the root)."""
    if not (BIN / "jupyter-lab").exists():
        pytest.fail(f"jupyter-lab is not installed in {BIN} (requirements.txt)")
    scratch = BUILD_DIR / f"lab-e2e-{os.getpid()}"
    shutil.rmtree(scratch, ignore_errors=True)
    (scratch / "release").mkdir(parents=True)
    (scratch / "solution").mkdir(parents=True)
    (scratch / "untouched").mkdir(parents=True)
    shutil.copy(RELEASE, scratch / "release" / RELEASE.name)
    shutil.copy(RELEASE, scratch / "untouched" / RELEASE.name)
    shutil.copy(SOLUTION, scratch / "solution" / SOLUTION.name)

    home = tmp_path_factory.mktemp("jupyter")
    config_dir = home / "config"
    config_dir.mkdir()
    # No news feed, no update check, nothing from the network; the user's own settings stay untouched.
    (config_dir / "jupyter_server_config.json").write_text(
        json.dumps({"LabApp": {"news_url": None,
                               "check_for_updates_class": "jupyterlab.NeverCheckForUpdate"}}),
        encoding="utf-8",
    )
    # Nor the "official Jupyter news?" pop-up.
    settings = home / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}), encoding="utf-8"
    )
    env = dict(os.environ)
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        JUPYTER_CONFIG_DIR=str(config_dir),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        TF_CPP_MIN_LOG_LEVEL="3",
        TF_ENABLE_ONEDNN_OPTS="0",
    )
    env.pop("MPLBACKEND", None)  # a student's JupyterLab draws figures inline
    port, token = _free_port(), secrets.token_hex(16)
    command = [
        str(BIN / "jupyter-lab"),
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={ROOT}",
        f"--LabApp.workspaces_dir={home / 'workspaces'}",
        f"--LabApp.user_settings_dir={home / 'settings'}",
    ]
    if hasattr(os, "getuid") and os.getuid() == 0:
        command.append("--allow-root")
    log_path = home / "lab.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{base}api/status?token={token}", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not start in {STARTUP_TIMEOUT_S}s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        yield base, token, scratch.relative_to(ROOT).as_posix()
    finally:
        # Stop the server we started, by its PID; it shuts its kernels down on SIGTERM.
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    with launch_chromium() as browser:
        yield browser


def _open_notebook(browser, lab, path: str):
    base, token, _ = lab
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{base}lab/tree/{path}?token={token}&reset", wait_until="domcontentloaded")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=90_000)
    # The kernel is ready when the status bar says "<kernel name> | Idle" (before the kernel exists it
    # says "No Kernel | Initializing", and the toolbar's indicator already reads idle).
    page.wait_for_function(
        """() => Array.from(document.querySelectorAll('.jp-StatusBar-TextItem'))
                     .some(e => /^(?!No Kernel).+ [|] Idle$/.test(e.textContent.trim()))""",
        timeout=90_000,
    )
    return context, page


def _cell(page, index: int):
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(index)


def _run_cell(page, index: int):
    cell = _cell(page, index)
    cell.locator(".jp-InputPrompt").click()  # select it in command mode
    page.keyboard.press("Shift+Enter")


def _wait_for_output(page, index: int, text: str, timeout_ms: int = 120_000) -> str:
    output = _cell(page, index).locator(".jp-OutputArea").first
    output.filter(has_text=text).wait_for(state="attached", timeout=timeout_ms)
    output.scroll_into_view_if_needed()
    # textContent, not innerText: JupyterLab skips rendering cells outside the viewport.
    return output.text_content() or ""


def test_release_notebook_shows_the_checks_messages(browser, lab):
    _, _, scratch = lab
    notebook = f"{scratch}/release/{RELEASE.name}"
    context, page = _open_notebook(browser, lab, notebook)
    try:
        q1, q1_test = _cell_index(RELEASE, "q1_task_types"), _cell_index(RELEASE, "q1_task_types_test")
        q3, q3_test = _cell_index(RELEASE, "q3_mse"), _cell_index(RELEASE, "q3_mse_test")
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        # Run All stops at the first unanswered question's check, which explains what is missing.
        text = _wait_for_output(page, q1_test, "AssertionError")
        assert "task_type" in text and "NotImplementedError" in text, text
        setup_output = _cell(page, _cell_index(RELEASE, "setup")).locator(".jp-OutputArea").first.text_content()
        assert "Error" not in setup_output, f"the set-up cell failed:\n{setup_output}"
        assert "Error" not in (_cell(page, q1).locator(".jp-OutputArea").first.text_content() or "")
        # An unanswered function: its check turns NotImplementedError into a message.
        _run_cell(page, q3)
        _run_cell(page, q3_test)
        text = _wait_for_output(page, q3_test, "AssertionError")
        assert "mse" in text and "NotImplementedError" in text, text
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT_DIR / "lab-release-check-message.png"))
    finally:
        context.close()


def _validate(browser, lab, path: str, screenshot: str) -> str:
    """Press nbgrader's Validate button and return the text of the dialog it opens."""
    context, page = _open_notebook(browser, lab, path)
    try:
        page.locator(".jp-NotebookPanel-toolbar").get_by_role("button", name="Validate").click()
        page.locator(".jp-Dialog .validation-success, .jp-Dialog .validation-failed, "
                     ".jp-Dialog .validation-error").first.wait_for(timeout=VALIDATE_TIMEOUT_MS)
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOT_DIR / screenshot))
        return page.locator(".jp-Dialog").inner_text()
    finally:
        context.close()


def test_validate_button_passes_the_solution(browser, lab):
    _, _, scratch = lab
    dialog = _validate(browser, lab, f"{scratch}/solution/{SOLUTION.name}", "lab-validate-solution.png")
    assert "Success! Your notebook passes all the tests." in dialog, dialog


def test_validate_button_flags_the_untouched_release(browser, lab):
    _, _, scratch = lab
    dialog = _validate(browser, lab, f"{scratch}/untouched/{RELEASE.name}", "lab-validate-release.png")
    assert "Success!" not in dialog, dialog
    assert "NotImplementedError" in dialog or "AssertionError" in dialog, dialog
