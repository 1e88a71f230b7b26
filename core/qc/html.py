"""The QC batch as one self-contained HTML page: a summary, a sortable table, and a section per file.

The page must open anywhere a QC report is handed on (a mail attachment, an archive, an air-gapped
machine), so it loads nothing: the styles and the sorting script are inline, the plots are inline SVG
drawn with matplotlib, the thumbnails ``data:`` URIs, and a Content-Security-Policy forbids any fetch.
Every string that comes from a file or a path is escaped.
"""

from __future__ import annotations

import html
import io
import math
import re
from typing import Any

import matplotlib
from matplotlib.figure import Figure  # no pyplot: it would pick a GUI backend and fight the Qt panel

from core.model import SyncResult
from core.qc.model import GRADES, QcBatch, QcItem, main_diagnostic
from core.tolerance import Tolerance, parse_tolerance

__all__ = ["render_html", "timecode"]

# Fetching anything is refused by the browser, so a page that renders complete here is self-contained.
_CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
        "base-uri 'none'; form-action 'none'")
_VERDICT_TEXT = {"in_sync": "in sync", "offset": "out of sync", "drift": "drifting", "inconclusive": "inconclusive",
                 "failed": "failed", "skipped": "not media"}
# Plot colours, chosen to stay apart in greyscale print too.
_BAND_COLOUR, _LINE_COLOUR, _POINT_COLOUR, _MOMENT_COLOUR = "#cfe8d2", "#b3261e", "#1f4e9c", "#555555"

_STYLE = """
:root { --green: #1b7a34; --amber: #f2b100; --red: #c62828; --grey: #6b7280; --ink: #1a1a1a; --rule: #d0d4da; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink);
       background: #fff; margin: 0 auto; padding: 1.5rem 2rem 4rem; max-width: 1400px; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; } h2 { font-size: 1.15rem; margin: 0; } h3 { font-size: 1rem; }
a { color: #1a4fa0; }
.meta { display: grid; grid-template-columns: max-content 1fr; gap: .1rem 1rem; margin: .5rem 0 1rem; }
.meta dt { color: #555; } .meta dd { margin: 0; }
.summary { display: flex; flex-wrap: wrap; gap: .6rem; margin: 1rem 0; }
.card { border: 1px solid var(--rule); border-left-width: 6px; border-radius: 6px; padding: .4rem .8rem;
        min-width: 8.5rem; }
.card b { display: block; font-size: 1.5rem; }
.card.green { border-left-color: var(--green); } .card.amber { border-left-color: var(--amber); }
.card.red { border-left-color: var(--red); } .card.grey { border-left-color: var(--grey); }
.gate { padding: .5rem .8rem; border-radius: 6px; font-weight: 600; margin: .5rem 0; }
.gate.pass { background: #e3f3e6; color: #0f5123; } .gate.fail { background: #fbe4e2; color: #8a1c14; }
.badge { display: inline-block; padding: .05rem .5rem; border-radius: 999px; font-size: .85em; font-weight: 600;
         white-space: nowrap; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
.badge.green { background: var(--green); color: #fff; } .badge.amber { background: var(--amber); color: #1a1a1a; }
.badge.red { background: var(--red); color: #fff; } .badge.grey { background: var(--grey); color: #fff; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid var(--rule); padding: .3rem .5rem; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
thead th { background: #f1f3f6; position: sticky; top: 0; }
th button { font: inherit; font-weight: 600; background: none; border: 0; padding: 0; cursor: pointer; color: inherit; }
th[aria-sort="ascending"] button::after { content: " \\25B2"; }
th[aria-sort="descending"] button::after { content: " \\25BC"; }
tbody tr:hover { background: #f7f9fc; }
.file { border-top: 2px solid var(--rule); margin-top: 2rem; padding-top: 1rem; break-inside: avoid; }
.path { color: #555; word-break: break-all; margin: .2rem 0 .6rem; }
.views { display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-start; }
.views img { height: 200px; border: 1px solid var(--rule); border-radius: 4px; }
.views svg { max-width: 100%; height: auto; }
.sev-error { color: var(--red); font-weight: 600; } .sev-warning { color: #8a5a00; font-weight: 600; }
.sev-info { color: #555; }
.small { font-size: .9em; color: #444; }
.top { font-size: .85em; }
@media print {
  body { padding: 0; max-width: none; font-size: 11px; }
  thead th { position: static; }
  th button::after { content: "" !important; }
  .top { display: none; }
  a { color: inherit; text-decoration: none; }
}
"""

