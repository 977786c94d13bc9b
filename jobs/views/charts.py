"""The report's charts, drawn by matplotlib as SVG to inline in the page.

Every chart labels its axes and writes its values on the bars, so nothing needs hovering.
Text stays text (`svg.fonttype = none`): small, selectable, read by screen readers, drawn in
the browser's own sans-serif. No pyplot: each chart is its own `Figure`, no global state
beyond the rc settings of one `rc_context`.
"""

from __future__ import annotations

import io
import re
from contextlib import contextmanager
from typing import Iterator, Sequence

import matplotlib

STYLE = {
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica"],
    "font.size": 10,
    "text.parse_math": False,  # a `$` in a label is a dollar, not TeX
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "axes.labelcolor": "#333333",
    "xtick.color": "#333333",
    "ytick.color": "#333333",
    "legend.frameon": False,
    "legend.fontsize": 9,
}
WIDTH_IN = 9.0
_SVG_START = re.compile(r"^.*?(?=<svg\b)", re.S)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)


@contextmanager
def _figure(name: str, height: float) -> Iterator:
    """A figure drawn under the report's style; `svg.hashsalt` keeps clip-path ids stable per chart."""
    matplotlib.use("Agg")  # never a GUI backend, whatever MPLBACKEND says
    from matplotlib.figure import Figure

    with matplotlib.rc_context(STYLE | {"svg.hashsalt": name}):
        yield Figure(figsize=(WIDTH_IN, height), layout="constrained")


def _svg(fig, name: str, label: str) -> str:
    """The figure as an `<svg>` element for inline HTML: no XML prolog, ids prefixed per chart."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    svg = _METADATA.sub("", _SVG_START.sub("", buffer.getvalue(), count=1))
    svg = re.sub(r'\bid="', f'id="{name}-', svg)
    svg = svg.replace("url(#", f"url(#{name}-").replace('xlink:href="#', f'xlink:href="#{name}-')
    from markupsafe import escape

    return svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" class="chart" data-chart="{name}" ', 1)


def _ink(color: str) -> str:
    """Black or white text, whichever reads better on `color`."""
    r, g, b = (int(color[i:i + 2], 16) / 255 for i in (1, 3, 5))
    return "#111111" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.5 else "#ffffff"


def _label_segments(ax, bars, values, color: str, minimum: float, fontsize: float) -> None:
    labels = [f"{v:,}" if v >= minimum and v else "" for v in values]
    ax.bar_label(bars, labels=labels, label_type="center", color=_ink(color), fontsize=fontsize)


def stacked_bars(name: str, title: str, categories: Sequence[str], series: dict[str, Sequence[int]],
                 colors: dict[str, str], *, xlabel: str, ylabel: str, horizontal: bool = False,
                 legend: bool = True, segment_labels: bool = True) -> str:
    """Bars stacked by series, each segment labelled with its count and each bar with its total.

    `categories` are the bars (months, countries); `series` maps a legend entry to one count per bar.
    """
    import numpy as np

    height = 0.38 * len(categories) + 1.1 if horizontal else 3.4
    crowded = not horizontal and len(categories) > 12  # many months: smaller numbers, upright ticks
    fontsize = 7 if crowded else 9
    if crowded and len(categories) > 24:
        segment_labels = False  # segments too thin to hold a number; the totals stay
    with _figure(name, height) as fig:
        ax = fig.subplots()
        bottom = np.zeros(len(categories))
        totals = np.zeros(len(categories))
        for values in series.values():
            totals += np.asarray(values, dtype=float)
        peak = totals.max() if len(totals) else 0
        for label, values in series.items():
            values = np.asarray(values, dtype=float)
            if not values.any():
                continue
            draw = ax.barh if horizontal else ax.bar
            kwargs = {"left": bottom} if horizontal else {"bottom": bottom}
            bars = draw(list(categories), values, 0.62, label=label, color=colors.get(label, "#999999"), **kwargs)
            # a segment gets its number when it is tall enough to hold it; the total is always written
            if segment_labels:
                _label_segments(ax, bars, [int(v) for v in values], colors.get(label, "#999999"),
                                minimum=max(peak * 0.06, 1), fontsize=fontsize)
            bottom = bottom + values
        ends = ax.barh(list(categories), np.zeros(len(categories)), left=totals) if horizontal else \
            ax.bar(list(categories), np.zeros(len(categories)), bottom=totals)
        ax.bar_label(ends, labels=[f"{int(t):,}" if t or not crowded else "" for t in totals], padding=3, fontsize=fontsize, fontweight="bold")
        if crowded:
            ax.tick_params(axis="x", labelrotation=90, labelsize=8)
        ax.set_title(title, loc="left")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if horizontal:
            ax.invert_yaxis()
            ax.set_xlim(0, max(peak, 1) * 1.12)
            ax.xaxis.get_major_locator().set_params(integer=True)
        else:
            ax.set_ylim(0, max(peak, 1) * 1.15)
            ax.yaxis.get_major_locator().set_params(integer=True)
        if legend:
            ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        return _svg(fig, name, title)


def share_area(name: str, title: str, days: Sequence[str], shares: dict[str, Sequence[float]],
               colors: dict[str, str], *, ylabel: str) -> str:
    """Stacked shares (0..1) over days, the latest share of each series written at the right edge."""
    import numpy as np
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, datestr2num
    from matplotlib.ticker import PercentFormatter

    with _figure(name, 3.4) as fig:
        ax = fig.subplots()
        x = [datestr2num(d) for d in days]
        labels = [k for k, v in shares.items() if any(v)]
        stack = np.asarray([shares[k] for k in labels], dtype=float) * 100
        ax.stackplot(x, stack, labels=labels, colors=[colors.get(k, "#999999") for k in labels], alpha=0.9)
        tops = np.cumsum(stack, axis=0)
        for i, label in enumerate(labels):
            last = stack[i, -1]
            if last >= 2:
                ax.annotate(f"{label} {last:.0f}%", (x[-1], tops[i, -1] - last / 2), xytext=(6, 0),
                            textcoords="offset points", va="center", fontsize=9, fontweight="bold",
                            color="#222222", annotation_clip=False)
        locator = AutoDateLocator(maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
        ax.set_ylim(0, 100)
        ax.set_xlim(x[0], x[-1])
        ax.margins(x=0)
        ax.set_title(title, loc="left")
        ax.set_ylabel(ylabel)
        ax.set_xlabel("day measured (UTC)")
        ax.legend(loc="upper left", bbox_to_anchor=(1.12, 1.0), reverse=True)
        return _svg(fig, name, title)
