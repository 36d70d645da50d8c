"""Drawing: the path figure, each method drawn as declared, the comparison grid."""

from __future__ import annotations

import numpy as np
from toy_models import toy_result

from history_of_interpretation import visualisation as vis


def test_path_figure_draws_the_path_above_the_map_panels():
    path = [np.full((8, 8, 3), value, np.float32) for value in (-20.0, 100.0, 300.0)]
    figure, map_axes = vis.path_figure(path, ["a", "b", "c"], "a path", panels=2)
    path_axes = [ax for ax in figure.get_axes() if ax not in map_axes]
    assert len(map_axes) == 2 and [ax.get_title() for ax in path_axes] == ["a", "b", "c"]
    shown = [ax.get_images()[0].get_array() for ax in path_axes]
    assert [int(image.min()) for image in shown] == [0, 100, 255]  # clipped to pixel values
    vis.plt.close(figure)


def test_show_result_draws_each_method_as_declared():
    photo = np.zeros((4, 4, 3), np.uint8)
    result = toy_result(np.arange(16).reshape(4, 4), "grad_cam")
    figure, axes = vis.figure_grid(1, 1)
    vis.show_result(axes[0, 0], result, image=photo, colorbar=False)
    assert [image.get_cmap().name for image in axes[0, 0].get_images()][-1] == "jet"  # grad_cam: "heat"
    vis.plt.close(figure)


def test_comparison_figure_has_a_row_per_photo_and_a_column_per_method():
    photos = {"a": np.zeros((4, 4, 3), np.uint8), "b": np.zeros((4, 4, 3), np.uint8)}
    methods = ["grad_cam", "vanilla_gradient"]
    results = {
        (name, method): toy_result(np.ones((4, 4)), method, seconds=1.25) for name in photos for method in methods
    }
    figure = vis.comparison_figure(photos, results, methods)
    axes = figure.get_axes()
    assert [ax.get_title() for ax in axes] == ["tabby (50%)", "grad cam", "vanilla gradient", "tabby (50%)", "", ""]
    seconds = [ax.xaxis.label for ax in axes if ax.get_xlabel()]
    assert [label.get_text() for label in seconds] == ["1.25 s"] * 4
    assert all(label.get_gid() == vis.VOLATILE for label in seconds)  # seconds never count as a changed figure
    vis.plt.close(figure)


def test_a_chaotic_methods_map_and_title_are_marked_volatile():
    figure, axes = vis.plt.subplots(1, 2)
    calm, chaotic = (
        toy_result(np.arange(16).reshape(4, 4), "grad_cam"),
        toy_result(np.arange(16).reshape(4, 4), "guided_ig"),
    )
    chaotic.chaotic = True
    vis.show_result(axes[0], calm, image=np.zeros((4, 4, 3), np.uint8), title="calm")
    vis.show_result(axes[1], chaotic, title="chaotic")
    assert axes[0].images[-1].get_gid() is None and axes[0].title.get_gid() is None
    assert axes[1].images[-1].get_gid() == vis.VOLATILE and axes[1].title.get_gid() == vis.VOLATILE
    vis.plt.close(figure)


def test_relative_heat_stretches_a_map_on_a_floor_where_heat_does_not():
    on_a_floor = np.array([[10.0, 10.0], [10.0, 11.0]], np.float32)
    np.testing.assert_allclose(vis.as_heat(on_a_floor), on_a_floor / 11.0)
    np.testing.assert_allclose(vis.as_heat(on_a_floor, from_minimum=True), [[0, 0], [0, 1]])


def test_every_declared_display_is_a_style_show_map_draws():
    from history_of_interpretation.methods import SPECS

    photo = np.zeros((4, 4, 3), np.uint8)
    figure, axes = vis.figure_grid(1, 1)
    for spec in SPECS.values():
        vis.show_map(axes[0, 0], np.arange(16, dtype=np.float32).reshape(4, 4), spec.display, image=photo)
    vis.plt.close(figure)
