"""SVG written directly: a canvas of lines, points, boxes, images and text, and axes with ticks.

The pictures a job's run gets (src/pictures/charts.py) are drawn by the tracking process while
the jobs train on every core. matplotlib costs that process 0.28 s of CPU to import and about
0.07 s a picture to draw (its text layout, its ticks, its renderer); these pictures are a few
dozen shapes each, written as text in about a millisecond. Text stays text: searchable, sharp
at any zoom, and drawn in the browser's own font. MLflow's UI shows an SVG artifact as it shows
a PNG (checked in Chromium).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from html import escape
from pathlib import Path

# matplotlib's default colours (tab10), so the pictures look like their earlier selves.
COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


def _n(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


class Canvas:
    """An SVG picture `width` x `height` pixels, filled in order (later on top)."""

    def __init__(self, width: float, height: float):
        self.width, self.height = width, height
        self.parts: list[str] = []

    def text(self, x, y, s, size=11, anchor="middle", rotate=0, colour="#222", bold=False):
        turn = f' transform="rotate({rotate} {_n(x)} {_n(y)})"' if rotate else ""
        weight = ' font-weight="bold"' if bold else ""
        self.parts.append(
            f'<text x="{_n(x)}" y="{_n(y)}" font-size="{size}" text-anchor="{anchor}" '
            f'fill="{colour}"{weight}{turn}>{escape(str(s))}</text>'
        )

    def line(self, x1, y1, x2, y2, colour="#000", width=1.0, opacity=1.0):
        self.parts.append(
            f'<line x1="{_n(x1)}" y1="{_n(y1)}" x2="{_n(x2)}" y2="{_n(y2)}" '
            f'stroke="{colour}" stroke-width="{width}" stroke-opacity="{opacity}"/>'
        )

    def polyline(self, points, colour, width=1.5, opacity=1.0, dots=0.0):
        points = [(x, y) for x, y in points if math.isfinite(x) and math.isfinite(y)]
        text = " ".join(f"{_n(x)},{_n(y)}" for x, y in points)
        self.parts.append(
            f'<polyline points="{text}" fill="none" stroke="{colour}" stroke-width="{width}" '
            f'stroke-opacity="{opacity}" stroke-linejoin="round"/>'
        )
        for x, y in points if dots else ():
            self.circle(x, y, dots, colour, opacity)

    def circle(self, x, y, r, colour, opacity=1.0):
        self.parts.append(
            f'<circle cx="{_n(x)}" cy="{_n(y)}" r="{r}" fill="{colour}" fill-opacity="{opacity}"/>'
        )

    def rect(self, x, y, w, h, fill="none", stroke=None):
        edge = f' stroke="{stroke}"' if stroke else ""
        self.parts.append(
            f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}" fill="{fill}"{edge}/>'
        )

    def image(self, x, y, w, h, png: bytes):
        data = base64.b64encode(png).decode()
        self.parts.append(
            f'<image x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}" '
            f'preserveAspectRatio="none" style="image-rendering:pixelated" '
            f'href="data:image/png;base64,{data}"/>'
        )

    def save(self, path: Path) -> Path:
        head = (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(self.width)}" '
            f'height="{_n(self.height)}" viewBox="0 0 {_n(self.width)} {_n(self.height)}" '
            'font-family="DejaVu Sans, Arial, sans-serif">\n'
            f'<rect width="100%" height="100%" fill="white"/>\n'
        )
        Path(path).write_text(head + "\n".join(self.parts) + "\n</svg>\n", encoding="utf-8")
        return Path(path)


def ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About `count` round values spanning [low, high] (1, 2, 2.5 or 5 times a power of 10)."""
    if not high > low:
        return [low]
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9) * step
    return [round(first + i * step, 12) for i in range(int((high - first) / step + 1e-9) + 1)]


def label(v: float) -> str:
    return f"{v:.4g}" if abs(v) >= 1e-3 or v == 0 else f"{v:.0e}"


class Axes:
    """A panel of `canvas` at (x, y), w x h pixels, for data in `xlim` and `ylim` (x on a log
    scale: `log`; x as categories: `categories`), with its frame, grid and tick labels."""

    def __init__(
        self,
        canvas: Canvas,
        box: Sequence[float],
        xlim,
        ylim,
        log=False,
        categories: Sequence[str] = (),
    ):
        self.c, (self.x, self.y, self.w, self.h) = canvas, box
        self.log, self.categories = log, list(categories)
        self.xlim = (math.log10(xlim[0]), math.log10(xlim[1])) if log else xlim
        self.xlim, self.ylim = _padded(*self.xlim), _padded(*ylim)
        if self.categories:  # half a step beside the first and the last
            self.xlim = (-0.5, len(self.categories) - 0.5)
        for v in ticks(*self.ylim):
            self.c.line(self.x, self.py(v), self.x + self.w, self.py(v), "#b0b0b0", 0.8, 0.5)
            self.c.text(self.x - 5, self.py(v) + 4, label(v), 10, "end")
        for v, text in self._xticks():
            px = self.x + (v - self.xlim[0]) / (self.xlim[1] - self.xlim[0]) * self.w
            self.c.line(px, self.y, px, self.y + self.h, "#b0b0b0", 0.8, 0.5)
            self.c.text(px, self.y + self.h + 14, text, 10)
        self.c.rect(self.x, self.y, self.w, self.h, stroke="#222")

    def _xticks(self) -> list[tuple[float, str]]:
        if self.categories:
            return [(i, name) for i, name in enumerate(self.categories)]
        if self.log:
            low, high = math.floor(self.xlim[0]), math.ceil(self.xlim[1])
            return [(p, f"1e{p}") for p in range(low, high + 1) if _inside(p, self.xlim)]
        return [(v, label(v)) for v in ticks(*self.xlim)]

    def px(self, v: float) -> float:
        v = math.log10(v) if self.log else v
        return self.x + (v - self.xlim[0]) / (self.xlim[1] - self.xlim[0]) * self.w

    def py(self, v: float) -> float:
        return self.y + self.h - (v - self.ylim[0]) / (self.ylim[1] - self.ylim[0]) * self.h

    def titles(self, title: str = "", xlabel: str = "", ylabel: str = "") -> None:
        if title:
            self.c.text(self.x + self.w / 2, self.y - 8, title, 12)
        if xlabel:
            self.c.text(self.x + self.w / 2, self.y + self.h + 32, xlabel, 11)
        if ylabel:
            mid = self.y + self.h / 2
            self.c.text(self.x - 44, mid, ylabel, 11, rotate=-90)


def _padded(low: float, high: float) -> tuple[float, float]:
    """matplotlib's 5% margins; a single value gets a unit's width."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return (0.0, 1.0)
    if high <= low:
        return (low - 0.5, high + 0.5)
    pad = (high - low) * 0.05
    return (low - pad, high + pad)


def _inside(v: float, lim: tuple[float, float]) -> bool:
    return lim[0] - 1e-9 <= v <= lim[1] + 1e-9
