"""nbgrader configuration of the course (run nbgrader commands from this folder, grader/).

`nbgrader autograde module1` runs student code only in the sandbox (neurograder.sandbox):
NormalizeSubmission replaces ClearOutput/DeduplicateIds/OverwriteCells, SandboxExecute replaces
Execute. `nbgrader generate_feedback module1` and `nbgrader export` are unchanged apart from the
feedback chain (hidden-test stripper, HTML sanitiser, ungraded hand-graded answers marked,
MathJax written next to each page) and our templates' mathjax() macro (feedback and formgrader;
formgrader's policy header comes from jupyter_server_config.py's extension). Plain nbgrader (in-kernel run_check) is what
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
    from neurograder.pages import FeedbackMathJax, MarkUngraded, template_basedirs
    from neurograder.preprocessors import (NormalizeSubmission, SandboxExecute,
                                           SanitizeStudentHTML, StripHiddenTests)

    c.Autograde.sanitize_preprocessors = [NormalizeSubmission, OverwriteKernelspec]
    # (CheckCellMetadata is left out: NormalizeSubmission already rebuilt every nbgrader cell
    # from the source notebook, and validating twice cost ~0.25 s per student)
    c.Autograde.autograde_preprocessors = [SandboxExecute, IgnorePattern,
                                           ClearMetadataPreprocessor, LimitOutput,
                                           SaveAutoGrades, AssignLatePenalties]
    # feedback: student HTML sanitised again, ungraded hand-graded answers say so, MathJax
    # written next to each page (offline); the page's Content-Security-Policy and script tags
    # come from our mathjax() macro, found first through template_basedirs() (formgrader too)
    c.GenerateFeedback.preprocessors = [StripHiddenTests, SanitizeStudentHTML, GetGrades,
                                        MarkUngraded, FeedbackMathJax, CSSHTMLHeaderPreprocessor]
    c.HTMLExporter.extra_template_basedirs = template_basedirs()
    # per graded function: wall clock and CPU seconds, address space
    c.SandboxExecute.timeout = 10.0
    c.SandboxExecute.cpu_seconds = 10
    c.SandboxExecute.memory_mb = 1024
