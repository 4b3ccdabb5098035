"""Small inline-SVG bar charts for the report (no plotting library, no network).

Every function returns an ``<svg>`` element as a string, sized in pixels, with a legend and a
``<title>`` tooltip on every bar segment.
"""
from __future__ import annotations

from html import escape

PALETTE = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c",
           "#ccb974", "#64b5cd")
CATEGORY_COLORS = {"good": "#55a868", "jitter": "#ccb974", "inversion": "#dd8452", "swap": "#8172b3",
                   "miss": "#c44e52", "undetected": "#8c8c8c"}
_FONT = 'font-family="sans-serif" font-size="12"'


def _legend(names, colors, x: float, y: float, right: float) -> tuple[list[str], float]:
    """Legend entries from (x, y), wrapping before ``right``; returns the parts and the y below."""
    parts, offset = [], x
    for name, color in zip(names, colors):
        step = 24 + 7 * len(name)
        if offset + step > right and offset > x:
            offset, y = x, y + 16
        parts.append(f'<rect x="{offset:.1f}" y="{y:.1f}" width="12" height="12" fill="{color}"/>'
                     f'<text x="{offset + 16:.1f}" y="{y + 10:.1f}" {_FONT}>{escape(name)}</text>')
        offset += step
    return parts, y + 22


def _axis(x0: float, width: float, y: float, maximum: float, ticks: int = 5) -> list[str]:
    parts = [f'<line x1="{x0}" y1="{y}" x2="{x0 + width}" y2="{y}" stroke="#444"/>']
    for i in range(ticks + 1):
        value = maximum * i / ticks
        x = x0 + width * i / ticks
        parts.append(f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + 4}" stroke="#444"/>'
                     f'<text x="{x:.1f}" y="{y + 16}" text-anchor="middle" {_FONT}>{value:.2f}</text>')
    return parts


def stacked_bars(rows: list[tuple[str, list[float]]], segments: list[str], colors=None,
                 maximum: float = 1.0, title: str = "", label_width: int = 130, width: int = 520) -> str:
    """Horizontal bars, one per row, each the stack of its non-negative segment values."""
    colors = list(colors or PALETTE)
    bar, gap = 18, 6
    legend, top = _legend(segments, colors, label_width, 24 if title else 4, label_width + width)
    height = top + len(rows) * (bar + gap) + 28
    scale = width / maximum if maximum > 0 else 0.0
    parts = [f'<svg class="chart" width="{label_width + width + 70}" '
             f'height="{height}" role="img">']
    if title:
        parts.append(f'<text x="4" y="14" {_FONT} font-weight="bold">{escape(title)}</text>')
    parts += legend
    for i, (label, values) in enumerate(rows):
        y = top + i * (bar + gap)
        parts.append(f'<text x="{label_width - 6}" y="{y + 13}" text-anchor="end" {_FONT}>{escape(label)}</text>')
        x = float(label_width)
        for name, value, color in zip(segments, values, colors):
            w = max(value, 0.0) * scale
            parts.append(f'<rect x="{x:.2f}" y="{y}" width="{w:.2f}" height="{bar}" fill="{color}">'
                         f'<title>{escape(label)}: {escape(name)} {value:.4f}</title></rect>')
            x += w
        parts.append(f'<text x="{x + 4:.1f}" y="{y + 13}" {_FONT}>{sum(max(v, 0.0) for v in values):.3f}</text>')
    parts += _axis(label_width, width, top + len(rows) * (bar + gap), maximum)
    parts.append("</svg>")
    return "".join(parts)


def grouped_bars(groups: list[tuple[str, list[float]]], series: list[str], colors=None, maximum: float = 1.0,
                 title: str = "", label_width: int = 130, width: int = 520) -> str:
    """Horizontal bars grouped by row label, one bar per series (negative values drawn as 0)."""
    colors = list(colors or PALETTE)
    bar, gap = 12, 10
    legend, top = _legend(series, colors, label_width, 24 if title else 4, label_width + width)
    group_height = bar * len(series) + gap
    height = top + len(groups) * group_height + 28
    scale = width / maximum if maximum > 0 else 0.0
    parts = [f'<svg class="chart" width="{label_width + width + 70}" '
             f'height="{height}" role="img">']
    if title:
        parts.append(f'<text x="4" y="14" {_FONT} font-weight="bold">{escape(title)}</text>')
    parts += legend
    for i, (label, values) in enumerate(groups):
        y0 = top + i * group_height
        parts.append(f'<text x="{label_width - 6}" y="{y0 + bar * len(series) / 2 + 4:.1f}" text-anchor="end" '
                     f'{_FONT}>{escape(label)}</text>')
        for j, (name, value) in enumerate(zip(series, values)):
            y = y0 + j * bar
            w = max(value, 0.0) * scale
            parts.append(f'<rect x="{label_width}" y="{y}" width="{w:.2f}" height="{bar - 1}" fill="{colors[j]}">'
                         f'<title>{escape(label)}: {escape(name)} {value:.4f}</title></rect>'
                         f'<text x="{label_width + w + 4:.1f}" y="{y + bar - 2}" font-family="sans-serif" '
                         f'font-size="10">{value:.3f}</text>')
    parts += _axis(label_width, width, top + len(groups) * group_height, maximum)
    parts.append("</svg>")
    return "".join(parts)
