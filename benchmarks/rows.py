"""The rows of the benchmark: every declared method at its defaults, plus a few named variants."""

from __future__ import annotations

from dataclasses import dataclass, field

from history_of_interpretation.methods import METHODS, SPECS, MethodSpec


@dataclass(frozen=True)
class Row:
    """One line of the table: a method with parameters over its defaults."""

    key: str  # what --methods selects
    method: str
    overrides: dict = field(default_factory=dict)
    label: str = ""  # the name in the table, by default the method's
    reference: str = ""  # why the row is timed only for comparison, held to no goal ("": an ordinary row)

    @property
    def name(self) -> str:
        """The row's name in the tables."""
        return self.label or self.method

    @property
    def spec(self) -> MethodSpec:
        """The declaration of the row's method."""
        return SPECS[self.method]

    @property
    def params(self) -> dict:
        """The full settings: the method's defaults with the overrides."""
        return {**self.spec.defaults, **self.overrides}


# Rows beyond each method at its defaults, listed after their method: the 14x14
# grid is the one chapter 2 uses (the default 3x3 grid is trivially cheap);
# Guided IG's left sum is saliency.core's own map, the one PAIR can be timed against.
EXTRA_ROWS = (
    Row("loo_grid_14", "loo_grid", {"grid": 14}, "loo_grid (14x14)"),
    Row(
        "guided_ig_pair",
        "guided_ig",
        {"rule": "pair"},
        "guided_ig (PAIR's sum)",
        reference="saliency.core's walk alone: one image per call by design, so neither batching goal applies",
    ),
)


def all_rows(methods=METHODS, extra_rows=EXTRA_ROWS) -> tuple[Row, ...]:
    """Each method at its defaults, in METHODS' order, each followed by its extra rows."""
    return tuple(
        row
        for method in methods
        for row in (Row(method, method), *(extra for extra in extra_rows if extra.method == method))
    )


ROWS = all_rows()
ROWS_BY_KEY = {row.key: row for row in ROWS}