# Sorting by the cells' data-sort values (numbers as numbers); files without a value always go last.
_SCRIPT = """
(function () {
  function sortBy(th) {
    var table = th.closest("table"), body = table.tBodies[0], col = th.cellIndex;
    var numeric = th.getAttribute("data-sort-type") === "number";
    var dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
    table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[col].getAttribute("data-sort"), y = b.cells[col].getAttribute("data-sort");
      if (x === "" || y === "") { return (x === "") - (y === ""); }
      return dir * (numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y));
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  document.querySelectorAll("table.sortable th[data-sort-type]").forEach(function (th) {
    th.addEventListener("click", function () { sortBy(th); });
  });
})();
"""


def render_html(batch: QcBatch) -> str:
    """The batch's report as one HTML page that needs nothing but a browser.

    Parameters
    ----------
    batch : QcBatch
        The QC run; its files are listed worst first (:meth:`QcBatch.ordered`).

    Returns
    -------
    str
        The complete page (UTF-8 text, no external resources).
    """
    items = batch.ordered()
    anchors = {id(item): f"file-{k + 1}" for k, item in enumerate(items)}
    body = [_header(batch), _summary(batch, items, anchors), _table(items, anchors)]
    body += [_detail(item, anchors[id(item)], _tolerance_name(batch, item)) for item in items]
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{_CSP}\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>LipAlign QC: {len(batch.items)} files</title>\n<style>{_STYLE}</style>\n</head>\n"
            "<body id=\"top\">\n" + "\n".join(body) + f"\n<script>{_SCRIPT}</script>\n</body>\n</html>\n")


def timecode(seconds: float, fps: float) -> str:
    """``HH:MM:SS:FF`` for media second ``seconds`` at ``fps`` (non-drop-frame, counted from media time 0).

    The frame is the one on screen at that instant; frames are counted at the real rate and labelled at the
    whole nominal rate (29.97 fps counts 30 labels a second), as non-drop-frame timecode does.
    """
    nominal = max(1, round(fps)) if fps and fps > 0 else 25
    # The small nudge keeps a time at a frame's start (0.04 s at 25 fps, 0.99999... in binary) on that frame.
    frames = max(0, math.floor(seconds * (fps if fps and fps > 0 else nominal) + 1e-6))
    total_s, ff = divmod(frames, nominal)
    hours, rest = divmod(total_s, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}:{ff:02d}"


# ---- header and summary -------------------------------------------------------------------------------------------

def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _number(value: float | None, digits: int = 1, signed: bool = False) -> str:
    """A number for reading (with a real minus sign), or an en dash when there is none."""
    if value is None or not math.isfinite(value):
        return "–"
    text = f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"
    return text.replace("-", "−")


