"""The instructor's report: ``python -m backprop.grade ... --report report.html``.

One self-contained HTML page (inline CSS and SVG, no script, no network)
built from the grader's rows:

- the score distribution of each exercise (a histogram of total points);
- the pass rate of each question;
- the mistakes the checks recognised, counted across the class: for each
  ``(exercise, question, hint id)``, the share of that exercise's
  submissions whose row carries the hint ("41% of the class: your dW is the
  transpose of the expected one");
- the submissions that errored, timed out or were invalid, with their messages.
"""

from __future__ import annotations

import html
import os
from collections import Counter, defaultdict

from backprop.grade.gradebook import write_atomically

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:70em;
color:#1f2328;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.25em;margin-top:1.6em;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:.25em .6em;border-bottom:1px solid #eaeef2;
text-align:left;vertical-align:top}th{background:#f6f8fa}.num{text-align:right;font-variant-numeric:tabular-nums}
.bar{display:inline-block;height:.8em;background:#0969da;vertical-align:middle}
.bad{background:#cf222e}.muted{color:#57606a}.ex{display:inline-block;margin:0 2em 1em 0;vertical-align:top}
code{font-size:.9em}
"""


def _e(s) -> str:
    return html.escape(str(s).encode("utf-8", "backslashreplace").decode("utf-8"))


def _pct(k, n) -> str:
    return f"{100 * k / n:.0f}%" if n else "-"


def _histogram(totals, max_points, title) -> str:
    """An inline SVG histogram of total points (one bar per integer score)."""
    top = int(round(max_points)) if max_points else 0
    counts = Counter(min(top, max(0, int(round(t)))) for t in totals)
    peak = max(counts.values()) if counts else 1
    w, h, pad = 24, 120, 28
    width = pad + (top + 1) * w + 10
    bars = []
    for s in range(top + 1):
        c = counts.get(s, 0)
        bh = 0 if not c else max(2, (h - 20) * c / peak)
        x = pad + s * w
        bars.append(f'<rect x="{x + 2}" y="{h - bh}" width="{w - 4}" height="{bh}" fill="#0969da"/>'
                    f'<text x="{x + w / 2}" y="{h + 14}" font-size="11" text-anchor="middle">{s}</text>')
        if c:
            bars.append(f'<text x="{x + w / 2}" y="{h - bh - 3}" font-size="10" text-anchor="middle">{c}</text>')
    return (f'<svg role="img" aria-label="{_e(title)}" width="{width}" height="{h + 34}" '
            f'xmlns="http://www.w3.org/2000/svg"><title>{_e(title)}</title>'
            f'<line x1="{pad}" y1="{h}" x2="{width - 6}" y2="{h}" stroke="#57606a"/>{"".join(bars)}'
            f'<text x="{pad + (top + 1) * w / 2}" y="{h + 30}" font-size="11" text-anchor="middle">points</text>'
            f'</svg>')


def build(rows, exercises: dict | None = None) -> str:
    """The report's HTML for the grader's rows (dicts with the CSV's columns, ``hints`` a dict)."""
    exercises = exercises or {}
    by_sub: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_sub[r["submission"]].append(r)
    by_ex: dict[str, list[str]] = defaultdict(list)
    for sub, rs in by_sub.items():
        by_ex[rs[0]["exercise"] or "(unidentified)"].append(sub)
    parts = [f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>Grading report</title>"
             f"<style>{_CSS}</style></head><body><h1>Grading report</h1>"
             f"<p class=muted>{len(by_sub)} submissions, {len(rows)} rows.</p>"]

    parts.append("<h2>Score distribution per exercise</h2>")
    for ex in sorted(by_ex):
        subs = by_ex[ex]
        totals = [sum(r["points"] for r in by_sub[s]) for s in subs]
        maxp = max((sum(r["max_points"] for r in by_sub[s]) for s in subs), default=0)
        mean = sum(totals) / len(totals) if totals else 0
        full = sum(1 for t in totals if maxp and t >= maxp)
        parts.append(f'<div class=ex><b>{_e(ex)}</b><br><span class=muted>{len(subs)} submissions, mean '
                     f'{mean:.1f}/{maxp:g}, full marks {_pct(full, len(subs))}</span><br>'
                     f'{_histogram(totals, maxp, f"Histogram of total points in {ex}")}</div>')

    parts.append("<h2>Pass rate per question</h2><table><tr><th>exercise</th><th>question</th>"
                 "<th class=num>passed</th><th></th><th>other outcomes</th></tr>")
    qrows: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        if r["question"]:
            qrows[(r["exercise"], r["question"])].append(r)
    titles = {(ex, q.id): q.title for ex, qs in exercises.items() for q in qs}
    for key in sorted(qrows):
        rs = qrows[key]
        n, k = len(rs), sum(r["status"] == "passed" for r in rs)
        others = Counter(r["status"] for r in rs if r["status"] != "passed")
        title = titles.get(key, "")
        parts.append(f"<tr><td>{_e(key[0])}</td><td>{_e(key[1])} <span class=muted>{_e(title)}</span></td>"
                     f"<td class=num>{k}/{n} ({_pct(k, n)})</td>"
                     f'<td><span class=bar style="width:{120 * k / n if n else 0:.0f}px"></span></td>'
                     f"<td class=muted>{_e(', '.join(f'{c} {s.replace(chr(95), chr(32))}' for s, c in others.most_common()))}</td></tr>")
    parts.append("</table>")

    parts.append("<h2>Mistakes the checks recognised</h2>"
                 "<p class=muted>Share of each exercise's submissions whose answer to the question showed "
                 "the mistake (one submission counts once per mistake).</p>"
                 "<table><tr><th class=num>share</th><th></th><th>exercise</th><th>question</th><th>mistake</th></tr>")
    mistakes: dict[tuple, set] = defaultdict(set)
    text: dict[tuple, str] = {}
    for r in rows:
        for hid, hint in (r.get("hints") or {}).items():
            key = (r["exercise"], r["question"], hid)
            mistakes[key].add(r["submission"])
            text.setdefault(key, hint)
    ranked = sorted(mistakes, key=lambda k: (-len(mistakes[k]) / max(1, len(by_ex.get(k[0], ()))), k))
    for key in ranked:
        n = len(by_ex.get(key[0], ())) or 1
        k = len(mistakes[key])
        parts.append(f"<tr><td class=num>{_pct(k, n)}</td><td class=muted>{k}/{n}</td><td>{_e(key[0])}</td>"
                     f"<td>{_e(key[1])}</td><td>{_e(text[key])} <span class=muted>(<code>{_e(key[2])}</code>)"
                     f"</span></td></tr>")
    if not ranked:
        parts.append("<tr><td colspan=5 class=muted>none recorded</td></tr>")
    parts.append("</table>")

    parts.append("<h2>Submissions that errored, timed out or could not be graded</h2>"
                 "<table><tr><th>submission</th><th>question</th><th>status</th><th>message</th></tr>")
    bad = [r for r in rows if r["status"] in ("error", "timeout", "invalid")]
    for r in bad:
        parts.append(f"<tr><td>{_e(os.path.basename(r['submission']))}</td><td>{_e(r['question'] or '-')}</td>"
                     f"<td>{_e(r['status'])}</td><td>{_e(r['message'])}</td></tr>")
    if not bad:
        parts.append("<tr><td colspan=4 class=muted>none</td></tr>")
    parts.append("</table></body></html>\n")
    return "".join(parts)


def write_report(rows, path, exercises=None) -> None:
    """Write the report atomically (temporary file beside ``path``, then a rename)."""
    doc = build(rows, exercises)
    write_atomically(path, ".report-", lambda f: f.write(doc))
