"""The hidden-check engine (grader/neurograder/checks.py) and how a module's checks reach it.

Module content lives in the module folder (``[python] checks`` of its manifest); the engine
adds task numbers and extra-credit flags from the manifest, runs a check in a kernel, and the
batch's fingerprint covers the module's checks so a change to them regrades the class.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from course import manifest
from fixtures.course_copy import copy_course, run
from neurograder import checks as engine

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "module_demo"


def _double_check(**kw) -> engine.Check:
    def judge(cases, outputs):
        for case, out in zip(cases, outputs):
            if not engine.close(engine.as_array(out, "double"), 2 * np.asarray(case[0], float)):
                raise engine.CheckFailed("double(x) must return 2 * x.")

    return engine.Check("task1_double_hidden", "double", "call", 2, lambda: [([1.0, 2.0],)], judge, **kw)


@pytest.mark.timeout(60)
def test_table_takes_task_numbers_and_extra_credit_from_the_manifest():
    """Does ``table`` give each check the task its manifest's [tasks] prefix names, and mark it
    extra credit exactly when that task is optional?"""
    demo = manifest.load(FIXTURE)
    (check,) = engine.table([_double_check()], demo).values()
    assert (check.task, check.bonus) == ("1", False)
    optional = manifest.Module(**{**vars(demo), "tasks": (manifest.Task("7", "task1_", optional=True),)})
    (check,) = engine.table([_double_check()], optional).values()
    assert (check.task, check.bonus) == ("7", True)


@pytest.mark.timeout(60)
def test_module_1_checks_are_reached_through_its_manifest():
    """Do module 1's checks come from the file its manifest names, in the module folder, with
    the manifest's optional tasks as extra credit?"""
    m1 = manifest.module("module1")
    assert m1.code_file("checks") == m1.folder / "checks.py"
    checks = m1.checks()
    assert checks and all(c.task == m1.task_of(gid).number for gid, c in checks.items())
    assert {gid for gid, c in checks.items() if c.bonus} == {gid for gid in checks if m1.is_optional(gid)}


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "namespace, message",
    [
        ({}, "`double` is not defined"),
        ({"double": lambda x: (_ for _ in ()).throw(NotImplementedError())}, "not implemented yet"),
        ({"double": lambda x: 1 / 0}, "raised ZeroDivisionError"),
        ({"double": lambda x: [v + 2 for v in x]}, r"must return 2 \* x"),
    ],
)
def test_run_check_fails_with_the_reason(namespace, message):
    """Does a hidden test cell (run_check) fail with a message naming what went wrong?"""
    check = _double_check()
    with pytest.raises(engine.CheckFailed, match=message):
        engine.run_check(check.grade_id, namespace, {check.grade_id: check})


@pytest.mark.timeout(60)
def test_run_check_passes_a_right_answer():
    """Does a right answer (a list instead of an array) pass run_check?"""
    check = _double_check()
    engine.run_check(check.grade_id, {"double": lambda x: [2 * v for v in x]}, {check.grade_id: check})


@pytest.mark.timeout(60)
def test_cases_depend_on_the_salt_and_the_course_secret(tmp_path, monkeypatch):
    """Are a case maker's numbers the same on every call, different per salt, and different
    under another course secret (so nothing public predicts them)?"""

    def draws(secret: str, salt: int):
        path = tmp_path / secret
        path.write_text(secret * 8)
        monkeypatch.setenv("NEUROGRADER_SECRET_FILE", str(path))
        return engine.rng(salt).random(4).tolist()

    assert draws("a" * 8, 1) == draws("a" * 8, 1)
    assert draws("a" * 8, 1) != draws("a" * 8, 2)
    assert draws("a" * 8, 1) != draws("b" * 8, 1)


#: a course secret under which every LIF surface case of the earlier case maker was the raster
#: itself (short taus, low thresholds: the neuron spiked at each input spike and reset), so
#: wrong surfaces passed; then as many random secrets
SECRETS = ["c14f1b23fdb4e72bc00161170abd1a4023b57e4ab011dca5aa25ad5e516e8c1b"] + [
    f"{k:064x}" for k in np.random.default_rng(2026).integers(1, 2**62, 30)
]
REFERENCE = Path(__file__).resolve().parents[1] / "solutions" / "reference.py"