def _elapsed(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min {secs:02d} s" if hours else f"{minutes} min {secs:02d} s"


# How the known settings read; any other setting shows as "name value".
_SETTING_TEXT = {"tolerance": "tolerance {}", "search_ms": "search ±{} ms", "project_rate": "project rate {} Hz"}


def _header(batch: QcBatch) -> str:
    settings = "; ".join(_esc(_SETTING_TEXT.get(k, k + " {}").format(v))
                         for k, v in batch.settings.items()) or "defaults"
    rows = [("LipAlign", batch.version), ("started", batch.started), ("elapsed", _elapsed(batch.elapsed_s)),
            ("workers", batch.workers or "–")]
    meta = "".join(f"<dt>{k}</dt><dd>{_esc(v)}</dd>" for k, v in rows)
    meta += f"<dt>settings</dt><dd>{settings}</dd>"
    meta += f"<dt>fails on</dt><dd>{_esc(', '.join(batch.fail_on)) or 'nothing'}</dd>"
    notes = "".join(f"<li>{_esc(n)}</li>" for n in batch.notes)
    return (f"<header><h1>LipAlign QC report</h1><dl class=\"meta\">{meta}</dl>"
            + (f"<ul class=\"small\">{notes}</ul>" if notes else "") + "</header>")


def _summary(batch: QcBatch, items: list[QcItem], anchors: dict[int, str]) -> str:
    counts = batch.counts()
    cards = [("checked", counts["checked"], "grey"), ("within tolerance", counts["in_sync"], "green"),
             ("out of sync", counts["offset"], "red"), ("drifting", counts["drift"], "red"),
             ("inconclusive", counts["inconclusive"], "amber"), ("failed", counts["failed"], "red"),
             ("skipped (not media)", counts["skipped"], "grey")]
    html_cards = "".join(f"<div class=\"card {grade}\" data-count=\"{key}\"><b>{n}</b>{key}</div>"
                         for key, n, grade in cards)
    cached = f" ({counts['analysed']} analysed now, {counts['cached']} from the cache)"
    failing = {id(i) for i in batch.failing()}
    worst = [i for i in items if id(i) in failing]  # already worst first
    if worst:
        links = ", ".join(f"<a href=\"#{anchors[id(i)]}\" title=\"{_esc(i.path)}\">{_esc(_name(i.path))}</a>"
                          f" ({_esc(', '.join(i.fails(batch.fail_on)))})" for i in worst)
        gate = (f"<div class=\"gate fail\" id=\"gate\">Gate: {len(worst)} of {len(batch.items)} files fail "
                f"(rules: {_esc(', '.join(batch.fail_on))})</div><p class=\"small\">Worst first: {links}</p>")
    else:
        gate = (f"<div class=\"gate pass\" id=\"gate\">Gate: 0 files fail "
                f"(rules: {_esc(', '.join(batch.fail_on)) or 'none'})</div>")
    return f"<section id=\"summary\"><div class=\"summary\">{html_cards}</div><p class=\"small\">{cached}</p>" \
           f"{gate}</section>"


# ---- the table ----------------------------------------------------------------------------------------------------

# (heading, sort type, numeric column)
_COLUMNS = (("File", "text", False), ("Verdict", "number", False), ("Offset (ms)", "number", True),
            ("Offset (frames)", "number", True), ("Drift (ms/min)", "number", True),
            ("Confidence", "number", True), ("Duration", "number", True), ("Main diagnostic", "text", False),
            ("Fix", "text", False))
_NUM_CLASS = ' class="num"'


def _table(items: list[QcItem], anchors: dict[int, str]) -> str:
    heads = "".join(f"<th data-sort-type=\"{kind}\"{_NUM_CLASS if num else ''}>"
                    f"<button type=\"button\">{_esc(title)}</button></th>" for title, kind, num in _COLUMNS)
    rows = "\n".join(_row(item, anchors[id(item)]) for item in items)
    return (f"<section id=\"files\"><h2>Files, worst first</h2><p class=\"small\">Click a heading to sort; "
            f"offsets are positive when the audio is late.</p><table class=\"sortable\" id=\"qc-table\">"
            f"<thead><tr>{heads}</tr></thead>\n<tbody>\n{rows}\n</tbody></table></section>")


def _cell(text: str, sort: float | str | None, numeric: bool = False) -> str:
    """A table cell showing ``text`` (already escaped) and sorting by ``sort`` (blank: sorts last)."""
    key = "" if sort is None or (isinstance(sort, float) and not math.isfinite(sort)) else _esc(sort)
    return f"<td{_NUM_CLASS if numeric else ''} data-sort=\"{key}\">{text}</td>"


def _row(item: QcItem, anchor: str) -> str:
    sync = (item.report or {}).get("sync") or {}
    media = (item.report or {}).get("media") or {}
    confidence = sync.get("confidence") if item.report is not None else None
    name, note = _name(item.path), main_diagnostic(item)
    if note is not None:
        what = f"<span class=\"sev-{_esc(note['severity'])}\">{_esc(note['severity'])}</span> {_esc(note['message'])}"
        fix = _esc(note.get("fix") or "")
    else:
        what, fix = _esc(item.reason), ""
    cells = [
        _cell(f"<a href=\"#{anchor}\" title=\"{_esc(item.path)}\">{_esc(name)}</a>", name.lower()),
        _cell(_badge(item), GRADES.index(item.grade)),
        _cell(_number(sync.get("offset_ms"), 1, signed=True), sync.get("offset_ms"), True),
        _cell(_number(sync.get("offset_frames"), 2, signed=True), sync.get("offset_frames"), True),
        _cell(_number(sync.get("drift_ms_per_min"), 1, signed=True), sync.get("drift_ms_per_min"), True),
        _cell(f"{_number(confidence * 100, 0)} %" if confidence is not None else "–", confidence, True),
        _cell(_duration(media.get("duration_s")), media.get("duration_s"), True),
        _cell(what or "–", (note or {}).get("code") or item.reason or None),
        _cell(fix or "–", fix or None),
    ]
    return f"<tr id=\"row-{anchor}\" data-file=\"{_esc(item.path)}\">{''.join(cells)}</tr>"


def _badge(item: QcItem) -> str:
    text = _VERDICT_TEXT.get(item.verdict, item.verdict)
    if item.grade == "amber" and item.verdict == "in_sync":
        text += ", warning"
    return f"<span class=\"badge {item.grade}\" title=\"{_esc(item.verdict)}\">{_esc(text)}</span>"


def _name(path: str) -> str:
    return path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] or path


