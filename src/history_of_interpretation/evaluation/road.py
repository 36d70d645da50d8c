"""ROAD: remove pixels by noisy linear imputation, most or least relevant first (Rong, Leemann, Borisov, Kasneci &
Kasneci, ICML 2022), and the symmetric relevance gain SRG (Blücher, Vielhaben & Strodthoff, TMLR 2024).

Removing a pixel by painting it (black, grey, blurred) leaves its shape in
the image, and the model reads the shape: the class leaks through the
mask. ROAD fills each removed pixel with the weighted mean of its eight
neighbours, all removed pixels solved together as one sparse linear system
with the kept pixels fixed, plus Gaussian noise, as the authors' code does
(github.com/tleemann/road_evaluation, `road/imputations.py`,
`NoisyLinearImputer(noise=0.01)`): neighbour weights 1/6 (edges) and 1/12
(corners), renormalised at the image border; the noise's standard deviation
0.01 of the pixel range, added to the filled pixels; the image in [0, 1]
pixel values, before the model's preprocessing. Their removal percentages
are those of their experiments (`noretrain_params.json`): 10, 20, 30, 40,
50, 70 and 90%; at each, the score is the target's probability (their
`road_eval`'s probability of the class the explanation was made for).

MoRF removes the most relevant int(H W p) pixels, LeRF the least relevant
int(H W p): both curves are read against the share removed. (The authors'
LeRF keeps the int(H W p) most relevant, i.e. removes 1 - p: the same
curves read from the other end, a pixel apart.) Each curve starts at 0%
with the photo's own probability (no pass: the context's forward pass).
The areas are the trapezoid rule over those fractions; SRG = LeRF area -
MoRF area: a map that puts relevant pixels first loses the class fast under
MoRF and keeps it under LeRF, while a map whose shape alone fools the
imputation moves both curves alike and gains nothing.

Speed: the system (up to 45,000 unknowns at 224 px) is solved by SuperLU
(scipy's `spsolve`, one factorisation for the three colour channels), built
in a few vectorised passes instead of the reference's per-offset `lil_matrix`.
The noise is seeded: the same draw for every map at a given order and
percentage (common random numbers, so maps differ by their order only).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sparse
from scipy.sparse.linalg import spsolve
from threadpoolctl import threadpool_limits

from .pixel_order import batched_probabilities, checked_maps, photo_probability, pixel_ranks

PERCENTAGES = (0.1, 0.2, 0.3, 0.4, 0.5, 0.7, 0.9)  # the authors' experiments (noretrain_params.json)
NOISE = 0.01  # NoisyLinearImputer(noise=0.01): standard deviation, pixel values in [0, 1]
# (row offset, column offset) -> weight, as the authors' neighbors_weights.
NEIGHBOUR_WEIGHTS = (
    ((1, 1), 1 / 12),
    ((0, 1), 1 / 6),
    ((-1, 1), 1 / 12),
    ((1, -1), 1 / 12),
    ((0, -1), 1 / 6),
    ((-1, -1), 1 / 12),
    ((1, 0), 1 / 6),
    ((-1, 0), 1 / 6),
)
ORDERS = ("morf", "lerf")


@dataclass(frozen=True)
class RoadCurves:
    """ROAD's two curves of one map: the target's probability against the share of pixels removed."""

    fractions: np.ndarray  # 0 (the photo), then the removal percentages
    morf: np.ndarray  # most relevant first
    lerf: np.ndarray  # least relevant first

    @property
    def morf_area(self) -> float:
        """Area under the MoRF curve (trapezoid rule over `fractions`): lower is better."""
        return float(np.trapezoid(self.morf, self.fractions))

    @property
    def lerf_area(self) -> float:
        """Area under the LeRF curve: higher is better."""
        return float(np.trapezoid(self.lerf, self.fractions))

    @property
    def srg(self) -> float:
        """Symmetric relevance gain (Blücher et al. 2024): LeRF area - MoRF area; higher is better."""
        return self.lerf_area - self.morf_area

    @property
    def morf_mean(self) -> float:
        """Mean probability over the removal percentages (the photo's point left out), MoRF."""
        return float(np.mean(self.morf[1:]))

    @property
    def lerf_mean(self) -> float:
        """Mean probability over the removal percentages, LeRF."""
        return float(np.mean(self.lerf[1:]))


def linear_imputation(image: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """ROAD's linear imputation, noise-free: each missing pixel the weighted mean of its in-image neighbours.

    `image`: HxWxC float; `missing`: HxW bool. All missing pixels are solved
    together (kept ones fixed): for each, sum of w_j (x_j - x_i) over its
    neighbours j inside the image = 0, with NEIGHBOUR_WEIGHTS.
    """
    height, width = missing.shape
    flat = np.asarray(image, dtype=np.float64).reshape(height * width, -1)
    unknown = np.flatnonzero(missing.ravel())
    filled = flat.copy()
    if unknown.size == 0:
        return filled.reshape(np.shape(image))
    if unknown.size == height * width:
        raise ValueError("every pixel is missing: linear imputation needs at least one kept pixel")
    variable = np.full(height * width, -1)
    variable[unknown] = np.arange(unknown.size)
    rows, columns = np.divmod(unknown, width)
    weight_sums = np.zeros(unknown.size)
    right_side = np.zeros((unknown.size, flat.shape[1]))
    entries = []  # (equation, variable, weight) of unknown neighbours
    for (row_offset, column_offset), weight in NEIGHBOUR_WEIGHTS:
        r, c = rows + row_offset, columns + column_offset
        inside = (r >= 0) & (r < height) & (c >= 0) & (c < width)
        equations, neighbours = np.flatnonzero(inside), r[inside] * width + c[inside]
        weight_sums[equations] += weight
        is_unknown = variable[neighbours] >= 0
        entries.append((equations[is_unknown], variable[neighbours[is_unknown]], np.full(is_unknown.sum(), weight)))
        right_side[equations[~is_unknown]] -= weight * flat[neighbours[~is_unknown]]
    diagonal = np.arange(unknown.size)
    equations, variables, weights = (np.concatenate(parts) for parts in zip(*entries))
    system = sparse.csc_matrix(
        (
            np.concatenate([weights, -weight_sums]),
            (np.concatenate([equations, diagonal]), np.concatenate([variables, diagonal])),
        ),
        shape=(unknown.size, unknown.size),
    )
    with threadpool_limits(limits=1, user_api="blas"):  # BLAS threads only slow these small dense kernels down
        solution = spsolve(system, right_side)
    filled[unknown] = solution.reshape(unknown.size, -1)
    return filled.reshape(np.shape(image))


def noise_field(shape: tuple[int, ...], seed: int, order: str, index: int) -> np.ndarray:
    """The standard normal draw for one order and percentage (index), the same for every map of a photo."""
    return np.random.default_rng([seed, ORDERS.index(order), index]).standard_normal(shape)


def road_curves(
    context, importance_maps: dict[str, np.ndarray], percentages=PERCENTAGES, noise: float = NOISE, seed: int = 0
) -> dict[str, RoadCurves]:
    """ROAD's MoRF and LeRF curves (and so SRG) for several maps of one photo: {map: RoadCurves}.

    `percentages`: shares of pixels removed, ascending, in (0, 1).
    `noise`: the imputation noise's standard deviation in [0, 1] pixel
    values. `seed`: the noise and the pixel order's tie-breaker. Costs
    2 x len(percentages) forward passes per map, counted in the context.
    """
    percentages = [float(p) for p in percentages]
    if not percentages or percentages != sorted(set(percentages)) or not all(0 < p < 1 for p in percentages):
        raise ValueError(f"percentages must be ascending shares removed, strictly between 0 and 1, not {percentages}")
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a standard deviation, 0 or more, not {noise}")
    photo = context.image.astype(np.float64) / 255.0
    maps = checked_maps(importance_maps, photo.shape[:2])
    pixels = photo.shape[0] * photo.shape[1]
    counts = [int(pixels * p) for p in percentages]  # the authors' int(width * height * th_p)
    ranks = {name: pixel_ranks(values, seed) for name, values in maps.items()}
    draws = {}

    def imputed(name, order, index):
        def make():
            removed = ranks[name] < counts[index] if order == "morf" else ranks[name] >= pixels - counts[index]
            filled = linear_imputation(photo, removed)
            if noise:
                if (order, index) not in draws:
                    draws[order, index] = noise_field(photo.shape, seed, order, index)
                filled[removed] += noise * draws[order, index][removed]
            return context.bundle.preprocess(filled * 255.0)

        return make

    points = [(name, order, index) for name in maps for order in ORDERS for index in range(len(counts))]
    probabilities = batched_probabilities(context, (imputed(*point) for point in points), len(points))
    probabilities = probabilities.reshape(len(maps), len(ORDERS), len(counts)).astype(np.float64)
    photo_point, fractions = photo_probability(context), np.array([0.0, *percentages])
    return {
        name: RoadCurves(fractions, *(np.concatenate([[photo_point], curve]) for curve in curves))
        for name, curves in zip(maps, probabilities)
    }
