"""Does ``nbgrader export`` (with ``neurograder.export.TaskCsvExportPlugin`` from the course
config) give an LMS-ready CSV: nbgrader's own totals, one column per task that adds up to them,
extra credit, and names that stay one field?

Run with the real ``nbgrader export`` CLI on the ``graded_class`` fixture (tests/conftest.py);
nbgrader's built-in ``CsvExportPlugin`` is the oracle for the totals.
"""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import pytest

from attacks import corpus


def _export(course: Path, dest: Path, plugin: str | None = None) -> list[dict]:
    cmd = [corpus.tool("nbgrader"), "export", f"--to={dest}", "--log-level=ERROR"]
    if plugin:
        cmd.append(f"--ExportApp.plugin_class={plugin}")
    done = subprocess.run(cmd, cwd=course, env=corpus.venv_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    with open(dest, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def exported(graded_class, tmp_path_factory):
    from nbgrader.api import Gradebook

    out = tmp_path_factory.mktemp("export")
    # the oracle first: nbgrader's plugin does not quote, so a comma in a name shifts its row
    plain = _export(graded_class, out / "plain.csv", "nbgrader.plugins.CsvExportPlugin")
    with Gradebook(f"sqlite:///{graded_class / 'gradebook.db'}") as gb:
        gb.update_or_create_student("zz_missing", first_name="Jo\x1b[31m", last_name="O'Neil, Jr.")
    ours = _export(graded_class, out / "tasks.csv")
    return ours, plain


@pytest.mark.timeout(900)
def test_totals_equal_nbgraders_own_export(exported):
    ours, plain = exported
    by_id = {r["student_id"]: r for r in plain}
    assert sorted(r["student_id"] for r in ours) == sorted(by_id)
    for row in ours:
        ref = by_id[row["student_id"]]
        for key in ("raw_score", "late_submission_penalty", "score", "max_score"):
            assert float(row[key]) == pytest.approx(float(ref[key])), (row["student_id"], key)


@pytest.mark.timeout(900)
def test_task_columns_add_up_to_the_total(exported):
    ours, _ = exported
    tasks = [k for k in ours[0] if " (of " in k or k.endswith(" (extra credit)")]
    assert {t.split(" ")[0] for t in tasks} >= {"task1", "task2", "task3", "task31", "task41", "task43"}
    assert "task43 (extra credit)" in tasks  # the optional task: never "(of 0)"
    maxima = [float(t.split("(of ")[1].rstrip(")")) for t in tasks if " (of " in t]
    assert sum(maxima) == pytest.approx(float(ours[0]["max_score"]))
    for row in ours:
        assert sum(float(row[t]) for t in tasks) == pytest.approx(float(row["raw_score"])), row
        assert float(row["extra_credit"]) >= 0
    full = next(r for r in ours if r["student_id"] == "ada_full")
    partial = next(r for r in ours if r["student_id"] == "ben_partial")
    task2 = next(t for t in tasks if t.startswith("task2 "))
    assert float(full[task2]) > 0 and float(partial[task2]) == 0


@pytest.mark.timeout(900)
def test_names_stay_one_field_without_control_characters(exported):
    ours, _ = exported
    row = next(r for r in ours if r["student_id"] == "zz_missing")
    assert (row["last_name"], row["first_name"]) == ("O'Neil, Jr.", "Jo[31m")
    assert float(row["score"]) == 0.0 and row["timestamp"] == ""


@pytest.mark.timeout(60)
def test_task_columns_come_from_the_manifest_tasks(monkeypatch):
    """Is a cell's column its task's prefix in the module manifest (Task 10's ``task10_`` is
    column ``task10``, never Task 1's), and does a cell of no task stop the export naming the manifest?"""
    from course import manifest
    from neurograder.export import task_of

    demo = manifest.load(Path(__file__).resolve().parent / "fixtures" / "module_demo")
    tasks = (manifest.Task("1", "task1_"), manifest.Task("10", "task10_"), manifest.Task("1.1", "task1_extra_"))
    fake = manifest.Module(**{**vars(demo), "tasks": tasks})
    monkeypatch.setattr(manifest, "module", lambda assignment=None: fake)
    assert [task_of("demo", g) for g in ("task1_a", "task10_b", "task1_extra_c")] == ["task1", "task10", "task1_extra"]
    with pytest.raises(manifest.ManifestError, match="module.toml"):
        task_of("demo", "task2_nothing")


@pytest.mark.timeout(900)
def test_make_grades_csv_and_report_read_the_gradebook_as_nbgrader_does(graded_class, exported):
    """Is the grades.csv that ``make grade`` writes (nbgrader's CsvExportPlugin given the class
    read in one query) row for row nbgrader's own export of the same gradebook, and does the
    class report give each student the score, maximum, lateness and manual-grading flag that
    nbgrader's gradebook API gives, asked one student at a time?"""
    from nbgrader.api import Gradebook, MissingEntry

    _, plain = exported
    with open(graded_class / "grades.csv", newline="") as fh:
        assert list(csv.DictReader(fh)) == plain
    with open(graded_class / f"{corpus.ASSIGNMENT}_report.csv", newline="") as fh:
        report = {r["student"]: r for r in csv.DictReader(fh)}
    seen = 0
    with Gradebook(f"sqlite:///{graded_class / 'gradebook.db'}") as gb:
        for sid, row in report.items():
            try:
                sub = gb.find_submission(corpus.ASSIGNMENT, sid)
            except MissingEntry:
                assert float(row["score"]) == 0.0 and row["max_score"] == "", row
                continue
            seen += 1
            assert float(row["score"]) == pytest.approx(sub.score), sid
            assert float(row["max_score"]) == pytest.approx(sub.max_score), sid
            assert float(row["late_seconds"]) == pytest.approx(round(sub.total_seconds_late, 1)), sid
            assert row["needs_manual_grade"] == str(sub.needs_manual_grade), sid
    assert seen >= 5 and any(float(r["late_seconds"]) > 0 for r in report.values())