def _duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "–"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(seconds, 60.0)
    return f"{int(minutes)}:{secs:04.1f}"


# ---- one file's section -------------------------------------------------------------------------------------------

def _tolerance_name(batch: QcBatch, item: QcItem) -> str:
    """The preset the file was judged by: its report's, else the batch's."""
    sync = (item.report or {}).get("sync") or {}
    return str(sync.get("tolerance") or batch.settings.get("tolerance") or "broadcast")


def _tolerance(name: str) -> Tolerance:
    try:
        return parse_tolerance(name)
    except ValueError:  # a preset from a newer version: the strictest rule still shows something useful
        return parse_tolerance("broadcast")


def _fps(report: dict[str, Any]) -> float:
    media = report.get("media") or {}
    return float(media.get("fps_measured") or media.get("fps_declared") or 25.0)


def _detail(item: QcItem, anchor: str, tolerance_name: str) -> str:
    title = (f"<h2>{_badge(item)} {_esc(_name(item.path))}</h2>"
             f"<div class=\"path\">{_esc(item.path)}</div>")
    if item.report is None:
        reason = _esc(item.reason or "no reason given")
        body = f"<p><b>{'Skipped' if item.status == 'skipped' else 'Could not be analysed'}:</b> {reason}</p>"
    else:
        body = _analysed_detail(item, tolerance_name, f"{anchor}-")
    return (f"<section class=\"file\" id=\"{anchor}\" data-file=\"{_esc(item.path)}\">{title}{body}"
            f"<p class=\"top\"><a href=\"#top\">back to the top</a></p></section>")


