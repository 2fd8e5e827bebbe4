"""The pieces every HTML page of planner shares: style, escaping, tables, figures, the page frame.

``report.html`` (a run), ``comparison.html`` (``planner compare``) and ``summary.html``
(``planner batch``) are built from these, so they read alike: a first screen with what to decide
and what it buys, then the figures (two per row), then the detail folded in ``<details>``.
Pages are self-contained (inline CSS, figures as base64 PNG) and carry no date.
"""

from __future__ import annotations

import base64
import html

CSS = """
body { font-family: "Segoe UI", Roboto, Helvetica, Arial, sans-serif; color: #222; margin: 0 auto;
       max-width: 1340px; padding: 0.8em 1.5em 3em; line-height: 1.35; font-size: 15px; }
h1 { font-size: 1.45em; margin: 0.2em 0 0.1em; }
h2 { font-size: 1.15em; margin: 1.2em 0 0.4em; border-bottom: 2px solid #1f77b4; padding-bottom: 0.15em; }
h3 { font-size: 1.0em; margin: 0.9em 0 0.3em; }
.meta { color: #555; margin: 0 0 0.4em; font-size: 0.92em; }
.top { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 0 2em; }
.top h2 { margin-top: 0.5em; }
ul.now { margin: 0.2em 0; padding-left: 1.2em; }
ul.now li { margin: 0.15em 0; }
ul.now ul { padding-left: 1.1em; font-size: 0.9em; color: #333; }
.hint { color: #555; font-size: 0.88em; }
.description { background: #f4f7fb; border-left: 4px solid #1f77b4; padding: 0.5em 1em; }
.warning { background: #fff4e5; border-left: 4px solid #ff7f0e; padding: 0.3em 1em; margin: 0.4em 0; }
.warning ul { margin: 0.2em 0; }
table { border-collapse: collapse; margin: 0.4em 0; font-size: 0.92em; }
th, td { padding: 0.22em 0.6em; border-bottom: 1px solid #e3e3e3; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.unit { white-space: nowrap; color: #555; }
tr.total td, tfoot td { font-weight: bold; background: #fafafa; }
tr.group th { background: #e8eef6; text-align: left; }
table.assumptions { width: 100%; table-layout: fixed; }
table.assumptions td { overflow-wrap: anywhere; }
td.code { font-family: Consolas, Menlo, monospace; font-size: 0.88em; }
.figs { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 0.8em 1.5em; }
figure { margin: 0; }
figure img { width: 100%; height: auto; border: 1px solid #eee; }
figure h3 { margin: 0.2em 0; }
figcaption { color: #555; font-size: 0.85em; }
details { margin: 0.4em 0; border: 1px solid #e3e3e3; border-radius: 4px; padding: 0.3em 0.8em; }
details > summary { cursor: pointer; font-weight: 600; }
nav { font-size: 0.9em; margin: 0.3em 0; }
nav a { margin-right: 1em; }
footer { margin-top: 2em; color: #777; font-size: 0.85em; }
"""


def e(value) -> str:
    """Text as HTML (escaped, quotes too)."""
    return html.escape(str(value), quote=True)


def table(header: list[str], rows: list[list[str]], numeric=frozenset(), cls: str = "", foot: list[str] | None = None, col_classes=None) -> str:
    """An HTML table; header and cells are already-escaped HTML. ``numeric``: right-aligned
    columns that never wrap; ``foot``: a totals row apart from the body (``<tfoot>``)."""
    col_classes = {**{i: "num" for i in numeric}, **(col_classes or {})}

    def attr(i):
        return f" class={col_classes[i]}" if i in col_classes else ""

    head = "".join(f"<th{attr(i)}>{h}</th>" for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(f"<td{attr(i)}>{c}</td>" for i, c in enumerate(row)) + "</tr>" for row in rows)
    tfoot = "<tfoot><tr>" + "".join(f"<td{attr(i)}>{c}</td>" for i, c in enumerate(foot)) + "</tr></tfoot>" if foot else ""
    return f'<table{f" class={cls}" if cls else ""}><thead><tr>{head}</tr></thead><tbody>{body}</tbody>{tfoot}</table>'


def figure(title: str, caption: str, png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<figure><h3>{e(title)}</h3><img src="data:image/png;base64,{data}" alt="{e(title)}"><figcaption>{e(caption)}</figcaption></figure>'


def figures(items) -> str:
    """(title, caption, PNG bytes) -> a grid of figures, two per row."""
    return '<div class=figs>' + "".join(figure(*item) for item in items) + "</div>"


def details(title: str, body: str, open_: bool = False, anchor: str = "") -> str:
    ident = f' id="{anchor}"' if anchor else ""
    return f"<details{ident}{' open' if open_ else ''}><summary>{e(title)}</summary>{body}</details>"


def frame(title: str, body: str, lang: str = "en", footer: str = "") -> str:
    """The page: doctype, head with the style, ``<h1>``, the body and a footer."""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{e(lang)}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)}</title><style>{CSS}</style></head>\n<body>\n<h1>{e(title)}</h1>\n"
        + body
        + (f"\n<footer>{e(footer)}</footer>" if footer else "")
        + "\n</body></html>\n"
    )
