"""Jupyter server settings for grading with formgrader from this folder:

    jupyter server --config=jupyter_server_config.py     (or `jupyter lab --config=...`)

nbgrader's formgrader (enabled by its own install) shows students' notebooks; the neurograder
extension (neurograder.server) gives those pages a Content-Security-Policy so nothing a student
wrote can run in the instructor's session, and serves MathJax from the course (offline).
"""

c = get_config()  # noqa: F821  (provided by jupyter)

c.ServerApp.jpserver_extensions.update(
    {
        "nbgrader.server_extensions.formgrader": True,
        "neurograder.server": True,  # loads after nbgrader's (alphabetical order)
    }
)
c.ServerApp.ip = "127.0.0.1"  # the instructor's machine only
