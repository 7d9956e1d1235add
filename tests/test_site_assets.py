"""tools/stage_assets.py: does it stage what the pages load, only once, and fail clearly?

(Whether the staged files really are all a browser asks for is checked by a browser, in
test_site_browser.py: every request of every page must succeed on 127.0.0.1.)
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys

import pytest

from browser import REPO

SCRIPT = REPO / "tools" / "stage_assets.py"
NODE_MODULES = REPO / "node_modules"


def _load():
    spec = importlib.util.spec_from_file_location("stage_assets", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


stage_assets = _load()
needs_npm = pytest.mark.skipif(
    not (NODE_MODULES / "mathjax").is_dir(), reason="node_modules missing: run `make assets`"
)


@needs_npm
def test_stages_bundles_and_the_fonts_they_request_once(tmp_path):
    """Are MathJax's bundle with its fonts and embed.js with every .woff2 it names (read
    independently here from its text) staged, and is a second run a no-op?"""
    files = stage_assets.stage(tmp_path, NODE_MODULES)
    rel = {p.relative_to(tmp_path).as_posix() for p in files}
    assert "vendor/mathjax/tex-chtml-full.js" in rel
    assert any(r.startswith("vendor/mathjax/output/chtml/fonts/woff-v2/") and r.endswith(".woff") for r in rel)
    embed = (NODE_MODULES / "@jupyter-widgets/html-manager/dist/embed.js").read_text(encoding="utf-8")
    named = set(re.findall(r'"([0-9a-f]{20}\.woff2)"', embed))
    assert named, "embed.js names no .woff2 font"
    assert {f"vendor/html-manager/{n}" for n in named} <= rel
    assert "favicon.ico" in rel and (tmp_path / "favicon.ico").read_bytes()[:4] == b"\x00\x00\x01\x00"
    stamp_time = (tmp_path / ".staged").stat().st_mtime_ns
    assert stage_assets.stage(tmp_path, NODE_MODULES) == []
    assert (tmp_path / ".staged").stat().st_mtime_ns == stamp_time


def test_missing_node_modules_is_a_clear_error(tmp_path):
    """Without `npm ci` does the script exit non-zero and say what to run?"""
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path / "out"), "--node-modules", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "npm ci" in proc.stderr and "mathjax" in proc.stderr
