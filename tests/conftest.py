"""Shared pytest fixtures for tests of the built site (helpers live in tests/browser.py).

Fixtures
--------
site      (session) the built site served on http://127.0.0.1:<free port>/ from a thread.
          ``site.root`` is the folder (``$SITE_DIR`` or ``_build/html``), ``site.url`` the base
          URL, ``site.page_url("book/intro.html")`` a page's URL. Fails with a clear message
          when the site is not built.
browser   (session) headless Debian chromium driven by Playwright (sync API).
page      (function) a factory: ``rec = page()`` opens a fresh page (own browser context) and
          returns a :class:`browser.PageRecord` recording requests, console errors, page errors
          and failed requests; ``rec.assert_clean()`` / ``assert_local_only(rec)`` check them.
          ``page(color_scheme="dark")`` etc. pass options to ``browser.new_context``.
loaded_pages (session) ``loaded_pages(page_path, mode)``: a built page opened and settled
          (``browser.open_page``) in light or dark mode, in a window of
          ``browser.PAGE_VIEWPORT``, once per worker for every test that only reads it
          (tests/parallel.py puts a page's readers on one worker).

Parametrisation
---------------
page_path  every page of the built site (``browser.built_page_paths``), discovered from its
           files: a test taking a ``page_path`` argument runs once per page.

To test another build: ``SITE_DIR=/tmp/me-build/_build/html .venv/bin/python -m pytest ...``

Parallel runs (pytest-xdist)
----------------------------
``-n`` and ``--dist loadgroup`` are set once, in pyproject.toml; which tests share a worker
and in what order groups are handed out is planned in tests/parallel.py. Expensive inputs that several workers need (fresh courses, the graded class) are built once
per run across workers (tests/sharing.py) and copied for each user. The rules a new test
follows to stay safe in parallel are in tests/README.md.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import browser as _browser
import cpu
import sharing


# ---- parallel runs (pytest-xdist; the plan is in tests/parallel.py) ------------------------
def pytest_collection_modifyitems(config, items):
    """Under xdist: write each test's group for the scheduler, and queue the slowest groups
    first, a group's tests in collection order but those that need the machine alone first
    (all workers collect the same tests and sort them the same way; the sort is stable)."""
    if not os.environ.get(sharing.WORKER_ENV):
        return
    import parallel

    groups = parallel.write_groups(sharing.run_temp(config._tmp_path_factory), items)
    items.sort(key=lambda item: (parallel.queue_order(item, groups[item.nodeid]), parallel.order_in_group(item)))


@pytest.hookimpl(tryfirst=True, optionalhook=True)  # optional: runs without xdist too
def pytest_xdist_make_scheduler(config, log):
    """``--dist loadgroup`` hands a worker its next group only when it is about to run out."""
    if config.getvalue("dist") == "loadgroup":
        import parallel

        return parallel.OneGroupAhead(config, log)
    return None


# ---- CPU seconds per group (NEUROGRADER_TEST_CPU=1; tests/cpu.py) -------------------------
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """With ``NEUROGRADER_TEST_CPU=1``: the test's CPU seconds (set-up, call, teardown; this
    process and the children it reaped), appended to this worker's file."""
    if not cpu.enabled():
        yield
        return
    import parallel

    before = cpu.snapshot()
    yield
    after = cpu.snapshot()
    folder = sharing.run_temp(item.config._tmp_path_factory)
    worker = os.environ.get(sharing.WORKER_ENV, "main")
    last = getattr(item, "_cpu_before_teardown", None)  # the worker's last test
    group = parallel.xdist_group(item) or item.path.name
    cpu.append(folder, worker, cpu.record(item.nodeid, group, before, last or after))
    if last:
        cpu.append(folder, worker, cpu.record(item.nodeid, cpu.SESSION_END, last, after))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    """With ``NEUROGRADER_TEST_CPU=1``: the worker's last teardown also ends the session's
    fixtures (chromium, servers); it is measured apart from the test."""
    if cpu.enabled() and nextitem is None:
        item._cpu_before_teardown = cpu.snapshot()
    yield


def pytest_terminal_summary(terminalreporter, config):
    """With ``NEUROGRADER_TEST_CPU=1``: CPU seconds per group, most first (in the controller)."""
    if not cpu.enabled() or os.environ.get(sharing.WORKER_ENV):
        return
    import parallel

    folder = sharing.run_temp(config._tmp_path_factory)
    rows = cpu.read(folder)
    table = cpu.lines(cpu.by_group(rows))
    timeline = cpu.timeline(rows, parallel.CPU_SLOTS, heavy=parallel.is_cpu_heavy)
    kept = cpu.kept_file() or folder / "cpu-summary.txt"
    cpu.keep(kept, table + timeline, rows)
    terminalreporter.section(f"CPU seconds per group (with the run's timeline and every test's row: {kept})")
    for line in table + timeline[:1]:
        terminalreporter.write_line(line)


def pytest_sessionstart(session):
    """Before any worker starts: the course secret exists (created on first use otherwise,
    where two workers grading at once could race to create it)."""
    if not os.environ.get(sharing.WORKER_ENV):
        from neurograder import checks

        checks.course_secret()


def pytest_generate_tests(metafunc):
    """Parametrise ``page_path`` over the pages of the built site, discovered from its files."""
    if "page_path" in metafunc.fixturenames:
        # an unbuilt site still yields one test, which fails in the `site` fixture
        metafunc.parametrize("page_path", _browser.built_page_paths() or ["<site not built>"])


