"""Stubs and solutions of the assignment, made from the reference code.

A graded function is written once, in the module's reference module (``reference``
in its manifest, :mod:`course.manifest`). From its source this module makes

* the instructor's solution cell: signature and docstring, then the body
  between nbgrader's ``### BEGIN SOLUTION`` / ``### END SOLUTION`` markers;
* the student's stub: the same signature and docstring, then exactly what
  ``nbgrader generate_assignment`` puts in place of the solution
  (a test checks the two agree);
* the stub as the book shows it (:func:`show_stub`).

A graded value (``input_data = ...``) is written once, as an assignment in the
module's values module (``values`` in its manifest, :mod:`course.manifest`).
"""

from __future__ import annotations

import ast
import inspect
import textwrap

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
#: What nbgrader's ClearSolutions puts in place of a code solution (its default code_stub).
STUB_LINES = ("# YOUR CODE HERE", "raise NotImplementedError()")


def _split_function(func) -> tuple[str, str, str]:
    """(header incl. docstring, body, indent) of a function's source."""
    source = textwrap.dedent(inspect.getsource(func))
    tree = ast.parse(source)
    node = tree.body[0]
    if not isinstance(node, ast.FunctionDef):
        raise TypeError(f"{func!r} is not a plain function")
    first = node.body[0]
    has_doc = (
        isinstance(first, ast.Expr)
        and isinstance(getattr(first, "value", None), ast.Constant)
        and isinstance(first.value.value, str)
    )
    if not has_doc or len(node.body) < 2:
        raise ValueError(f"{node.name} needs a docstring and a body")
    lines = source.splitlines()
    header_end = first.end_lineno  # 1-based last line of the docstring
    header = "\n".join(lines[:header_end])
    body = "\n".join(lines[header_end:]).rstrip()
    indent = lines[node.body[1].lineno - 1][: node.body[1].col_offset]
    return header, body, indent


def solution_source(func) -> str:
    """The instructor's cell for ``func``: header, then the body between solution markers."""
    header, body, indent = _split_function(func)
    return f"{header}\n{indent}{BEGIN}\n{body}\n{indent}{END}"


def stub_source(func) -> str:
    """The student's stub for ``func``, as nbgrader's release will have it."""
    header, _, indent = _split_function(func)
    return header + "".join(f"\n{indent}{line}" for line in STUB_LINES)


def value_solution_source(name: str, values) -> str:
    """The instructor's cell assigning the graded value ``name``: its assignment in the
    module ``values``, between solution markers."""
    source = inspect.getsource(values)
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return f"{BEGIN}\n{ast.get_source_segment(source, node)}\n{END}"
    raise KeyError(f"{values.__name__} assigns no `{name}`")


def value_stub_source() -> str:
    """The student's stub of a graded value, as nbgrader's release will have it."""
    return "\n".join(STUB_LINES)


def show_stub(obj) -> None:
    """Display the stub of a graded function (or value name) as code, for the book."""
    from IPython.display import Markdown, display

    text = f"# define `{obj}` here\n{value_stub_source()}" if isinstance(obj, str) else stub_source(obj)
    display(Markdown(f"```python\n{text}\n```"))


def show_source(func) -> None:
    """Display the whole source of a function the notebook provides (not graded)."""
    from IPython.display import Markdown, display

    display(Markdown(f"```python\n{function_source(func)}\n```"))


def function_source(func) -> str:
    """The whole source of a function, dedented (a provided helper in the notebook)."""
    return textwrap.dedent(inspect.getsource(func)).rstrip()
