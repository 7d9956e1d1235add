"""The points table: points per task, required and extra credit, from a generated notebook.

A graded cell's task comes from the module manifest's ``[tasks]`` (the longest matching
grade_id prefix), never from parsing the id; an optional task's points are its cells'
extra credit (``EXTRA_CREDIT_KEY``), its nbgrader points 0. The page (HTML), the notebook
(Markdown, at ``POINTS_MARK``) and the grader read the same numbers.
"""

from __future__ import annotations

from course.manifest import Module

#: Cell metadata key holding an optional task's extra-credit points (nbgrader's points are 0).
EXTRA_CREDIT_KEY = "extra_credit"
#: Where the generated points table goes in a notebook-only cell of the chapter.
POINTS_MARK = "{points-table}"
POINTS_HEADER = ("task", "autograded", "graded by hand", "points")


def points_by_task(cells, module: Module) -> dict[str, dict[str, float]]:
    """{task: {"autograded": points, "manual": points}} over the graded cells, in order; an optional
    task's points are its cells' extra credit."""
    table: dict[str, dict[str, float]] = {}
    for cell in cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta.get("grade"):
            continue
        kind = "autograded" if cell.cell_type == "code" and not meta.get("solution") else "manual"
        row = table.setdefault(module.task_of(meta["grade_id"]).number, {"autograded": 0.0, "manual": 0.0})
        row[kind] += float(meta["points"]) + float(cell.metadata.get(EXTRA_CREDIT_KEY, 0))
    return table


def points_rows(cells, module: Module) -> tuple[list[tuple[str, ...]], float, float]:
    """The points table's rows, the required total and the extra-credit total."""
    rows, core, extra = [], 0.0, 0.0
    optional_tasks = module.optional_tasks
    for task, p in points_by_task(cells, module).items():
        total = p["autograded"] + p["manual"]
        optional = task in optional_tasks
        core, extra = (core, extra + total) if optional else (core + total, extra)
        rows.append(
            (
                f"{task} (optional)" if optional else task,
                f"{p['autograded']:g}",
                f"{p['manual']:g}",
                f"{total:g} extra credit" if optional else f"{total:g}",
            )
        )
    return rows, core, extra


def points_table_markdown(cells, module: Module) -> str:
    """The points table as a Markdown table (the notebook renders GFM tables)."""
    rows, core, extra = points_rows(cells, module)
    lines = ["| " + " | ".join(POINTS_HEADER) + " |", "|---|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    lines.append(f"| **total** | | | **{core:g}** + {extra:g} extra credit |")
    return "\n".join(lines)


def points_table_html(cells, module: Module) -> str:
    """The points table as an HTML table (the book page shows HTML outputs as they are)."""
    from html import escape

    rows, core, extra = points_rows(cells, module)
    head = "".join(f"<th>{escape(h)}</th>" for h in POINTS_HEADER)
    body = "".join("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in row) + "</tr>" for row in rows)
    total = (
        f"<tr><th scope='row'>total</th><td></td><td></td>"
        f"<td><strong>{core:g}</strong> + {extra:g} extra credit</td></tr>"
    )
    return (
        f"<table class='points-table'><caption>Points per task (the gradebook's maximum is "
        f"{core:g}; optional tasks add extra credit)</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}{total}</tbody></table>"
    )
