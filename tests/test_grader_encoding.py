"""Does a grading worker encode each thing once, and is what it encodes still what plain
nbformat, json and nbgrader make of it?

* the notebook nbgrader's sanitising pass writes and its autograding pass reads back, against
  nbformat's own writer and reader;
* the sandbox's job, against ``json.dumps`` of the same job;
* the verdict cache's keys of a check's outputs, against equality of the outputs;
* a graded test cell's output, against ``nbformat.v4.new_output``.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

sys.path.insert(0, str(Path(__file__).resolve().parent))
from attacks import corpus  # noqa: E402

from neurograder import grading, sandbox, warm  # noqa: E402
from neurograder.preprocessors import graded_output  # noqa: E402


def _awkward_notebook() -> nbformat.NotebookNode:
    """Multi-line sources and outputs, non-ASCII and control characters, MIME bundles (one
    JSON, one split into lines), transient fields nbformat drops, nbgrader metadata."""
    code = new_code_cell(
        "x = 'Üñï\\u2028\\x00'\nprint(x)\n\n",
        metadata={"nbgrader": {"grade_id": "a", "solution": True, "locked": False}, "trusted": True},
        outputs=[
            new_output("stream", name="stdout", text="line 1\nline 2 — ß\n"),
            new_output(
                "display_data",
                data={"text/plain": "a\nb", "text/html": "<b>\n</b>", "application/json": {"k": [1, 2.5, None]}},
                metadata={"isolated": True},
            ),
            new_output("error", ename="E", evalue="v", traceback=["t1", "t2\n"]),
        ],
        execution_count=3,
    )
    nb = new_notebook(
        cells=[code, new_markdown_cell("# Title\n\n$\\tau$ 𝜏"), new_raw_cell("<p>\n</p>"), new_code_cell("")],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}, "orig_nbformat": 3},
    )
    return nbformat.from_dict(json.loads(nbformat.writes(nb)))  # (as one read from a file)


def _sanitising_exporter(sanitizing: bool):
    """The workers' exporter as nbgrader's Autograde holds it, in its sanitising pass or not."""
    from nbgrader.converters.autograde import Autograde
    from nbgrader.coursedir import CourseDirectory

    converter = Autograde(coursedir=CourseDirectory())
    converter._sanitizing = sanitizing
    exporter = warm.ReadOnceNotebookExporter(parent=converter)
    from nbconvert.preprocessors import ClearMetadataPreprocessor

    exporter.register_preprocessor(ClearMetadataPreprocessor(enabled=False))
    return exporter


@pytest.mark.timeout(120)
def test_the_sanitising_pass_writes_compact_json_that_reads_back_as_nbformats_text(tmp_path, new_course):
    """Is the notebook nbgrader's sanitising pass writes (and its autograding pass reads back)
    written without nbformat's pure-Python indentation, yet read back by nbformat exactly as
    nbformat's own indented text is? Outside that pass the exporter writes nbformat's text."""
    course = new_course(tmp_path / "course")
    released = nbformat.read(str(course / "release" / corpus.ASSIGNMENT / corpus.NOTEBOOK), 4)
    for nb in (_awkward_notebook(), corpus.honest_notebook(course), released):
        path = tmp_path / "nb.ipynb"
        path.write_text(nbformat.writes(nb))
        compact, _ = _sanitising_exporter(True).from_filename(str(path))
        indented, _ = _sanitising_exporter(False).from_filename(str(path))
        assert indented == nbformat.writes(nbformat.read(str(path), 4)) + "\n"  # nbformat's own text
        assert "\n " not in compact and compact.endswith("}\n")  # one line, no indentation
        read_back = nbformat.reads(compact, 4)
        assert read_back == nbformat.reads(indented, 4)
        assert nbformat.writes(read_back) == nbformat.writes(nbformat.reads(indented, 4))


def _job(course: Path) -> dict:
    """A full sandbox job of an honest student: setup, cells, checks with cases, modules."""
    spec = grading.load_spec(course / "source" / corpus.ASSIGNMENT / corpus.NOTEBOOK)
    checks, _ = grading.load_checks(assignment=corpus.ASSIGNMENT)
    job, _ = grading.build_job(corpus.honest_notebook(course), spec, checks)
    return sandbox.full_job(job, sandbox.Limits(), 60001, 7, None, "bwrap")


def _exact(value) -> str:
    """A text that tells 1, 1.0 and True apart (json.loads' == does not)."""
    return json.dumps(value, sort_keys=True)


@pytest.mark.timeout(120)
def test_the_job_sent_to_the_sandbox_is_json_dumps_of_the_job_with_cases_encoded_once(tmp_path, new_course):
    """Does the sandbox read the same job as ``json.dumps(job)`` gives, with each check's
    cases (the same list for every student) encoded once per process, and a different list
    of cases encoded anew?"""
    course = new_course(tmp_path / "course")
    job = _job(course)
    assert any("cases" in c for c in job["checks"]) and any("cases" not in c for c in job["checks"])
    for _ in range(2):  # encoded, then from the cache
        sent = json.loads(sandbox.job_bytes(job))
        assert _exact(sent) == _exact(json.loads(json.dumps(job)))
    cases = next(c for c in job["checks"] if "cases" in c)["cases"]
    assert sandbox._CASES_JSON[id(cases)][0] is cases  # kept with its list
    other = dict(job, checks=[dict(c, cases=[[1, 2.0, True]]) if "cases" in c else c for c in job["checks"]])
    assert _exact(json.loads(sandbox.job_bytes(other))) == _exact(json.loads(json.dumps(other)))
    assert json.loads(sandbox.job_bytes({"setup": []})) == {"setup": []}  # (no checks at all)


class _Check:
    grade_id = "g"


@pytest.mark.timeout(60)
def test_verdict_keys_are_equal_exactly_for_equal_outputs_of_the_same_type():
    """Do two outputs share a verdict key only when their values are equal number for number
    and type for type (1, 1.0 and True, 0.0 and -0.0, the last bit of a float all differ),
    and do error outputs get no key?"""
    key = grading._values_key
    values = [[0.1, 0.2], [1, 2], [1.0, 2.0], [True, 2], [0.1, math.nextafter(0.2, 1)], [[0.1], 0.2], [-0.0, 2.0]]
    keys = [key(_Check, [{"value": v}]) for v in values]
    assert len(set(keys)) == len(values)
    assert key(_Check, [{"value": [0.1, 0.2]}]) == keys[0]  # equal values, another list
    assert key(_Check, [{"value": json.loads("[0.1, 0.2]")}]) == keys[0]
    assert key(_Check, [{"error": "boom"}]) is None and key(_Check, ["?"]) is None


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "fields",
    [
        {"output_type": "stream", "name": "stdout", "text": "passed: f (1 of 1 points)\n"},
        {"output_type": "error", "ename": "Test failed: f", "evalue": "0 of 2 points", "traceback": ["a", "b"]},
    ],
)
def test_a_graded_output_is_what_nbformats_new_output_makes(fields):
    """Is a test cell's output the one ``nbformat.v4.new_output`` makes (and valid)?"""
    kind = fields["output_type"]
    expected = new_output(kind, **{k: v for k, v in fields.items() if k != "output_type"})
    got = graded_output(**fields)
    assert got == expected and isinstance(got, nbformat.NotebookNode)
    nb = new_notebook(cells=[new_code_cell("f()", outputs=[got])])
    nbformat.validate(nb)