def _analysed_detail(item: QcItem, tolerance_name: str, prefix: str) -> str:
    report = item.report or {}
    sync, media, fix = report.get("sync") or {}, report.get("media") or {}, report.get("fix") or {}
    fps = _fps(report)
    tolerance = _tolerance(tolerance_name)
    early, late = tolerance.limits_ms(fps)
    facts = [("verdict", _VERDICT_TEXT.get(sync.get("verdict"), str(sync.get("verdict")))
              + (f" ({sync['reason']})" if sync.get("reason") else "")),
             ("offset", f"{_number(sync.get('offset_ms'), 1, True)} ms "
                        f"({_number(sync.get('offset_frames'), 2, True)} frames; positive = audio late)"),
             ("drift", f"{_number(sync.get('drift_ms_per_min'), 1, True)} ms/min"),
             ("confidence", f"{_number((sync.get('confidence') or 0) * 100, 0)} %"),
             ("tolerance", f"{tolerance.name}: audio up to {early:.0f} ms early, {late:.0f} ms late"),
             ("picture", f"{media.get('width') or '?'}×{media.get('height') or '?'}, {_number(fps, 3)} fps, "
                         f"{_duration(media.get('duration_s'))}"),
             ("fix", f"slip audio {_number(fix.get('slip_ms'), 1, True)} ms "
                     f"({_number(fix.get('slip_frames'), 2, True)} frames), "
                     f"speed ×{_number(fix.get('speed_ratio'), 6)}"),
             ("status", "from the cache" if item.status == "cached" else f"analysed in {item.analysis_s:.1f} s")]
    if (sync.get("face") or {}).get("why"):
        facts.append(("face", sync["face"]["why"]))
    facts_html = "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in facts)
    thumb = (f"<img alt=\"the measured face with its mouth patch\" src=\"data:image/jpeg;base64,"
             f"{_esc(item.thumbnail_jpeg_b64)}\">" if item.thumbnail_jpeg_b64 else "")
    views = f"<div class=\"views\">{thumb}<div class=\"plot\">{_plot_svg(report, tolerance, prefix)}</div></div>"
    return f"<dl class=\"meta\">{facts_html}</dl>{views}{_moments(sync, fps)}{_diagnostics(report)}"


