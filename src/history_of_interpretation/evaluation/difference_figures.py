"""Drawings of `statistics.Comparison`: Demšar's critical-difference diagram and the paired differences to the best.

Each function draws into `ax` when given (to compose several metrics in one figure) or into a
new matplotlib Figure that pyplot does not track, and returns the Figure. Baselines (the
caller's set of names) are drawn grey; other units in `colours[unit]`, else black.
"""

from __future__ import annotations

import numpy as np
import scikit_posthocs
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .statistics import Comparison

BASELINE_COLOUR = "0.6"
UNIT_COLOUR = "black"


def unit_colours(units, baselines=(), colours=None) -> dict[str, str]:
    """{unit: colour}: grey for baselines, else the caller's colour, else black."""
    colours = colours or {}
    return {u: BASELINE_COLOUR if u in set(baselines) else colours.get(u, UNIT_COLOUR) for u in units}


LABEL_ROOM = 0.4  # the axes' width beyond each end of the rank axis, as a share of its length


def _axes(ax, width: float, height: float):
    if ax is not None:
        return ax
    return Figure(figsize=(width, height), layout="constrained").add_subplot()


def critical_difference_figure(comparison: Comparison, baselines=(), colours=None, ax=None) -> Figure:
    """Units on the average-rank axis (1 = best), bars joining the groups Nemenyi cannot tell apart, CD above.

    Drawn by scikit-posthocs' `critical_difference_diagram` from the comparison's Nemenyi p-values,
    so its bars are the comparison's `groups`.
    """
    c = comparison
    ax = _axes(ax, 8, 1.6 + 0.22 * (len(c.units) + 1) / 2 + 0.25 * len(c.groups))
    scikit_posthocs.critical_difference_diagram(
        c.average_ranks,
        c.nemenyi_p,
        alpha=c.alpha,
        ax=ax,
        label_fmt_left="{label} ({rank:.2f})",
        label_fmt_right="({rank:.2f}) {label}",
        label_props={"fontsize": 8},
        color_palette=unit_colours(c.units, baselines, colours),
    )
    ax.tick_params(labelsize=8)
    # scikit-posthocs writes the unit names just beyond the rank axis' ends, outside the axes, where the
    # figure's edge cuts them: widen the axes around the ranks to hold them.
    low, high = ax.get_xlim()
    ax.set_xlim(low - LABEL_ROOM * (high - low), high + LABEL_ROOM * (high - low))
    ax.set_xticks([tick for tick in ax.get_xticks() if low <= tick <= high])  # ranks only where ranks are
    # The CD bar above the rank labels (scikit-posthocs draws it on them), from the best average rank.
    start = min(c.average_ranks.values())
    ax.plot([start, start + c.critical_difference], [1.6, 1.6], color=UNIT_COLOUR, linewidth=2)
    ax.text(start + c.critical_difference / 2, 1.8, f"CD = {c.critical_difference:.2f}", ha="center", fontsize=8)
    ax.set_ylim(top=2.4)
    friedman = f"Friedman p = {c.friedman_p:.2g}" if np.isfinite(c.friedman_p) else "2 units: no Friedman test"
    ax.set_title(
        f"{c.metric} ({'higher' if c.higher_is_better else 'lower'} is better): {len(c.cases)} cases, "
        f"{friedman}, Nemenyi CD = {c.critical_difference:.2f} (α = {c.alpha:g})\naverage rank (1 = best); "
        "a bar joins units that cannot be told apart",
        fontsize=9,
    )
    return ax.figure


def difference_figure(comparison: Comparison, baselines=(), colours=None, ax=None) -> Figure:
    """Each unit's mean difference to the best (unit - best) with its Holm-level paired bootstrap interval.

    Filled markers: significantly worse than the best; hollow: tied with it. The best sits on the
    dashed line at 0.
    """
    c = comparison
    palette = unit_colours(c.units, baselines, colours)
    worst_first = c.higher_is_better  # the best at the top, the worst at the bottom
    ordered = sorted(c.differences.values(), key=lambda d: d.mean, reverse=not worst_first)
    ax = _axes(ax, 6, 1.0 + 0.25 * len(c.units))
    ax.axvline(0, color=palette[c.best], linestyle="--", linewidth=1)
    for y, d in enumerate(ordered):
        colour = palette[d.unit]
        ax.plot([d.low, d.high], [y, y], color=colour, linewidth=1.5)
        ax.plot(d.mean, y, "o", color=colour, markerfacecolor=colour if d.worse else "white", markersize=5)
    ax.plot(0, len(ordered), "D", color=palette[c.best], markersize=5)
    ax.set_yticks(range(len(ordered) + 1), [d.unit for d in ordered] + [f"{c.best} (best)"], fontsize=8)
    for label in ax.get_yticklabels():
        label.set_color(palette[label.get_text().removesuffix(" (best)")])
    ax.set_xlabel(
        f"{c.metric}: mean of (unit - {c.best}) over {len(c.cases)} cases "
        f"({'higher' if c.higher_is_better else 'lower'} is better)",
        fontsize=8,
    )
    ax.tick_params(axis="x", labelsize=8)
    ax.legend(
        handles=[
            Line2D([], [], marker="o", color=UNIT_COLOUR, linestyle="-", label="worse than the best"),
            Line2D([], [], marker="o", color=UNIT_COLOUR, markerfacecolor="white", label="tied with the best"),
        ],
        fontsize=7,
        loc="best",
        title=f"paired bootstrap, Holm (α = {c.alpha:g})",
        title_fontsize=7,
    )
    ax.set_title(f"{c.metric}: difference to the best", fontsize=9)
    return ax.figure
