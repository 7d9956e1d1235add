"""Question: does the same slider cell work unchanged in JupyterLab with a live kernel?

Starts JupyterLab (the venv's, on 127.0.0.1, its own config/runtime dirs under tmp_path),
opens a notebook whose cell is exactly the chapter's ``li_trace_slider()`` call, runs it in
headless chromium with every non-127.0.0.1 request blocked, moves the slider with the
keyboard and the drop-down, and checks that the shown frame is the precomputed one
(regenerated here: frames are deterministic) and that the kernel sees the new tau.
"""

from __future__ import annotations

import base64
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from browser import free_port, is_local

JUPYTER = Path(sys.executable).with_name("jupyter")
TIMEOUT_MS = 120_000

JS_SHOWN = """el => [...el.querySelectorAll('img.tau-frame')]
                 .filter(i => i.offsetParent !== null).map(i => i.getAttribute('src'))"""


@pytest.fixture
def lab(tmp_path):
    """A JupyterLab server on 127.0.0.1 serving tmp_path; yields its base URL."""
    if not JUPYTER.exists():
        pytest.fail(f"{JUPYTER} not found (jupyterlab is in requirements.txt)")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("from course.sliders import li_trace_slider\nw = li_trace_slider()\nw"),
        nbformat.v4.new_code_cell("print('TAU', w.slider.value, w.choice.value, w.stack.selected_index)"),
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, tmp_path / "demo.ipynb")
    port = free_port()
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp_path / ".cfg"), JUPYTER_RUNTIME_DIR=str(tmp_path / ".rt"))
    log = open(tmp_path / "server.log", "w")
    proc = subprocess.Popen(
        [
            str(JUPYTER),
            "lab",
            "--no-browser",
            "--allow-root",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--IdentityProvider.token=t",
            f"--ServerApp.root_dir={tmp_path}",
            "--LabApp.news_url=",
            "--LabServerApp.extension_manager=readonly",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("JupyterLab did not start:\n" + (tmp_path / "server.log").read_text()[-3000:])
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_slider_cell_works_unchanged_in_jupyterlab(lab, browser):
    from course.sliders import li_trace_frames

    srcs = ["data:image/png;base64," + base64.b64encode(p).decode() for p in li_trace_frames().pngs]
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    blocked = []
    context.route(
        "**/*", lambda r: r.continue_() if is_local(r.request.url) else (blocked.append(r.request.url), r.abort())
    )
    page = context.new_page()
    try:
        page.goto(f"{lab}/lab/tree/demo.ipynb?token=t", timeout=TIMEOUT_MS)
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=TIMEOUT_MS)
        # the kernel is up when the status bar says "Python 3 (ipykernel) | Idle"
        page.wait_for_function("/ipykernel\\) \\| Idle/.test(document.body.innerText)", timeout=TIMEOUT_MS)
        page.locator(".jp-Cell").first.click()
        page.keyboard.press("Shift+Enter")
        page.wait_for_selector(".tau-slider .noUi-handle", timeout=TIMEOUT_MS)
        root = page.locator(".tau-slider").first

        def shown_index(k, what):
            page.wait_for_function(
                "([el, s]) => [...el.querySelectorAll('img.tau-frame')]"
                ".some(i => i.offsetParent !== null && i.getAttribute('src') === s)",
                arg=[root.element_handle(), srcs[k]],
                timeout=30_000,
            )
            got = [srcs.index(s) if s in srcs else None for s in root.evaluate(JS_SHOWN)]
            assert got == [k], f"{what}: frames shown {got}, expected [{k}]"

        shown_index(3, "initial")
        root.locator(".noUi-handle").focus()
        page.keyboard.press("ArrowRight")
        shown_index(4, "keyboard ArrowRight")
        root.locator("select").select_option(index=7)
        shown_index(7, "drop-down")
        assert root.locator(".noUi-handle").get_attribute("aria-valuenow") == "7.0"

        page.locator(".jp-Cell").nth(1).click()
        page.keyboard.press("Shift+Enter")
        page.wait_for_function("document.body.innerText.includes('TAU ')", timeout=60_000)
        text = page.locator(".jp-Cell").nth(1).inner_text()
        assert re.search(r"TAU 128 128 7\b", text), f"kernel side: {text!r}"
        assert not blocked, f"JupyterLab page requested outside 127.0.0.1: {blocked}"
    finally:
        context.close()