def _student_namespace(cells: dict) -> dict:
    """The notebook's namespace of a student who wrote ``cells`` (the corpus' code by
    solution cell) and the reference answer everywhere else, as the notebook runs them: one
    namespace, so a surface calls the student's own integrator."""
    from corpus import module1

    ns = {"np": np, "__name__": "notebook"}
    exec(compile(REFERENCE.read_text(), str(REFERENCE), "exec"), ns)  # the functions
    answers = module1.CORRECT["vectorised_lif_surface_and_other_answers"]  # the values
    for cell in ("task0_input_data_solution", "task3_max_x_spiking_solution", "task3_max_x_silent_solution"):
        exec(answers[cell], ns)
    for code in cells.values():
        exec(code, ns)
    return ns


def _passes(check, ns: dict, cases: list) -> bool:
    """Does the student's code in ``ns`` pass ``check`` on ``cases`` (run in this process as
    in a kernel: the engine's collect and judge; the student's code raising loses)?"""
    try:
        engine.judge(check, engine.collect(check, ns, cases), cases)
    except Exception:  # CheckFailed, or the student's code raised
        return False
    return True


@pytest.mark.timeout(300)
def test_the_hidden_cases_catch_each_wrong_answer_under_any_course_secret(tmp_path, monkeypatch):
    """Under 31 course secrets (one that once let wrong time surfaces through, 30 random),
    does every hidden test fail every wrong answer of the corpus that must fail it, and pass
    the reference answer? The cases are drawn from the course secret, so they must tell the
    mistakes apart whatever it is (a LIF time surface case must not be the raster itself: a
    neuron that spikes at every input spike and resets gives it back whatever the code)."""
    from corpus import module1

    checks = manifest.module("module1").code("checks").CHECKS
    reference = _student_namespace({})
    namespaces = {name: _student_namespace(entry["cells"]) for name, entry in module1.WRONG.items()}
    surfaces = [
        n for n, e in module1.WRONG.items() if {"task41_li_surface_hidden", "task42_lif_surface_hidden"} & e["fails"]
    ]
    assert len(surfaces) >= 10
    missed, refused = [], []
    for k, secret in enumerate(SECRETS):
        path = tmp_path / f"secret{k}"
        path.write_text(secret + "\n")
        monkeypatch.setenv("NEUROGRADER_SECRET_FILE", str(path))
        for gid, check in checks.items():
            cases = check.cases()
            if not _passes(check, reference, cases):
                refused.append((secret[:8], gid))
            missed += [
                (secret[:8], gid, name)
                for name, entry in module1.WRONG.items()
                if gid in entry["fails"] and _passes(check, namespaces[name], cases)
            ]
    assert refused == [] and missed == []


FINGERPRINT = textwrap.dedent("""
    from pathlib import Path
    from neurograder.worker import course_fingerprint
    print(course_fingerprint(Path("grader"), "module1"))
""")


@pytest.mark.timeout(300)
def test_a_change_to_the_module_checks_or_manifest_regrades_the_class(tmp_path):
    """Does the course fingerprint (a student is regraded when it changes) change when the
    module's checks file, its manifest, the engine or a reference the judges compare with
    changes, and only then?"""
    course = copy_course(tmp_path / "course")

    def fingerprint() -> str:
        done = run(course, "-c", FINGERPRINT, timeout=240)
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout.strip()

    before = fingerprint()
    assert fingerprint() == before
    for path, edit in [
        ("book/module1/checks.py", "\n# a comment changes the file\n"),
        ("book/module1/module.toml", "\n# a comment changes the manifest\n"),
        ("grader/neurograder/checks.py", "\n# a comment changes the engine\n"),
        ("solutions/filters.py", "\n# a comment changes a reference\n"),
    ]:
        target = course / path
        original = target.read_text()
        target.write_text(original + edit)
        assert fingerprint() != before, path
        target.write_text(original)
    assert fingerprint() == before
