"""Step 6: the offline HTML page (no script, inline CSS and image) and the CSV of all pairs."""

from __future__ import annotations

import base64
import csv
import html
import io
import math
import re
from pathlib import Path

import numpy as np

from .settings import (
    CLUSTER_SIZE,
    EXCLUDED_WHY,
    FINGERPRINT_K,
    FLAG_SIMILARITY,
    FLAG_Z,
    HIST_BINS,
    MAX_SIDE_BY_SIDE,
    MIN_SHARED,
    MIN_WEIGHT,
    STOPWORDS,
    TAIL_QUANTILE,
    TAIL_Z,
    TOP_PAIRS,
    WINNOW_WINDOW,
)
from .normalise import answer_terms, stem
from .judge import Pair, TaskStats, task_rows
from .pipeline import Analysis


def highlighted_pair(left: str, right: str) -> tuple[str, str]:
    """Both normalised codes as HTML with the regions copydetect matches marked (its own
    ``compare_files``, which maps the matches back from the filtered text)."""
    from copydetect.detector import CodeFingerprint, compare_files
    from copydetect.utils import highlight_overlap

    prints = [
        CodeFingerprint("cell.py", FINGERPRINT_K, WINNOW_WINDOW, language="python", fp=io.StringIO(doc))
        for doc in (left, right)
    ]
    _, _, slices = compare_files(*prints)
    out = []
    for doc, cut in zip((left, right), slices):
        if len(cut) == 0 or np.asarray(cut).shape[-1] == 0:
            out.append(html.escape(doc))
            continue
        marked, _ = highlight_overlap(doc, np.asarray(cut), "\x00", "\x01", escape_html=True)
        out.append(marked.replace("\x00", "<mark>").replace("\x01", "</mark>"))
    return out[0], out[1]


def answer_marked(left: str, right: str) -> tuple[str, str]:
    """Both answers as HTML with the words (stems) the other one also uses marked."""
    sl, sr = set(answer_terms(left)), set(answer_terms(right))

    def mark(text, other):
        def one(m):
            w = m.group(0)
            hit = w.lower() not in STOPWORDS and stem(w.lower()) in other
            return f"<mark>{html.escape(w)}</mark>" if hit else html.escape(w)

        return re.sub(r"[A-Za-z][A-Za-z0-9]*|[^A-Za-z]+", one, text)

    return mark(left, sr), mark(right, sl)