def _moments(sync: dict[str, Any], fps: float) -> str:
    moments = [m for m in sync.get("moments") or [] if m.get("time_s") is not None]
    if not moments:
        return "<h3>Moments to check by eye</h3><p class=\"small\">None found.</p>"
    rows = "".join(f"<tr><td class=\"num\">{timecode(m['time_s'], fps)}</td><td class=\"num\">"
                   f"{_number(m['time_s'], 3)} s</td><td>{_esc(m.get('event', ''))}</td>"
                   f"<td class=\"num\">{_number(m.get('offset_ms'), 0, True)} ms</td></tr>" for m in moments)
    return ("<h3>Moments to check by eye</h3><table class=\"moments\"><thead><tr><th class=\"num\">Timecode</th>"
            "<th class=\"num\">Media time</th><th>What happens</th><th class=\"num\">Offset there</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def _diagnostics(report: dict[str, Any]) -> str:
    notes = report.get("diagnostics") or []
    if not notes:
        return "<h3>Diagnostics</h3><p class=\"small\">None fired.</p>"
    rows = "".join(f"<li><span class=\"sev-{_esc(d['severity'])}\">{_esc(d['severity'])}</span> "
                   f"<code>{_esc(d['code'])}</code>: {_esc(d['message'])}<br><span class=\"small\">fix: "
                   f"{_esc(d.get('fix') or '–')}</span></li>" for d in notes)
    return f"<h3>Diagnostics</h3><ul class=\"diagnostics\">{rows}</ul>"


# ---- the offset plot ----------------------------------------------------------------------------------------------

def _fitted(sync: dict[str, Any], duration_s: float) -> list[tuple[list[float], list[float]]]:
    """The measured offset over the clip as line pieces (times, offsets): one per stretch between splices."""
    return [([a, b], [correction.offset_at_ms(a), correction.offset_at_ms(b)])
            for a, b, correction in SyncResult.from_dict(sync).stretches(0.0, duration_s)]


def _plot_svg(report: dict[str, Any], tolerance: Tolerance, prefix: str) -> str:
    """The offset over time as an inline ``<svg>``: windows, fitted line, tolerance band, splices, moments.

    ``prefix`` starts every id inside the SVG, so the ids of several plots on one page never meet.
    """
    # Text as text (small, selectable, in the page's fonts); a fixed salt keeps the output reproducible.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "lipalign-qc", "font.size": 9}):
        fig = Figure(figsize=(7.2, 3.0), dpi=96, layout="constrained")
        _draw_offsets(fig.add_subplot(), report, tolerance)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return _inline_svg(buffer.getvalue(), prefix)


def _draw_offsets(ax: Any, report: dict[str, Any], tolerance: Tolerance) -> None:
    """Draw one file's measurements onto matplotlib axes ``ax``."""
    sync, media = report.get("sync") or {}, report.get("media") or {}
    windows = [w for w in sync.get("windows") or [] if w.get("offset_ms") is not None]
    duration = float(media.get("duration_s") or max([w["end_s"] for w in windows] or [1.0]))
    early, late = tolerance.limits_ms(_fps(report))
    ax.axhspan(-early, late, color=_BAND_COLOUR, zorder=0,
               label=f"tolerance ({tolerance.name}: −{early:.0f} / +{late:.0f} ms)")
    ax.axhline(0.0, color="#888888", linewidth=0.8, zorder=1)
    for k, splice in enumerate(sync.get("splices") or []):
        ax.axvline(splice["time_s"], color="#444444", linestyle="--", linewidth=1, zorder=1,
                   label="splice" if k == 0 else None)
    fitted = _fitted(sync, duration)
    for k, (times, offsets) in enumerate(fitted):
        ax.plot(times, offsets, color=_LINE_COLOUR, linewidth=2, zorder=3, label="fitted offset" if k == 0 else None)
    if windows:
        sizes = [20 + 180 * max(0.0, min(1.0, w.get("confidence") or 0.0)) for w in windows]
        ax.scatter([(w["start_s"] + w["end_s"]) / 2 for w in windows], [w["offset_ms"] for w in windows], s=sizes,
                   color=_POINT_COLOUR, alpha=0.75, edgecolors="white", linewidths=0.5, zorder=4,
                   label="window (size = confidence)")
    moments = [m for m in sync.get("moments") or [] if m.get("offset_ms") is not None and m.get("time_s") is not None]
    if moments:
        ax.scatter([m["time_s"] for m in moments], [m["offset_ms"] for m in moments], marker="x", s=25,
                   color=_MOMENT_COLOUR, linewidths=1, zorder=5, label="sync moment")
    values = [-early, late, 0.0, *(w["offset_ms"] for w in windows), *(m["offset_ms"] for m in moments),
              *(v for _, offsets in fitted for v in offsets)]
    pad = max(10.0, 0.12 * (max(values) - min(values)))
    ax.set_ylim(min(values) - pad, max(values) + pad)
    ax.set_xlim(0.0, max(duration, 1e-3))
    ax.set_xlabel("time in clip (s)")
    ax.set_ylabel("offset (ms, + = audio late)")
    if not windows and not moments:
        ax.text(0.5, 0.5, "no offset measured", transform=ax.transAxes, ha="center", va="center", color="#555555")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.grid(True, color="#e5e5e5", linewidth=0.6)
    ax.set_axisbelow(True)


def _inline_svg(text: str, prefix: str) -> str:
    """matplotlib's SVG file as an element for an HTML page: no XML prologue or metadata, ids prefixed."""
    text = text[text.index("<svg"):]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    text = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}\1"', text)
    text = re.sub(r"url\(#([^)]+)\)", rf"url(#{prefix}\1)", text)
    text = re.sub(r'href="#([^"]+)"', rf'href="#{prefix}\1"', text)
    return text.replace("<svg ", '<svg role="img" aria-label="offset over time" ', 1)