def _odd_values(rng) -> dict:
    """JSON values of every kind and some edge cases (NaN, infinities, -0.0, big and small
    numbers, empty and nested containers, escapes, non-ASCII keys)."""
    leaves = [0, -1, 2**70, 0.1, -0.0, 1e300, 5e-324, math.nan, math.inf, -math.inf, True, False, None]
    leaves += ["", "a\nb\n", '"\\\t\x00\x7f\u2028', "ü𝜏"]

    def value(depth):
        kind = rng.randrange(4 if depth < 4 else 1)
        if kind == 0:
            return rng.choice(leaves)
        if kind == 1:
            return [value(depth + 1) for _ in range(rng.randrange(4))]
        if kind == 2:
            return tuple(value(depth + 1) for _ in range(rng.randrange(3)))
        return {
            rng.choice(["k", "ä", "a b", "\n", "z", "0"]) + str(i): value(depth + 1) for i in range(rng.randrange(4))
        }

    return {f"v{i}": value(0) for i in range(40)}


@pytest.mark.timeout(120)
def test_the_autograded_notebook_is_nbformats_text_byte_for_byte(tmp_path, new_course):
    """Is the text the autograding pass writes (``warm.notebook_json``, no pure-Python
    indenting encoder) nbformat's own ``writes`` text, byte for byte, for the course's
    notebooks, awkward cells and random metadata values, and does a notebook holding bytes
    (which only nbformat's encoder knows) still get nbformat's text?"""
    import copy
    import random

    from nbformat.v4.nbjson import writes

    course = new_course(tmp_path / "course")
    notebooks = [
        _awkward_notebook(),
        corpus.honest_notebook(course),
        nbformat.read(str(course / "release" / corpus.ASSIGNMENT / corpus.NOTEBOOK), 4),
        nbformat.read(str(course / "source" / corpus.ASSIGNMENT / corpus.NOTEBOOK), 4),
    ]
    rng = random.Random(14)
    for _ in range(20):
        nb = _awkward_notebook()
        nb.metadata["odd"] = _odd_values(rng)
        nb.cells[0].outputs[1].data["application/json"] = _odd_values(rng)
        notebooks.append(nb)
    with_bytes = _awkward_notebook()
    with_bytes.metadata["raw"] = b"abc"
    notebooks.append(with_bytes)
    for nb in notebooks:
        expected = writes(nb) + "\n"
        assert warm.notebook_json(copy.deepcopy(nb)) == expected
    assert '"raw": "abc"' in warm.notebook_json(with_bytes)
