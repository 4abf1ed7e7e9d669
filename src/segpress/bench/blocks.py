"""Report text as blocks (headings, paragraphs, tables, images, lists), rendered to Markdown and to HTML.

    blocks ─┬─ to_markdown ─ report.md
            └─ to_html ─ report.html (standalone, images beside it)

and the number formats the report and the console table share.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

# --- blocks and their two renderings ----------------------------------------------------------------


@dataclass
class Block:
    kind: str  # "h1", "h2", "p", "table", "image", "list"
    text: str = ""
    headers: Sequence[str] = ()
    rows: Sequence[Sequence[str]] = ()
    items: Sequence[str] = ()


def to_markdown(blocks: Sequence[Block]) -> str:
    lines: list[str] = []
    for block in blocks:
        if block.kind in ("h1", "h2", "h3"):
            lines += ["#" * int(block.kind[1]) + " " + block.text, ""]
        elif block.kind == "p":
            lines += [block.text, ""]
        elif block.kind == "table":
            cell = lambda text: str(text).replace("|", "\\|")  # noqa: E731
            lines.append("| " + " | ".join(cell(h) for h in block.headers) + " |")
            lines.append("|" + "|".join("---" for _ in block.headers) + "|")
            lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in block.rows]
            lines.append("")
        elif block.kind == "image":
            lines += [f"![{block.text}]({block.items[0]})", ""]
        elif block.kind == "list":
            lines += [f"- {item}" for item in block.items] + [""]
    return "\n".join(lines)


def to_html(blocks: Sequence[Block], title: str) -> str:
    out = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">', f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;line-height:1.4}"
        "table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:0.25em 0.6em;"
        "text-align:right}td:first-child,th:first-child{text-align:left}th{background:#f3f3f3}"
        "img{max-width:100%}code{background:#f3f3f3;padding:0 0.2em}</style>", "</head><body>",
    ]
    for block in blocks:
        if block.kind in ("h1", "h2", "h3"):
            out.append(f"<{block.kind}>{html.escape(block.text)}</{block.kind}>")
        elif block.kind == "p":
            out.append(f"<p>{_inline_code(html.escape(block.text))}</p>")
        elif block.kind == "table":
            out.append("<table><thead><tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in block.headers)
                       + "</tr></thead><tbody>")
            out += ["<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in block.rows]
            out.append("</tbody></table>")
        elif block.kind == "image":
            out.append(f'<p><img src="{html.escape(block.items[0])}" alt="{html.escape(block.text)}"></p>')
        elif block.kind == "list":
            out.append("<ul>" + "".join(f"<li>{_inline_code(html.escape(i))}</li>" for i in block.items) + "</ul>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def _inline_code(text: str) -> str:
    """`code` spans of the Markdown text as <code> (text already escaped)."""
    parts = text.split("`")
    return "".join(f"<code>{part}</code>" if i % 2 else part for i, part in enumerate(parts))


# --- number formats ---------------------------------------------------------------------------------


def pct(value: float | None) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:+.1f} %"


def num(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.{digits}f}"


def share(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def points(value: float | None) -> str:
    """A difference of two shares (0..1) in percentage points."""
    return "n/a" if value is None else f"{100 * value:+.1f} pp"
