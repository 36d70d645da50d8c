"""Cost tables: one row per result, or averaged per method; rendered as Markdown in Jupyter."""

from __future__ import annotations

import numpy as np
from toy_models import toy_result

from history_of_interpretation.tables import cost_table


def test_cost_table_per_result_and_averaged_per_method():
    one = toy_result(np.ones((4, 4)), "grad_cam", passes=1, seconds=0.5)
    other = toy_result(np.ones((4, 4)), "grad_cam", passes=3, seconds=1.5)
    costly = toy_result(np.ones((4, 4)), "loo_grid", passes=9, seconds=2.0)
    assert cost_table([one]).splitlines()[:3] == [
        "| method | class | passes | seconds |",
        "|---|---|---:|---:|",
        f"| grad_cam | {one.label} | 1 | 0.50 |",
    ]
    assert cost_table([one, other, costly], by_method=True).splitlines()[2:] == [
        "| grad_cam | 2 | 1.00 |",
        "| loo_grid | 9 | 2.00 |",
    ]


def test_cost_table_names_the_image_of_each_row_when_given_results_by_image():
    cat = toy_result(np.ones((4, 4)), "grad_cam", passes=1, seconds=0.5)
    cup = toy_result(np.ones((4, 4)), "grad_cam", passes=3, seconds=1.5)
    table = cost_table({"chelsea": [cat], "chelsea | coffee": [cup]}).splitlines()
    assert table[0] == "| image | method | class | passes | seconds |"
    assert table[2:] == [
        f"| chelsea | grad_cam | {cat.label} | 1 | 0.50 |",
        f"| chelsea \\| coffee | grad_cam | {cup.label} | 3 | 1.50 |",  # escaped: still five cells
    ]
    assert cost_table({"a": [cat], "b": [cup]}, by_method=True).splitlines()[::2] == [
        "| method | images | passes (mean) | seconds (mean) |",
        "| grad_cam | 2 | 2 | 1.00 |",
    ]


def test_cost_table_renders_as_markdown_in_jupyter():
    table = cost_table([toy_result(np.ones((4, 4)))])
    assert table._repr_markdown_() == str(table) and str(table).startswith("| method | class |")
