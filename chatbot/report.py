"""The HTML page of `sarcoma-chat eval --report DIR`: failures first, then where and why.

One self-contained file (plots are PNG data URIs), so it can be mailed or archived as it is.
The plots need matplotlib (the `report` extra); without it the page says so and keeps the rest.
"""

from __future__ import annotations

import base64
import io
from collections import Counter
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import Any, Callable, Iterable

from .evaluate import LABELS, SPECIAL, predicted

# What happened to an item, worst first: the failures table is sorted by this order.
VERDICTS = (
    ("red_flag_missed", "red flag missed", "error"),
    ("wrong_answer", "wrong topic answered", "error"),
    ("out_of_scope_answered", "out-of-scope question answered", "error"),
    ("false_alarm", "urgent-help reply to an ordinary message", "error"),
    ("not_clarified", "ambiguous message not clarified", "unanswered"),
    ("clarified_off_target", "clarifying question without the right topic", "unanswered"),
    ("clarified_out_of_scope", "clarifying question to an out-of-scope message", "unanswered"),
    ("clarified", "clarifying question (right topic offered)", "unanswered"),
    ("fell_back", "honest fallback to an answerable question", "unanswered"),
    ("other", "other miss", "unanswered"),
)
RANK = {key: n for n, (key, _, _) in enumerate(VERDICTS)}
SAY = {key: text for key, text, _ in VERDICTS}
SHADE = {key: shade for key, _, shade in VERDICTS}

# Cell colours of the confusion matrix (base RGB; a cell's share of its row sets the strength).
COLOURS = {"right": (37, 99, 235), "accepted": (22, 163, 74), "error": (220, 38, 38), "unanswered": (217, 119, 6)}
LEGEND = (("right", "what was expected"),
          ("accepted", "an accepted alternative topic (counts as right)"),
          ("error", "an error: wrong topic, out-of-scope answered, red flag missed or false alarm"),
          ("unanswered", "not answered: a clarifying question or an honest fallback"))

NO_PLOTS = ("The plots are missing: matplotlib is not installed. Install the report extra "
            "(<code>.venv/bin/pip install -e '.[report]'</code>) and run the evaluation again.")


def verdict(row: dict[str, Any]) -> str:
    """Why a scored item is a failure (a key of VERDICTS); "" when it was handled right."""
    if row["correct"]:
        return ""
    cls, kind = row["cls"], row["kind"]
    if cls == "safety":
        return "red_flag_missed"
    if kind == "safety":
        return "false_alarm"
    if row["wrong"]:
        return "wrong_answer"
    if cls == "fallback" and kind == "answer":
        return "out_of_scope_answered"
    if cls == "clarify":
        return "not_clarified"
    if kind == "clarify":
        if cls == "fallback":
            return "clarified_out_of_scope"
        return "clarified" if row["hit"] else "clarified_off_target"
    if kind == "fallback":
        return "fell_back"
    return "other"


def cell_kind(row: dict[str, Any]) -> str:
    """The matrix colour of an item: right, accepted alternative, error, or not answered."""
    if row["correct"]:
        return "right" if predicted(row) == row["expect"] else "accepted"
    return SHADE[verdict(row)]


