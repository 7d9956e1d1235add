"""The grading benchmark's classes (``bench/bench_grading.py``): is each class what its figure
says it is?"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import bench_grading  # noqa: E402


def _template(root: Path, kinds: dict[str, str]) -> Path:
    for student in kinds:
        folder = root / "submitted" / student / "module1"
        folder.mkdir(parents=True)
        (folder / "neurons.ipynb").write_text(student)
    return root


@pytest.mark.timeout(60)
def test_the_honest_class_holds_only_honest_submissions_and_as_many_as_asked(tmp_path):
    """Does the "per honest submission" class hold exactly ``size`` submissions, every one a
    copy of an honest one (none of the hostile ones, nor a copy of one)?"""
    kinds = {"s00_honest": "honest", "s12_partial": "honest", "s24_01_patch_allclose": "hostile"}
    template = _template(tmp_path / "template", kinds)
    out = bench_grading.honest_class(template, tmp_path / "class", kinds, 7)
    on_disk = sorted(p.name for p in (tmp_path / "class" / "submitted").iterdir())
    assert sorted(out) == on_disk and len(on_disk) == 7
    assert set(out.values()) == {"honest"}
    texts = {(tmp_path / "class" / "submitted" / s / "module1" / "neurons.ipynb").read_text() for s in on_disk}
    assert texts == {"s00_honest", "s12_partial"}


def test_the_two_versions_take_turns_at_running_first():
    """Does each round run the pair (ours, the earlier version) in the order opposite to the
    round before, so that neither is always the second of two runs (measured faster)?"""
    orders = [bench_grading.pair_order(r) for r in range(4)]
    assert orders == [("ours", "before"), ("before", "ours"), ("ours", "before"), ("before", "ours")]
