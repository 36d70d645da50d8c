"""Chapter 12's figures (and `make evaluate`'s): randomisation, removal curves, the ranking.

Every unit keeps one colour and line style in every figure (`unit_styles`):
a method by its place in the registry, its references and the shared
baselines in greys, so that a reader can follow a method from panel to panel.
"""

from __future__ import annotations

from itertools import cycle

import matplotlib.pyplot as plt
import numpy as np

from .. import visualisation as vis
from ..methods import METHODS, SPECS
from .difference_figures import critical_difference_figure
from .units import method_of, split_map_name

# 15 methods or more: tab20's twenty colours, in pairs of a dark and a light tone; each method its own.
_COLOURS = plt.get_cmap("tab20")(np.arange(20))
_BASELINE_STYLES = {"random": ("0.45", ":"), "random_layer": ("0.6", ":"), "edge_detector": ("black", "--")}


def unit_styles(names) -> dict[str, tuple]:
    """{map name: (colour, line style)}: a method's colour from its place among METHODS, whatever the
    figure shows; a method's references dotted in its colour; shared baselines in greys."""
    order = {method: index for index, method in enumerate(METHODS)}
    styles = {}
    for name in names:
        unit, reference = split_map_name(name)
        method = method_of(unit)
        if method is None:
            styles[name] = _BASELINE_STYLES.get(unit, ("0.3", "-."))
        else:
            colour = _COLOURS[(2 * order[method]) % 20 + (2 * order[method]) // 20 % 2]
            styles[name] = (colour, ":" if reference else "-")
    return styles


def randomisation_grid(image, maps: dict[str, list[np.ndarray]], depths: list[str], styles: dict[str, str]):
    """Rows: units; columns: the trained model, then each cascading randomisation step. The maps of a
    method declared chaotic are marked volatile, as everywhere (`visualisation.show_map`)."""
    figure, axes = vis.figure_grid(len(maps), len(depths) + 1, panel_size=1.6)
    for row, (unit, row_maps) in enumerate(maps.items()):
        method = method_of(unit)
        chaotic = method is not None and SPECS[method].chaotic
        for column, attribution in enumerate(row_maps):
            title = (["trained", *[f"→ {depth}" for depth in depths]][column]) if row == 0 else None
            vis.show_map(
                axes[row, column], attribution, styles[unit], image=image, title=title, colorbar=False, chaotic=chaotic
            )
        axes[row, 0].set_ylabel(unit.replace("_", " "), fontsize=7)
    figure.suptitle("Cascading randomisation, from the logits down (Adebayo et al. 2018)")
    return figure


def randomisation_curves(similarities: dict, ceilings: dict, depths: list[str], keys_titles):
    """Similarity to the trained map against depth, per unit (mean over photos), its seed ceiling at the left.

    `similarities[unit][key]`: a value per depth; `ceilings[unit][key]`: the
    similarity of two seeds on the trained model (1 without a seed);
    `keys_titles`: (key, panel title) for each panel.
    """
    styles = unit_styles(similarities)
    figure, axes = plt.subplots(1, len(keys_titles), figsize=(5.2 * len(keys_titles), 4.4), layout="constrained")
    for ax, (key, title) in zip(np.atleast_1d(axes), keys_titles):
        for unit, values in similarities.items():
            if key not in values:
                continue
            colour, style = styles[unit]
            ax.plot(range(1, len(depths) + 1), values[key], marker="o", ms=3, color=colour, ls=style, label=unit)
            ax.plot([0], [ceilings[unit][key]], marker="s", ms=4, color=colour)
        ax.set_xticks(range(len(depths) + 1), ["seeds", *depths], rotation=60, fontsize=7)
        ax.set_ylim(-0.5, 1.05)
        ax.axhline(0, color="gray", lw=0.5)
        ax.set_title(title, fontsize=9)
    np.atleast_1d(axes)[0].set_ylabel("similarity to the trained model's map (square: two seeds)")
    np.atleast_1d(axes)[-1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return figure


def removal_figure(petsiuk: dict, road: dict, removal_effect: dict):
    """On one photo: Petsiuk's deletion and insertion curves and ROAD's two orders, per map; then, over the
    photos, deletion's area by what removed pixels become (`removal_effect[name][fill]`)."""
    figure, axes = plt.subplots(1, 5, figsize=(23, 4.6), layout="constrained")
    styles = unit_styles(petsiuk)
    panels = (
        (axes[0], "deletion (Petsiuk: to the mean colour)", lambda n: _points(petsiuk[n]["deletion"]), "removed"),
        (axes[1], "insertion (Petsiuk: from his blur)", lambda n: _points(petsiuk[n]["insertion"]), "inserted"),
        (axes[2], "ROAD, most relevant first", lambda n: (road[n].fractions, road[n].morf), "imputed"),
        (axes[3], "ROAD, least relevant first", lambda n: (road[n].fractions, road[n].lerf), "imputed"),
    )
    for ax, title, curve_of, verb in panels:
        for name in petsiuk:
            fractions, probabilities = curve_of(name)
            colour, style = styles[name]
            ax.plot(fractions, probabilities, color=colour, ls=style, lw=1.2, label=name)
        ax.set_xlabel(f"share of pixels {verb}")
        ax.set_ylim(-0.02, 1.02)  # a probability; autoscaled, one curve's noise would rescale every curve
        ax.set_title(title, fontsize=9)
    axes[0].set_ylabel("probability of the class")
    names = list(removal_effect)
    fills = list(removal_effect[names[0]])  # what removed pixels become, e.g. "mean colour", "black"
    positions, height = np.arange(len(names)), 0.8 / len(fills)
    for index, (fill, hatch) in enumerate(zip(fills, cycle(("", "//", "..")))):
        offset = (index - (len(fills) - 1) / 2) * height
        axes[4].barh(
            positions + offset, [removal_effect[n][fill] for n in names], height, label=f"to {fill}", hatch=hatch
        )
    axes[4].set_yticks(positions, names, fontsize=7)
    axes[4].invert_yaxis()
    axes[4].set_xlabel("deletion area, mean over photos (lower is better)")
    axes[4].legend(fontsize=7)
    axes[3].legend(fontsize=6, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return figure


def _points(curve) -> tuple[np.ndarray, np.ndarray]:
    return curve.fractions, curve.probabilities


def ranking_figure(compared: dict, baselines=()):
    """One critical-difference diagram per metric, stacked, each unit in its own colour."""
    figure, axes = plt.subplots(
        len(compared), 1, figsize=(11, 2.6 * len(compared) + 0.6), squeeze=False, layout="constrained"
    )
    for ax, comparison in zip(axes[:, 0], compared.values()):
        colours = {unit: colour for unit, (colour, _) in unit_styles(comparison.units).items()}
        critical_difference_figure(comparison, baselines=baselines, colours=colours, ax=ax)
    return figure


def grid_cases_figure(cases, results: dict, methods: list[str]):
    """One row per grid case: the grid with its target cell outlined, then each method's map of it and its score.

    `results[(case name, method)]` is the method's AttributionResult for the case's target class.
    """
    from .localisation import grid_pointing_score
    from .units import importance

    figure, axes = vis.figure_grid(len(cases), len(methods) + 1, panel_size=2.6)
    for row, case in enumerate(cases):
        top, left, height, width = case_box(case)
        vis.show_image(axes[row, 0], case.image, title=f"explaining: {case.target_label}")
        for ax in axes[row]:
            ax.add_patch(plt.Rectangle((left - 0.5, top - 0.5), width, height, fill=False, color="white", lw=2))
        for column, method in enumerate(methods, start=1):
            result = results[case.name, method]
            score = grid_pointing_score(importance(result.map, result.display), case.target_mask).value
            title = f"{method.replace('_', ' ')}: {score:.2f}" if row == 0 else f"{score:.2f}"
            vis.show_result(axes[row, column], result, image=case.image, title=title, colorbar=False)
    return figure


def case_box(case) -> tuple[int, int, int, int]:
    """The target cell's (top, left, height, width) in pixels."""
    rows, cols = np.nonzero(case.target_mask)
    return int(rows.min()), int(cols.min()), int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


def pointing_game_figure(rows, comparison, chance: float, baselines=()):
    """Each unit's pointing-game scores over the cases (dots, mean as a bar) beside chance; then the critical
    difference diagram of the same comparison."""
    figure, (scores_ax, ranks_ax) = plt.subplots(
        1, 2, figsize=(18, 0.32 * len(comparison.units) + 2), layout="constrained", width_ratios=[1, 1.3]
    )
    styles = unit_styles(comparison.units)
    by_unit: dict[str, list[float]] = {}
    for row in rows:
        if row["metric"] == comparison.metric:
            by_unit.setdefault(row["method"], []).append(row["value"])
    rng = np.random.default_rng(0)  # the dots' vertical jitter only
    for position, unit in enumerate(comparison.units):
        values = np.asarray(by_unit[unit], dtype=float)
        colour = "0.6" if unit in set(baselines) else styles[unit][0]
        scores_ax.scatter(values, position + rng.uniform(-0.25, 0.25, values.size), s=3, color=colour, alpha=0.35)
        scores_ax.plot([np.nanmean(values)] * 2, [position - 0.4, position + 0.4], color="black", lw=2)
    scores_ax.axvline(chance, color="gray", ls="--", lw=1)
    scores_ax.text(chance, -1, f"chance {chance:.2f}", ha="center", fontsize=8, color="gray")
    scores_ax.set_yticks(range(len(comparison.units)), comparison.units, fontsize=7)
    scores_ax.invert_yaxis()
    scores_ax.set_xlabel("share of positive attribution in the target cell")
    scores_ax.set_title(f"grid pointing game: {len(comparison.cases)} cases (bar: the mean)", fontsize=9)
    colours = {unit: colour for unit, (colour, _) in styles.items()}
    critical_difference_figure(comparison, baselines=baselines, colours=colours, ax=ranks_ax)
    return figure