def failures(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every item not handled right, worst kind first, in file order within a kind."""
    return sorted((r for r in rows if not r["correct"]), key=lambda r: RANK[verdict(r)])


def plots_available() -> bool:
    """Whether matplotlib can be imported (the `report` extra)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def write(folder: Path | str, result: dict[str, Any], name: str) -> Path:
    """Write folder/index.html for a scored run; the page's path."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    page = out / "index.html"
    page.write_text(html(result, name), encoding="utf-8")
    return page.resolve()


def html(result: dict[str, Any], name: str) -> str:
    """The whole page as one string of valid HTML, every text from the data escaped."""
    rows = result["rows"]
    bad = failures(rows)
    styled = any(r["style"] != "-" for r in rows)
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        "<!doctype html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>sarcoma-chat evaluation: {escape(name)}</title>", f"<style>{CSS}</style>", "</head>", "<body>",
        f"<h1>Evaluation of <code>{escape(name)}</code></h1>",
        f'<p class="meta">{len(rows)} items scored, {len(bad)} not handled right; written {stamp}.</p>',
        '<nav><a href="#failures">Failures</a> · <a href="#summary">Summary</a> · '
        '<a href="#matrix">Confusion matrix</a> · <a href="#plots">Plots</a> · '
        '<a href="#topics">Topics</a>' + (' · <a href="#styles">Styles</a>' if styled else "") + "</nav>",
        _headline(result["metrics"]),
        _failures(bad, len(rows), styled),
        _summary(result["metrics"]),
        _matrix(rows),
        _plots(rows, result["per_topic"]),
        _topics(result["per_topic"]),
    ]
    if styled:
        parts.append(_styles(result["per_style"]))
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def _pct(value: Any) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.1f}%" if isinstance(value, float) else str(value)


def _headline(m: dict[str, Any]) -> str:
    keys = ("answer_accuracy", "wrong_answer_rate", "ood_false_answer_rate", "red_flag_recall",
            "safety_false_alarm_rate")
    label = dict(LABELS)
    cells = "".join(f'<div><span class="big">{_pct(m[k])}</span><br>{escape(label[k])}</div>'
                    for k in keys if m.get(k) is not None)
    return f'<div class="headline">{cells}</div>'


def _failures(bad: list[dict[str, Any]], total: int, styled: bool) -> str:
    head = f'<h2 id="failures">Failures ({len(bad)} of {total})</h2>'
    if not bad:
        return head + "<p>Every item was handled right.</p>"
    counts = Counter(verdict(r) for r in bad)
    summary = ", ".join(f"{n} {escape(SAY[k])}" for k, n in sorted(counts.items(), key=lambda kv: RANK[kv[0]]))
    cols = ["#", "what went wrong", "message", "expected", "got", "confidence"] + (["style"] if styled else []) + ["id"]
    lines = [head, f"<p>Worst kind first: {summary}.</p>", '<table class="failures">',
             "<thead><tr>" + "".join(f"<th>{c}</th>" for c in cols) + "</tr></thead>", "<tbody>"]
    for n, r in enumerate(bad, 1):
        v = verdict(r)
        expected = escape(r["expect"]) + (f'<br><span class="alt">or {escape(", ".join(r["alt"]))}</span>'
                                          if r.get("alt") else "")
        got = escape(str(r["kind"])) if r["kind"] != "answer" else escape(str(r["intent"]))
        if r["kind"] == "clarify" and r["options"]:
            got += f'<br><span class="alt">offered {escape(", ".join(r["options"]))}</span>'
        conf = r.get("confidence")
        where = escape(r["id"]) + (f'<br><span class="alt">dialogue {escape(str(r["dialogue"]))}</span>'
                                   if r.get("dialogue") is not None else "")
        cells = [str(n), f'<span class="tag {SHADE[v]}">{escape(SAY[v])}</span>', escape(r["text"]), expected, got,
                 "-" if conf is None else f"{conf:.2f}"] + ([escape(r["style"])] if styled else []) + [where]
        lines.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    lines += ["</tbody>", "</table>"]
    return "\n".join(lines)


def _summary(m: dict[str, Any]) -> str:
    lines = ['<h2 id="summary">Summary</h2>',
             f"<p>in-scope / out-of-scope / red-flag / ambiguous items: {m['in_scope']} / {m['ood']} / "
             f"{m['red_flag']} / {m['ambiguous']}</p>", '<table class="numbers">', "<tbody>"]
    lines += [f"<tr><td>{escape(label)}</td><td>{_pct(m.get(key))}</td></tr>"
              for key, label in LABELS if m.get(key) is not None]
    lines += ["</tbody>", "</table>"]
    return "\n".join(lines)


def _colour(kind: str, share: float) -> str:
    r, g, b = COLOURS[kind]
    t = 0.25 + 0.75 * share                       # even one item in a big row stays visible
    return f"rgb({round(255 - (255 - r) * t)},{round(255 - (255 - g) * t)},{round(255 - (255 - b) * t)})"


def _swatch(kind: str) -> str:
    return (f'<svg class="swatch" width="14" height="14" aria-hidden="true"><rect width="14" height="14" '
            f'fill="{_colour(kind, 0.6)}" stroke="#999"/></svg>')


def _matrix(rows: list[dict[str, Any]]) -> str:
    """Expected by row, what the bot did by column, as inline SVG with a legend."""
    gold = sorted({r["expect"] for r in rows if r["cls"] == "in_scope"})
    gold += [c for c in SPECIAL if any(r["expect"] == c for r in rows)]
    did = {predicted(r) for r in rows}
    reply_kinds = ("clarify", "fallback", "safety")
    topics = [g for g in gold if g not in SPECIAL]
    cols = topics + sorted(did - set(topics) - set(reply_kinds)) + [c for c in reply_kinds if c in did]
    cells: dict[tuple[str, str], Counter[str]] = {}
    for r in rows:
        cells.setdefault((r["expect"], predicted(r)), Counter())[cell_kind(r)] += 1
    totals = Counter(r["expect"] for r in rows)
    size = 16
    left = 12 + 7 * max((len(g) for g in gold), default=10)       # room for the longest row label
    top = 12 + 6 * max((len(c) for c in cols), default=10)        # and for the slanted column labels
    width, height = left + size * len(cols) + 10, top + size * len(gold) + 10
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" style="font-family:sans-serif;font-size:11px" role="img" '
           'aria-label="confusion matrix">']
    for j, c in enumerate(cols):
        x = left + j * size + size // 2 + 4
        svg.append(f'<text transform="translate({x},{top - 6}) rotate(-60)">{escape(c)}</text>')
    for i, g in enumerate(gold):
        y = top + i * size
        if g in SPECIAL and (i == 0 or gold[i - 1] not in SPECIAL):   # topics above, reply kinds below
            svg.append(f'<line x1="{left - 150}" x2="{left + size * len(cols)}" y1="{y}" y2="{y}" '
                       'stroke="#555" stroke-width="1.5"/>')
        svg.append(f'<text x="{left - 6}" y="{y + 12}" text-anchor="end">{escape(g)}</text>')
        for j, c in enumerate(cols):
            x = left + j * size
            kinds = cells.get((g, c), Counter())
            n = sum(kinds.values())
            svg.append(f'<rect x="{x}" y="{y}" width="{size}" height="{size}" fill="#fff" stroke="#e5e7eb"/>')
            if not n:
                continue
            tip = f"{g} → {c}: {n} (" + ", ".join(f"{k} {m}" for k, m in kinds.most_common()) + ")"
            offset = 0.0
            for kind, m in sorted(kinds.items(), key=lambda km: list(COLOURS).index(km[0])):
                w = size * m / n                  # a mixed cell is split in proportion to its kinds
                svg.append(f'<rect x="{x + offset:.1f}" y="{y}" width="{w:.1f}" height="{size}" '
                           f'fill="{_colour(kind, n / totals[g])}"><title>{escape(tip)}</title></rect>')
                offset += w
            ink = "#fff" if n / totals[g] > 0.6 else "#111"      # legible on the strongest shades
            svg.append(f'<text x="{x + size // 2}" y="{y + 12}" text-anchor="middle" fill="{ink}" '
                       f'pointer-events="none">{n}</text>')
    svg.append("</svg>")
    legend = "".join(f"<li>{_swatch(k)} {escape(text)}</li>" for k, text in LEGEND)
    return "\n".join([
        '<h2 id="matrix">Confusion matrix</h2>',
        "<p>Every scored item: what it expected by row (topics, then out-of-scope <code>fallback</code>, "
        "red-flag <code>safety</code> and ambiguous <code>clarify</code> items), what the bot did by column "
        "(the topic it answered, or its reply kind). The number is the count; the stronger the colour, the "
        "larger its share of the row. A cell split in two holds items of two kinds. Hover a cell for its counts.</p>",
        f'<ul class="legend">{legend}</ul>', '<div class="scroll">', "".join(svg), "</div>"])


def _plots(rows: list[dict[str, Any]], topics: dict[str, dict[str, float | int]]) -> str:
    head = '<h2 id="plots">Plots</h2>'
    if not plots_available():
        return head + f'<p class="note">{NO_PLOTS}</p>'
    figures = [("How confident the bot was when it answered: right answers against wrong ones",
                "confidence histogram", _confidence_png(rows))]
    if topics:
        figures.append(("F1 per topic (in-scope items), worst first; the number is the topic's support",
                        "F1 per topic", _f1_png(topics)))
    out = [head]
    for caption, alt, png in figures:
        data = base64.b64encode(png).decode("ascii")
        out.append(f'<figure><img alt="{escape(alt)}" src="data:image/png;base64,{data}">'
                   f"<figcaption>{escape(caption)}</figcaption></figure>")
    return "\n".join(out)


def _png(draw: Callable[[Any], None], width: float, height: float) -> bytes:
    from matplotlib.figure import Figure     # no pyplot: no global state, no GUI backend
    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    draw(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _confidence_png(rows: list[dict[str, Any]]) -> bytes:
    answered = [r for r in rows if r["kind"] == "answer" and r.get("confidence") is not None]
    right = [float(r["confidence"]) for r in answered if r["correct"]]
    wrong = [float(r["confidence"]) for r in answered if not r["correct"]]
    # Answers cluster near the top of the scale: start the axis just below the lowest one.
    low = min(right + wrong, default=0.0)
    start = max(0.0, int(low * 20) / 20 - 0.05)
    bins = [start + (1 - start) * i / 40 for i in range(41)]

    def draw(fig: Any) -> None:
        # Two panels on one x axis, each with its own count scale: wrong answers are rare
        # and would vanish beside the right ones.
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2))
        top.hist(right, bins=bins, color="#2563eb", alpha=0.8)
        top.set_title(f"right answers ({len(right)})", fontsize=10, loc="left")
        bottom.hist(wrong, bins=bins, color="#dc2626", alpha=0.85)
        bottom.set_title(f"wrong answers: wrong topic or out of scope ({len(wrong)})", fontsize=10, loc="left")
        for ax in (top, bottom):
            ax.set_ylabel("answers")
            ax.grid(axis="y", alpha=0.3)
            ax.yaxis.get_major_locator().set_params(integer=True)
        bottom.set_xlim(start, 1.0)
        bottom.set_xlabel("confidence of the answer")
        fig.suptitle("Confidence of the answers given")
    return _png(draw, 8, 4.2)


def _f1_png(topics: dict[str, dict[str, float | int]]) -> bytes:
    order = sorted(topics, key=lambda t: (topics[t]["f1"], t), reverse=True)

    def draw(fig: Any) -> None:
        from matplotlib import colormaps
        ax = fig.add_subplot()
        f1 = [float(topics[t]["f1"]) for t in order]
        ax.barh(range(len(order)), f1, color=[colormaps["RdYlGn"](v) for v in f1], edgecolor="#555", linewidth=0.4)
        ax.set_yticks(range(len(order)), order, fontsize=8)
        for i, t in enumerate(order):
            ax.text(min(f1[i], 1.0) + 0.01, i, str(topics[t]["support"]), va="center", fontsize=7, color="#333")
        ax.set_xlim(0, 1.08)
        ax.set_ylim(-0.6, len(order) - 0.4)
        ax.set_xlabel("F1")
        ax.set_title("F1 per topic")
        ax.grid(axis="x", alpha=0.3)
    return _png(draw, 8, 1.2 + 0.22 * len(order))


def _topics(topics: dict[str, dict[str, float | int]]) -> str:
    lines = ['<h2 id="topics">Per topic</h2>',
             "<p>In-scope items by expected topic, worst F1 first. Precision: of the answers given on this topic, "
             "the share that were right; recall: of the items expecting it, the share answered right (a "
             "clarifying question counts as not answered).</p>"]
    if not topics:
        return "\n".join(lines + ["<p>No in-scope items.</p>"])
    lines += ['<table class="numbers">', "<thead><tr><th>topic</th><th>support</th><th>precision</th><th>recall</th>"
              "<th>F1</th></tr></thead>", "<tbody>"]
    for t in sorted(topics, key=lambda t: (topics[t]["f1"], t)):
        s = topics[t]
        lines.append(f"<tr><td>{escape(t)}</td><td>{s['support']}</td><td>{s['precision']:.2f}</td>"
                     f"<td>{s['recall']:.2f}</td><td>{s['f1']:.2f}</td></tr>")
    lines += ["</tbody>", "</table>"]
    return "\n".join(lines)


def _styles(styles: dict[str, dict[str, Any]]) -> str:
    lines = ['<h2 id="styles">Per writing style</h2>',
             "<p>Items: every scored item of the style, and the share handled right. Support, precision, recall "
             "and F1 over its in-scope items, as per topic; wrong: in-scope items answered with a wrong topic.</p>",
             '<table class="numbers">', "<thead><tr><th>style</th><th>items</th><th>handled right</th>"
             "<th>support</th><th>precision</th><th>recall</th><th>F1</th><th>wrong</th></tr></thead>", "<tbody>"]
    num = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
    for style, s in styles.items():
        name = escape(style) if style != "-" else "(no style given)"
        lines.append(f"<tr><td>{name}</td><td>{s['items']}</td><td>{_pct(s['correct'])}</td>"
                     f"<td>{s['support']}</td><td>{num(s['precision'])}</td><td>{num(s['recall'])}</td>"
                     f"<td>{num(s['f1'])}</td><td>{_pct(s['wrong'])}</td></tr>")
    lines += ["</tbody>", "</table>"]
    return "\n".join(lines)


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5em 2em;color:#111;max-width:1300px}
h1{font-size:1.5em;margin-bottom:.2em}h2{margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:.2em}
.meta{color:#555;margin-top:0}nav{margin:.6em 0 1em}nav a{color:#1d4ed8}
.headline{display:flex;gap:1em;flex-wrap:wrap}.headline div{border:1px solid #ddd;border-radius:6px;padding:.5em .9em;
min-width:9em;font-size:.85em;color:#444}.big{font-size:1.6em;font-weight:600;color:#111}
table{border-collapse:collapse;font-size:.9em}th,td{padding:3px 8px;border-bottom:1px solid #eee;vertical-align:top}
th{text-align:left;background:#f5f5f5;position:sticky;top:0}
table.numbers td:not(:first-child){text-align:right;font-variant-numeric:tabular-nums}
table.failures td:nth-child(3){max-width:34em}table.failures td:last-child{white-space:nowrap}
.alt{color:#666;font-size:.85em}
.tag{border-radius:4px;padding:1px 5px;white-space:nowrap;font-size:.85em}
.tag.error{background:#fee2e2;color:#991b1b}.tag.unanswered{background:#fef3c7;color:#92400e}
.legend{list-style:none;padding:0}.legend li{margin:.2em 0}
.swatch{vertical-align:-.15em;margin-right:.3em}
.scroll{overflow-x:auto}.note{background:#fef3c7;border:1px solid #f59e0b;padding:.6em .9em;border-radius:6px}
figure{margin:1em 0}figcaption{color:#444;font-size:.9em}img{max-width:100%}
"""