@pytest.fixture(scope="session")
def site():
    """The built site, served on 127.0.0.1 for the whole session."""
    root = _browser.site_dir()
    try:
        _browser.check_site_built(root)
    except FileNotFoundError as err:
        pytest.fail(str(err), pytrace=False)
    server = _browser.SiteServer(root).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def playwright_sync():
    """One Playwright driver for the session."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright_sync):
    """Headless Debian chromium (flags in tests/browser.py), closed at the end."""
    try:
        chromium = _browser.launch_chromium(playwright_sync)
    except FileNotFoundError as err:
        pytest.fail(str(err), pytrace=False)
    yield chromium
    chromium.close()


@pytest.fixture
def page(browser):
    """Factory of recorded pages: ``rec = page(**context_options)``; all closed afterwards."""
    contexts = []

    def new_page(**context_options) -> _browser.PageRecord:
        context = browser.new_context(**context_options)
        contexts.append(context)
        return _browser.PageRecord.attach(context.new_page())

    yield new_page
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def loaded_pages(site, browser):
    """Factory of settled built pages, each loaded once per worker: ``loaded_pages(page_path,
    mode)`` returns the :class:`browser.PageRecord` of ``page_path`` opened in a context of
    its own (``color_scheme=mode``, ``browser.PAGE_VIEWPORT``), recording from its creation,
    for tests that check the page without changing it (axe's script added is no change).
    Asking for another page closes the previous page's contexts, so at most one page's
    modes stay open."""
    opened: dict = {}

    def get(page_path: str, mode: str) -> _browser.PageRecord:
        if (page_path, mode) not in opened:
            for key in [k for k in opened if k[0] != page_path]:
                opened.pop(key)[1].close()
            context = browser.new_context(color_scheme=mode, viewport=_browser.PAGE_VIEWPORT)
            try:
                rec = _browser.PageRecord.attach(context.new_page())
                redirect = _browser.redirect_target(site.root, page_path)
                _browser.open_page(rec, site.page_url(page_path), redirect=redirect)
            except BaseException:
                context.close()
                raise
            opened[page_path, mode] = (rec, context)
        return opened[page_path, mode][0]

    yield get
    for _, context in opened.values():
        context.close()


#: the ``graded_class`` fixture's students -> (notebook kind from corpus.honest_variants, late?)
GRADED_CLASS = {
    "ada_full": ("honest_full", False),
    "ben_partial": ("honest_partial", False),
    "cy_stub": ("honest_stub", False),
    "dee_late": ("honest_late", True),
    "fay_extended": ("honest_full", True),
}
#: extensions file of the ``graded_class`` course: fay_extended's lateness is excused
GRADED_CLASS_EXTENSIONS = "student_id,days\nfay_extended,3  # medical note\n"


@pytest.fixture(scope="session")
def new_course(tmp_path_factory):
    """A factory of fresh nbgrader courses: ``new_course(dest, overrides="")`` puts at ``dest``
    (which must not exist) what ``corpus.make_course(dest)`` makes: our config, the source
    notebook, the release and gradebook made by the real ``nbgrader generate_assignment``,
    with ``overrides`` (grading settings, e.g. the sandbox's limits: the release and gradebook
    do not depend on them) appended to the copy's config. Made once per run (across xdist
    workers) and copied, so every caller gets a course of its own."""
    from attacks import corpus

    def make(dest, overrides: str = "") -> Path:
        folder, _ = sharing.built_once(tmp_path_factory, "course", lambda out: str(corpus.make_course(out / "course")))
        course = sharing.private_copy(folder / "course", Path(dest))
        if overrides:
            with open(course / "nbgrader_config.py", "a") as fh:
                fh.write(overrides + "\n")
        return course

    return make


def _grade_class(course: Path) -> None:
    """Submit the ``GRADED_CLASS`` (plus an unreadable notebook) into the fresh ``course``,
    grade it with ``python -m neurograder.batch`` and write ``python -m neurograder.report``."""
    import subprocess
    import sys
    from attacks import corpus

    notebooks = corpus.honest_variants(course)
    (course / "extensions.csv").write_text(GRADED_CLASS_EXTENSIONS)
    for student, (kind, late) in GRADED_CLASS.items():
        corpus.write_submission(course, student, notebooks[kind], timestamp=corpus.LATE if late else corpus.ON_TIME)
    corpus.write_submission(course, "eve_corrupted", raw=b'{"cells": [ not json', timestamp=corpus.ON_TIME)
    corpus.run_batch(course, timeout=600)
    done = subprocess.run(
        [sys.executable, "-m", "neurograder.report", "--course", str(course)],
        env=corpus.venv_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory, new_course):
    """A small class graded once per run with the instructor's command
    (``python -m neurograder.batch``) on a course made by the real ``nbgrader
    generate_assignment``: full marks, two wrong functions, all stubs, late, late with an
    extension, unreadable, never submitted (``zz_missing``, on the roster only); then
    ``python -m neurograder.report``. Returns this worker's own copy of the course folder."""

    def build(out: Path) -> None:
        _grade_class(new_course(out / "course"))

    folder, _ = sharing.built_once(tmp_path_factory, "graded-class", build)
    return sharing.private_copy(folder / "course", tmp_path_factory.mktemp("report") / "course")


@pytest.fixture(scope="module")
def release():
    """The released student notebook (``grader/release``, made by ``make notebooks``), read
    afresh for each test module."""
    import nbformat
    from course import notebooks

    path = notebooks.RELEASE_DIR / notebooks.NOTEBOOK
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make notebooks` (make test does)")
    return nbformat.read(path, as_version=4)