def distribution_png(stats: list[TaskStats]) -> str:
    """One histogram per task that can list a pair (pair similarities on a log scale, and the
    review line), as a PNG data URI; "" when there is none."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    shown = [s for s in stats if not math.isnan(s.median) and s.weight >= MIN_WEIGHT]
    if not shown:
        return ""
    cols = min(3, len(shown))
    rows = math.ceil(len(shown) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.7 * cols, 2.7 * rows), squeeze=False)
    for ax, st in zip(axes.ravel(), shown):
        vals = st.sims[np.triu_indices(st.sims.shape[0], 1)]
        counts, edges = np.histogram(vals[~np.isnan(vals)], bins=HIST_BINS, range=(0, 1))
        ax.stairs(counts, edges, fill=True, color="#4a6fa5")  # one artist: fast to draw
        line = max(st.median + FLAG_Z * st.spread, FLAG_SIMILARITY[st.task.kind])
        ax.axvline(line, color="#b03030", ls="--", lw=1)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))  # no mathtext
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())
        ax.set_title(f"{st.task.grade_id} (weight {st.weight:.2f})", fontsize=9)
        ax.set_xlabel("pair similarity", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(shown) :]:
        ax.axis("off")
    fig.subplots_adjust(
        left=0.07, right=0.98, bottom=0.16 / rows, top=1 - 0.1 / rows, wspace=0.3, hspace=0.7
    )  # fixed margins: tight_layout is slow
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


CSS = """body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:75rem;padding:0 1rem;
color:#1b1b1b;background:#fff;line-height:1.45}table{border-collapse:collapse;margin:1rem 0}
th,td{border:1px solid #999;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#e8e8e8}.num{text-align:right;font-variant-numeric:tabular-nums}
.side{display:grid;grid-template-columns:1fr 1fr;gap:1rem}pre{background:#f4f4f4;padding:.5rem;
overflow-x:auto;white-space:pre-wrap;font-size:.85rem;border:1px solid #ccc}
mark{background:#ffd54f;color:#000}.note{border-left:4px solid #4a6fa5;padding:.5rem 1rem;
background:#eef3fa}summary{cursor:pointer;font-weight:600}"""


def _e(x) -> str:
    return html.escape(str(x))


def render_html(an: Analysis) -> str:
    """The whole report as one self-contained page (inline CSS and image, no script)."""
    listed = [p for p in an.pairs if p.listed]
    shown = an.pairs[: max(TOP_PAIRS, min(len(listed), MAX_SIDE_BY_SIDE))]
    out = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<link rel='icon' href='data:,'>"  # no favicon request: the page is all there is
        f"<title>Similarity report: {_e(an.assignment)}</title><style>{CSS}</style></head>"
        f"<body><header><h1>Similarity report: {_e(an.assignment)}</h1></header><main>"
    ]
    out.append(
        "<p class='note'>This page lists pairs of submissions whose work is more alike than the "
        "class usually is. A listed pair is a reason for a person to look at both notebooks, "
        "not a finding: similar work has honest explanations (working together as allowed, the "
        "same tutorial, a short task with one natural answer). Computed on this machine; no "
        "submission was sent anywhere.</p>"
    )
    out.append(
        f"<p>{len(an.students)} submissions compared, {len(an.pairs)} pairs, "
        f"{len(listed)} listed for review, {len(an.clusters)} groups of "
        f"{CLUSTER_SIZE} or more; {an.seconds:.1f} s.</p>"
    )
    out.append("<section aria-labelledby='excluded'><h2 id='excluded'>What was left out, and why</h2><ul>")
    out += [f"<li><strong>{what}</strong>: {why}.</li>" for what, why in EXCLUDED_WHY]
    out.append("</ul>")
    if an.problems:
        out.append("<p>Submissions not compared:</p><ul>")
        out += [f"<li>{_e(s)}: {_e(why)}</li>" for s, why in sorted(an.problems.items())]
        out.append("</ul>")
    out.append("</section>")
    out.append(_tasks_section(an))
    out.append(_pairs_section(shown, an.stats, len(an.pairs)))
    out.append(_clusters_section(an))
    out.append(_details_section(an, listed))
    out.append("</main></body></html>")
    return "\n".join(out)


def _tasks_section(an: Analysis) -> str:
    rows = []
    for st in an.stats:
        if math.isnan(st.median):
            why = "not compared: no student has enough own work here (too short or not attempted)"
            rows.append(
                f"<tr><td>{_e(st.task.grade_id)}</td><td>{st.task.kind}</td>"
                f"<td class='num'>{st.compared}</td><td colspan='3'>{why}</td></tr>"
            )
            continue
        note = " (alike anyway: never lists a pair)" if st.weight < MIN_WEIGHT else ""
        rows.append(
            f"<tr><td>{_e(st.task.grade_id)}</td><td>{st.task.kind}</td>"
            f"<td class='num'>{st.compared}</td><td class='num'>{st.median:.2f}</td>"
            f"<td class='num'>{st.spread:.2f}</td>"
            f"<td class='num'>{st.weight:.2f}{note}</td></tr>"
        )
    png = distribution_png(an.stats)
    img = (
        (
            f"<figure><img src='{png}' alt='Histograms of pair similarity for each task that can "
            f"list a pair, log scale; "
            f"the dashed line is where a pair becomes unusual enough to list'><figcaption>Pair "
            f"similarity per task across the class (log counts). Dashed: review line.</figcaption>"
            f"</figure>"
        )
        if png
        else ""
    )
    return (
        "<section aria-labelledby='tasks'><h2 id='tasks'>Tasks and how alike the class is"
        "</h2><p>Each pair is judged against all pairs of the same task: z is how many "
        f"robust standard deviations (spread: the larger of 1.4826 MAD and the distance "
        f"from the "
        f"median to the {TAIL_QUANTILE:.0%} quantile over {TAIL_Z:g}) above the median its "
        "similarity lies. A task whose "
        "honest answers look alike anyway (high median) counts less: weight = 1 - median. "
        f"A pair is listed when one task has z &ge; {FLAG_Z:g}, similarity &ge; "
        f"{FLAG_SIMILARITY['code']:g} (code, with at least {MIN_SHARED} shared fingerprints) "
        f"or {FLAG_SIMILARITY['answer']:g} (written), and weight &ge; {MIN_WEIGHT:g}. Code "
        f"similarity: the share of winnowed fingerprints (copydetect, {FINGERPRINT_K}-grams "
        f"of the filtered code) both have; written: TF-IDF cosine of stemmed words.</p>"
        "<table><caption>Per-task distribution</caption>"
        "<thead><tr><th scope='col'>task</th><th scope='col'>kind</th><th scope='col'>"
        "compared</th><th scope='col'>median</th><th scope='col'>spread</th><th scope='col'>"
        "weight</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>" + img + "</section>"
    )


def _pair_id(p: Pair) -> str:
    return "pair-" + re.sub(r"[^A-Za-z0-9_-]", "_", f"{p.a}--{p.b}")


def _pairs_section(shown: list[Pair], stats: list[TaskStats], total: int) -> str:
    rows = []
    for rank, p in enumerate(shown, 1):
        top = max(task_rows(stats, p), key=lambda t: t[3] * t[2])
        who = (
            f"<a href='#{_pair_id(p)}'>{_e(p.a)} &amp; {_e(p.b)}</a>"
            if p.listed and rank <= MAX_SIDE_BY_SIDE
            else f"{_e(p.a)} &amp; {_e(p.b)}"
        )
        rows.append(
            f"<tr><td class='num'>{rank}</td><td>{who}</td><td class='num'>{p.score:.1f}"
            f"</td><td>{_e(top[0])} (similarity {top[1]:.2f}, z {top[2]:.1f})</td>"
            f"<td>{'review' if p.listed else ''}</td></tr>"
        )
    return (
        "<section aria-labelledby='pairs'><h2 id='pairs'>Pairs, most unusual first</h2>"
        f"<p>The first {len(shown)} of {total} pairs; every pair is in pairs.csv next to "
        "this page.</p>"
        "<table><caption>Score: the largest weight &times; z over the pair's tasks</caption>"
        "<thead><tr><th scope='col'>rank</th><th scope='col'>students</th><th scope='col'>"
        "score</th><th scope='col'>most unusual task</th><th scope='col'>listed</th></tr>"
        "</thead><tbody>" + "".join(rows) + "</tbody></table></section>"
    )


def _clusters_section(an: Analysis) -> str:
    if not an.clusters:
        body = f"<p>No group of {CLUSTER_SIZE} or more students is linked by listed pairs.</p>"
    else:
        body = "<ul>" + "".join(f"<li>{', '.join(_e(s) for s in g)}</li>" for g in an.clusters) + "</ul>"
    return (
        "<section aria-labelledby='clusters'><h2 id='clusters'>Groups linked by listed pairs</h2>" + body + "</section>"
    )


def _details_section(an: Analysis, listed: list[Pair]) -> str:
    parts = [
        "<section aria-labelledby='side'><h2 id='side'>Side by side</h2><p>Own code after "
        "removing what the course supplies and normalising (names are kept here so it stays "
        "readable, but they are not compared). Highlighted: the regions the fingerprints "
        "match. Written answers: the shared content words.</p>"
    ]
    if not listed:
        parts.append("<p>No pair is listed for review.</p>")
    if len(listed) > MAX_SIDE_BY_SIDE:
        parts.append(
            f"<p>The first {MAX_SIDE_BY_SIDE} of {len(listed)} listed pairs; every pair "
            "is in pairs.csv next to this page.</p>"
        )
    for p in listed[:MAX_SIDE_BY_SIDE]:
        parts.append(f"<article id='{_pair_id(p)}'><h3>{_e(p.a)} &amp; {_e(p.b)}</h3>")
        for gid, sim, z, weight, notable in sorted(task_rows(an.stats, p), key=lambda t: -t[3] * t[2]):
            if not notable:
                continue
            kind = next(t.kind for t in an.tasks if t.grade_id == gid)
            left, right = an.normalised[p.a, gid], an.normalised[p.b, gid]
            if kind == "code":
                hl, hr = highlighted_pair(left, right)
            else:
                hl, hr = answer_marked(left, right)
            parts.append(
                f"<h4>{_e(gid)}: similarity {sim:.2f}, z {z:.1f}, weight {weight:.2f}</h4>"
                f"<div class='side'><div><p>{_e(p.a)}</p><pre>{hl}</pre></div>"
                f"<div><p>{_e(p.b)}</p><pre>{hr}</pre></div></div>"
                f"<details><summary>As submitted: {_e(gid)}</summary><div class='side'>"
                f"<pre>{_e(an.raw.get((p.a, gid), ''))}</pre>"
                f"<pre>{_e(an.raw.get((p.b, gid), ''))}</pre></div></details>"
            )
        parts.append("</article>")
    parts.append("</section>")
    return "".join(parts)


def write_csv(an: Analysis, path: Path) -> None:
    """Every pair, in rank order: one row each, similarity and z of every compared task."""
    tasks = [st for st in an.stats if not math.isnan(st.median)]
    ii = np.array([p.i for p in an.pairs], dtype=int)
    jj = np.array([p.j for p in an.pairs], dtype=int)
    columns = []
    for st in tasks:
        sims, zs = st.sims[ii, jj].tolist(), st.z[ii, jj].tolist()
        columns.append(["" if math.isnan(s) else f"{s:.3f}" for s in sims])
        columns.append(["" if math.isnan(s) else f"{z:.2f}" for s, z in zip(sims, zs)])
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            ["rank", "student_a", "student_b", "score", "listed_for_review"]
            + [f"{st.task.grade_id} {what}" for st in tasks for what in ("similarity", "z")]
        )
        for rank, (p, *cells) in enumerate(zip(an.pairs, *columns), 1):
            w.writerow([rank, p.a, p.b, f"{p.score:.3f}", int(p.listed), *cells])


def write_report(an: Analysis, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    page = out_dir / "index.html"
    page.write_text(render_html(an), encoding="utf-8")
    write_csv(an, out_dir / "pairs.csv")
    return page
