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
from nbgrader.preprocessors import (
    AssignLatePenalties,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    OverwriteKernelspec,
    SaveAutoGrades,
)

c = get_config()  # noqa: F821  (provided by nbgrader)

c.CourseDirectory.course_id = "spiking-neurons"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))

# LMS downloads (`make collect ZIP=...`, neurograder.lms): the file names Canvas gives
# ("moodle" for Moodle downloads)
c.ZipCollectApp.collector_plugin = "neurograder.lms.LmsFileNameCollector"
c.LmsFileNameCollector.lms = "canvas"
# the exchange of release_assignment / collect / release_feedback (a JupyterHub course): a
# folder of the course (git-ignored), made here so that formgrader finds it
c.Exchange.root = os.path.join(c.CourseDirectory.root, "exchange")
os.makedirs(c.Exchange.root, exist_ok=True)
# `nbgrader export`: nbgrader's CSV columns plus points per task and extra credit
c.ExportApp.plugin_class = "neurograder.export.TaskCsvExportPlugin"
# late work (neurograder.late): 10 % of the score per started day late, at most 50 %, nothing
# within 15 minutes; per-student extensions in grader/extensions.csv ("student_id,days" lines)
c.AssignLatePenalties.plugin_class = "neurograder.late.LatePolicy"
c.LatePolicy.percent_per_day = 10.0
c.LatePolicy.max_percent = 50.0
c.LatePolicy.grace_minutes = 15.0
c.ApplyExtensions.path = "extensions.csv"
# optional tasks are extra credit: a passing optional check's points go to Grade.extra_credit
# (right after SaveAutoGrades, in both chains; nbgrader's default chain otherwise)
from neurograder.extra_credit import SaveExtraCredit  # noqa: E402
from nbgrader.converters.autograde import Autograde  # noqa: E402

_default_chain = list(Autograde.class_traits()["autograde_preprocessors"].default())
_after_saving = _default_chain.index(SaveAutoGrades) + 1
c.Autograde.autograde_preprocessors = (
    _default_chain[:_after_saving] + [SaveExtraCredit] + _default_chain[_after_saving:]
)

if not os.environ.get("NEUROGRADER_PLAIN"):
    # nbformat validates every notebook read and written: the compiled validator is faster
    os.environ.setdefault("NBFORMAT_VALIDATOR", "fastjsonschema")
    # a new gradebook's schema version read in the process, not from an `alembic` subprocess
    from neurograder.warm import schema_version_in_process

    schema_version_in_process()
    from neurograder.hand_grades import FollowHandGrades
    from neurograder.late import ApplyExtensions, RefreshLatePenalty
    from neurograder.pages import (
        FeedbackAccessibility,
        FeedbackExporter,
        FeedbackMathJax,
        MarkExtraCredit,
        MarkUngraded,
        template_basedirs,
    )
    from neurograder.preprocessors import (
        NormalizeSubmission,
        SandboxExecute,
        SanitizeStudentHTML,
        SaveAutoGradesOnce,
        StripHiddenTests,
        in_one_transaction,
    )

    # the notebook is validated once, after an exporter's last preprocessor, not after each
    # (a notebook invalid at the end still fails; ~0.1 s per student)
    c.Exporter.optimistic_validation = True
    c.Autograde.sanitize_preprocessors = [NormalizeSubmission, OverwriteKernelspec]
    # (CheckCellMetadata is left out: NormalizeSubmission already rebuilt every nbgrader cell
    # from the source notebook, and validating twice cost ~0.25 s per student)
    c.Autograde.autograde_preprocessors = [
        SandboxExecute,
        IgnorePattern,
        ClearMetadataPreprocessor,
        LimitOutput,
        # the results, written in one gradebook transaction per notebook (in the grading
        # workers, whose gradebook engine is shared; elsewhere each step commits its own)
        in_one_transaction(
            SaveAutoGradesOnce,
            SaveExtraCredit,
            FollowHandGrades,
            ApplyExtensions,
            AssignLatePenalties,
        ),
    ]
    # feedback: student HTML sanitised again, the late penalty from the current score (hand
    # grades included), ungraded hand-graded answers say so, MathJax
    # written next to each page (offline), WCAG repairs last; the page's Content-Security-Policy
    # and script tags come from our mathjax() macro, found first through template_basedirs()
    # (formgrader too)
    c.GenerateFeedback.preprocessors = [
        StripHiddenTests,
        SanitizeStudentHTML,
        RefreshLatePenalty,
        GetGrades,
        MarkUngraded,
        MarkExtraCredit,
        FeedbackMathJax,
        CSSHTMLHeaderPreprocessor,
        FeedbackAccessibility,
    ]
    # optional tasks' cells show their extra credit ("2.0 extra credit", not "2.0 / 0.0")
    c.GenerateFeedback.exporter_class = FeedbackExporter
    c.HTMLExporter.extra_template_basedirs = template_basedirs()
    # code colours with WCAG AA contrast (accessible-pygments, installed with the book theme)
    c.CSSHTMLHeaderPreprocessor.style = "a11y-light"
    # per cell and per graded check: wall clock; per check: CPU seconds; address space. Each
    # submission's total budget is 3 x timeout (neurograder.sandbox.Limits.budget)
    c.SandboxExecute.timeout = 10.0
    c.SandboxExecute.cpu_seconds = 10
    c.SandboxExecute.memory_mb = 1024
    # each student's sandbox forked from a warm fork server of the grading process (NumPy and
    # the runner loaded once; same isolation as a cold one); False: bubblewrap starts each cold
    c.SandboxExecute.warm = True
    # a submission holding symlinks, pipes or devices is refused before nbgrader copies it
    from neurograder.intake import guard_autograde

    guard_autograde()
