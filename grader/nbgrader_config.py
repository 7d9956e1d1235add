"""nbgrader configuration of the course (run nbgrader commands from this folder, grader/).

`nbgrader autograde module1` runs student code only in the sandbox (neurograder.sandbox):
NormalizeSubmission replaces ClearOutput/DeduplicateIds/OverwriteCells, SandboxExecute replaces
Execute. `nbgrader generate_feedback module1` and `nbgrader export` are unchanged apart from a
hidden-test stripper in the feedback chain. Plain nbgrader (in-kernel run_check) is what
`nbgrader validate` and students use; set NEUROGRADER_PLAIN=1 to autograde that way too
(for comparisons only: it is not safe against hostile submissions).
"""
import os

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, GetGrades,
                                    IgnorePattern, LimitOutput, OverwriteKernelspec,
                                    SaveAutoGrades)

c = get_config()  # noqa: F821  (provided by nbgrader)

c.CourseDirectory.course_id = "spiking-neurons"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))

if not os.environ.get("NEUROGRADER_PLAIN"):
    # nbformat validates every notebook read and written: the compiled validator is faster
    os.environ.setdefault("NBFORMAT_VALIDATOR", "fastjsonschema")
    from neurograder.preprocessors import NormalizeSubmission, SandboxExecute, StripHiddenTests

    c.Autograde.sanitize_preprocessors = [NormalizeSubmission, OverwriteKernelspec]
    # (CheckCellMetadata is left out: NormalizeSubmission already rebuilt every nbgrader cell
    # from the source notebook, and validating twice cost ~0.25 s per student)
    c.Autograde.autograde_preprocessors = [SandboxExecute, IgnorePattern,
                                           ClearMetadataPreprocessor, LimitOutput,
                                           SaveAutoGrades, AssignLatePenalties]
    c.GenerateFeedback.preprocessors = [StripHiddenTests, GetGrades, CSSHTMLHeaderPreprocessor]
    # per cell and per graded check: wall clock; per check: CPU seconds; address space. Each
    # submission's total budget is 3 x timeout (neurograder.sandbox.Limits.budget)
    c.SandboxExecute.timeout = 10.0
    c.SandboxExecute.cpu_seconds = 10
    c.SandboxExecute.memory_mb = 1024
