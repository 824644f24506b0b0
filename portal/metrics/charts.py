"""Trend charts as inline SVG drawn on the server: no chart library, nothing loaded from the network,
readable without JavaScript. Every chart has a <title> and a <desc> stating its figures, and every
bar or point a <title> (the browser shows it on hover)."""
from __future__ import annotations

import itertools
import math

from markupsafe import Markup, escape

WIDTH, HEIGHT = 320, 184
LEFT, RIGHT, TOP, BOTTOM = 42, 8, 24, 32
COLOURS = ("#1d5fbf", "#0e9384", "#b54708", "#7a5af8")
TARGET_COLOUR = "#b42318"
_ids = itertools.count(1)


def _nice_ceiling(value: float) -> float:
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _fmt_axis(value: float, percent: bool) -> str:
    if percent:
        return f"{value * 100:.0f}%"
    if value >= 10000:
        return f"{value / 10000:g}万"
    return f"{value:g}"


def _text_width(text: str, size: float = 10) -> float:
    """Roughly: CJK characters are square, Latin ones a bit over half as wide."""
    return sum(size if ord(ch) > 0x2E80 else size * 0.58 for ch in text)


class _Frame:
    def __init__(self, title: str, labels: list[tuple[str, str]], top: float, percent: bool):
        self.title, self.labels, self.top, self.percent = title, labels, top, percent
        self.n = max(len(labels), 1)
        self.plot_w = WIDTH - LEFT - RIGHT
        self.plot_h = HEIGHT - TOP - BOTTOM
        self.parts: list[str] = []

    def x(self, i: int) -> float:
        return LEFT + (i + 0.5) * self.plot_w / self.n

    def y(self, value: float) -> float:
        return TOP + self.plot_h * (1 - min(max(value, 0), self.top) / self.top)

    def axes(self) -> None:
        for k in range(5):
            v = self.top * k / 4
            y = self.y(v)
            self.parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e7ec"/>')
            self.parts.append(f'<text x="{LEFT - 4}" y="{y + 3.5:.1f}" text-anchor="end" class="tick">'
                              f'{escape(_fmt_axis(v, self.percent))}</text>')
        # Where the labels would overlap, show every k-th one (always the last, the period chosen).
        widest = max((_text_width(a) for a, _b in self.labels), default=0)
        every = max(1, math.ceil((widest + 4) / (self.plot_w / self.n)))
        shown = []  # (x, period, year)
        carried = ""  # a year under a label that is not shown moves to the next one shown
        for i, (line1, line2) in enumerate(self.labels):
            if (self.n - 1 - i) % every:
                carried = line2 or carried
                continue
            shown.append((self.x(i), line1, line2 or carried))
            carried = ""
        # Years that would run into the next one are dropped, from the right (the later years matter more).
        next_left = float("inf")
        for k in range(len(shown) - 1, -1, -1):
            x, line1, year = shown[k]
            if year and x + _text_width(year) / 2 + 2 > next_left:
                shown[k] = (x, line1, "")
            elif year:
                next_left = x - _text_width(year) / 2
        for x, line1, year in shown:
            self.parts.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 13}" text-anchor="middle" class="tick">'
                              f'{escape(line1)}</text>')
            if year:
                self.parts.append(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 26}" text-anchor="middle" '
                                  f'class="tick year">{escape(year)}</text>')

    def legend(self, entries: list[tuple[str, str, bool]]) -> None:
        x = LEFT
        for name, colour, dashed in entries:
            if dashed:
                self.parts.append(f'<line x1="{x}" x2="{x + 14}" y1="{TOP - 12}" y2="{TOP - 12}" stroke="{colour}" '
                                  f'stroke-width="2" stroke-dasharray="4 3"/>')
            else:
                self.parts.append(f'<rect x="{x}" y="{TOP - 17}" width="12" height="10" fill="{colour}" rx="2"/>')
            self.parts.append(f'<text x="{x + 17}" y="{TOP - 8}" class="legend">{escape(name)}</text>')
            x += 17 + _text_width(name, 10.5) + 12

    def svg(self, description: str) -> Markup:
        n = next(_ids)
        head = (f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
                f'aria-labelledby="chart{n}-t chart{n}-d" xmlns="http://www.w3.org/2000/svg">'
                f'<title id="chart{n}-t">{escape(self.title)}</title><desc id="chart{n}-d">{escape(description)}</desc>')
        return Markup(head + "".join(self.parts) + "</svg>")


def _describe(labels, series, fmt) -> str:
    rows = []
    for i, (l1, l2) in enumerate(labels):
        values = "，".join(f"{name} {fmt(values[i])}" for name, values in series)
        rows.append(f"{l2}{l1}：{values}")
    return "；".join(rows)


def bars(title: str, labels: list[tuple[str, str]], series: list[tuple[str, list[float]]], fmt=str) -> Markup:
    """Grouped bars, one group per period."""
    top = _nice_ceiling(max([v for _n, vs in series for v in vs if v is not None] or [0]))
    frame = _Frame(title, labels, top, percent=False)
    frame.axes()
    group_w = frame.plot_w / frame.n * 0.72
    bar_w = group_w / max(len(series), 1)
    for s, (name, values) in enumerate(series):
        colour = COLOURS[s % len(COLOURS)]
        for i, v in enumerate(values):
            if not v:
                continue
            x = frame.x(i) - group_w / 2 + s * bar_w
            y = frame.y(v)
            frame.parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 1:.1f}" height="{TOP + frame.plot_h - y:.1f}" '
                f'fill="{colour}"><title>{escape(labels[i][1] + labels[i][0])} {escape(name)} {escape(fmt(v))}</title></rect>')
    frame.legend([(name, COLOURS[s % len(COLOURS)], False) for s, (name, _v) in enumerate(series)])
    return frame.svg(_describe(labels, series, fmt))


def lines(title: str, labels: list[tuple[str, str]], series: list[tuple[str, list[float | None]]], fmt=str,
          percent: bool = False, target: float | None = None, target_name: str = "") -> Markup:
    """Lines over the periods; a gap where a period has no value; an optional dashed target line."""
    values = [v for _n, vs in series for v in vs if v is not None] + ([target] if target is not None else [])
    top = 1.0 if percent else _nice_ceiling(max(values or [0]) * 1.1)
    frame = _Frame(title, labels, top, percent=percent)
    frame.axes()
    legend = []
    if target is not None:
        y = frame.y(target)
        frame.parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="{TARGET_COLOUR}" '
                           f'stroke-width="1.5" stroke-dasharray="5 4"><title>{escape(target_name)}</title></line>')
    for s, (name, vs) in enumerate(series):
        colour = COLOURS[s % len(COLOURS)]
        legend.append((name, colour, False))
        segment: list[str] = []
        for i, v in enumerate(vs + [None]):
            if v is None:
                if len(segment) > 1:
                    frame.parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                                       f'points="{" ".join(segment)}"/>')
                segment = []
                continue
            segment.append(f"{frame.x(i):.1f},{frame.y(v):.1f}")
        for i, v in enumerate(vs):
            if v is None:
                continue
            missed = target is not None and v < target
            frame.parts.append(
                f'<circle cx="{frame.x(i):.1f}" cy="{frame.y(v):.1f}" r="3" fill="{TARGET_COLOUR if missed else colour}">'
                f'<title>{escape(labels[i][1] + labels[i][0])} {escape(name)} {escape(fmt(v))}</title></circle>')
    if target is not None:
        legend.append((target_name, TARGET_COLOUR, True))
    frame.legend(legend)
    return frame.svg(_describe(labels, series, fmt))
