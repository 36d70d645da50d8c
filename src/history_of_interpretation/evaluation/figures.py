"""Chapter 12's figures (and `make evaluate`'s plot): randomisation, deletion/insertion, ranking."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from .. import visualisation as vis
from .ranking import HIGHER_IS_BETTER, ranks
from .removal import curve_fractions

SIMILARITIES = (
    ("spearman_abs", "Spearman, |map|"),
    ("spearman_signed", "Spearman, signed map"),
    ("ssim", "SSIM, |map|"),
)


def randomisation_grid(image, maps: dict[str, list[np.ndarray]], steps: list[str], styles: dict[str, str]):
    """Rows: methods; columns: the trained model, then each cascading randomisation step."""
    figure, axes = vis.figure_grid(len(maps), len(steps) + 1, panel_size=1.6)
    for row, (method, row_maps) in enumerate(maps.items()):
        for column, attribution in enumerate(row_maps):
            title = (["trained", *[f"→ {s}" for s in steps]][column]) if row == 0 else None
            vis.show_map(axes[row, column], attribution, styles[method], image=image, title=title, colorbar=False)
        axes[row, 0].set_ylabel(method.replace("_", " "), fontsize=8)
    figure.suptitle("Cascading randomisation, from the logits down (Adebayo et al. 2018)")
    return figure


def randomisation_curves(
    cascade_means: dict[str, dict[str, list[float]]],
    cascade_steps: list[str],
    independent_means: dict[str, dict[str, list[float]]],
    independent_steps: list[str],
):
    """Similarity to the trained map against randomisation depth, per method (mean over photos)."""
    figure, axes = plt.subplots(1, 4, figsize=(17, 4.2), layout="constrained")
    panels = [
        (axes[i], key, f"cascading: {label}", cascade_means, cascade_steps)
        for i, (key, label) in enumerate(SIMILARITIES)
    ]
    panels.append(
        (axes[3], "spearman_abs", "one group at a time: Spearman, |map|", independent_means, independent_steps)
    )
    for ax, key, title, means, steps in panels:
        for method, values in means.items():
            ax.plot(
                range(len(steps)),
                values[key],
                marker="o",
                ms=3,
                label=method.replace("_", " "),
                color="black" if method == "edge_detector" else None,
                linestyle="--" if method == "edge_detector" else "-",
            )
        ax.set_xticks(range(len(steps)), steps, rotation=60, fontsize=7)
        ax.set_ylim(-0.7, 1.05)
        ax.axhline(0, color="gray", lw=0.5)
        ax.set_title(title, fontsize=9)
    axes[0].set_ylabel("similarity to the trained model's map")
    axes[3].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return figure


def deletion_insertion_figure(curves: dict[str, dict], methods: list[str], removal_effect: dict[str, dict]):
    """Deletion (black, blurred) and insertion curves on one photo; then the removal's effect on AUC.

    `curves`: map name -> curve kind -> probabilities. `removal_effect`: name
    -> {"black": mean AUC, "blurred": mean AUC} over the photos.
    """
    figure, axes = plt.subplots(1, 4, figsize=(17, 4.2), layout="constrained")
    kinds = (
        ("deletion_black", "deletion to black (Petsiuk)"),
        ("deletion_blurred", "deletion to the blurred photo"),
        ("insertion", "insertion from the blurred photo"),
    )
    for ax, (kind, title) in zip(axes, kinds):
        for name in [*methods, "random"]:
            fractions = curve_fractions(len(curves[name][kind]) - 1)
            ax.plot(
                fractions,
                curves[name][kind],
                label=name.replace("_", " "),
                color="black" if name == "random" else None,
                linestyle="--" if name == "random" else "-",
            )
        ax.set_xlabel("fraction of pixels " + ("inserted" if kind == "insertion" else "removed"))
        ax.set_title(title, fontsize=9)
    axes[0].set_ylabel("probability of the class")
    names = list(removal_effect)
    positions = np.arange(len(names))
    axes[3].barh(positions - 0.2, [removal_effect[n]["black"] for n in names], 0.4, label="to black")
    axes[3].barh(positions + 0.2, [removal_effect[n]["blurred"] for n in names], 0.4, label="to blurred")
    axes[3].set_yticks(positions, [n.replace("_", " ") for n in names], fontsize=7)
    axes[3].invert_yaxis()
    axes[3].set_xlabel("deletion AUC, mean over photos (lower is better)")
    axes[3].legend(fontsize=7)
    axes[2].legend(fontsize=7, loc="lower right")
    return figure


def ranking_figure(table: dict):
    """One panel per metric: each method's mean and bootstrap 95% interval, best at the top."""
    metrics = list(table)
    columns = min(4, len(metrics))
    rows = -(-len(metrics) // columns)
    figure, axes = plt.subplots(
        rows,
        columns,
        figsize=(4.6 * columns, 0.2 * max(len(t) for t in table.values()) * rows + 1.5),
        squeeze=False,
        layout="constrained",
    )
    for ax, metric in zip(axes.ravel(), metrics):
        order = sorted(ranks(table[metric], metric).items(), key=lambda item: item[1])
        names = [name for name, _ in order]
        estimates = [table[metric][name] for name in names]
        y = np.arange(len(names))
        means = np.array([e.mean for e in estimates])
        errors = np.array([[e.mean - e.low for e in estimates], [e.high - e.mean for e in estimates]])
        colours = ["gray" if _is_baseline(name) else "tab:blue" for name in names]
        ax.errorbar(means, y, xerr=errors, fmt="none", ecolor="lightgray")
        ax.scatter(means, y, c=colours, s=12, zorder=3)
        ax.set_yticks(y, [n.replace("_", " ") for n in names], fontsize=6)
        ax.invert_yaxis()
        ax.set_title(f"{metric} ({'higher' if HIGHER_IS_BETTER.get(metric, True) else 'lower'} is better)", fontsize=9)
    for ax in axes.ravel()[len(metrics) :]:
        ax.axis("off")
    return figure


def _is_baseline(name: str) -> bool:
    return name.startswith("random") or name.endswith(("_reversed", "_random")) or name == "edge_detector"


def save_ranking_figure(table: dict, path: str | Path) -> Path:
    """The ranking figure, saved atomically (make evaluate's OUT/ranking.png)."""
    figure = ranking_figure(table)
    try:
        return vis.save_figure(figure, path)
    finally:
        plt.close(figure)
