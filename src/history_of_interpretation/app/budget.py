"""How many passes through the network a request may ask for, and how many it asks for.

Every count has a maximum (methods/rules.py), but fifteen methods at their
maxima would still hold the model for hours. So a request gets a budget of
passes, summed over the methods it chooses; one over budget is refused at
once with a message that names the costliest method and the settings that
lower its cost.

The passes come from each method's own declaration (`MethodSpec.passes`).
Most methods' passes follow from their settings alone; a few depend on what
the method finds, which the declaration reads from the method's extras.
For those the estimate takes the most they can find: every cell of the grid
(leave-one-out), the segments asked for (leave-one-out on superpixels: SLIC
makes about that many), every channel of the Grad-CAM layer (Score-CAM
without top_k).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..methods import SPECS
from ..methods.spec import MethodSpec
from ..models import ModelBundle

DEFAULT_PASS_BUDGET = 8000  # every method at its default settings together (about 6,700 on Lite0) fits


def _channels(bundle: ModelBundle) -> int:
    return int(bundle.model.get_layer(bundle.gradcam_layer).output.shape[-1])


# The largest extras each method whose passes depend on its extras can report (see the docstring).
LARGEST_EXTRAS: Mapping[str, Callable[[dict, ModelBundle], dict]] = {
    "loo_grid": lambda settings, bundle: {"masked_probabilities": range(settings["grid"] ** 2)},
    "loo_superpixels": lambda settings, bundle: {"masked_probabilities": range(settings["segments"])},
    "score_cam": lambda settings, bundle: {"channels": range(settings["top_k"] or _channels(bundle))},
}


def most_passes(method: str, settings: dict, bundle: ModelBundle) -> int:
    """The passes through the network that `method` at checked `settings` takes on `bundle`, at most."""
    extras = LARGEST_EXTRAS[method](settings, bundle) if method in LARGEST_EXTRAS else {}
    return sum(SPECS[method].passes(settings, extras).values())


def cost_levers(spec: MethodSpec, settings: dict, bundle: ModelBundle) -> list[str]:
    """The whole-number settings of a method that lower its passes when lowered ('samples', 'steps')."""
    levers = []
    for parameter, rule in spec.rules.items():
        if rule.kind != "integer" or rule.minimum is None:
            continue
        lowest = {**settings, parameter: int(rule.minimum)}
        if most_passes(spec.name, lowest, bundle) < most_passes(spec.name, settings, bundle):
            levers.append(parameter)
    return levers


def check_budget(settings: Mapping[str, dict], bundle: ModelBundle, budget: int = DEFAULT_PASS_BUDGET) -> int:
    """The passes that `settings` {method: checked settings} take at most; ValueError if over `budget`."""
    passes = {method: most_passes(method, params, bundle) for method, params in settings.items()}
    total = sum(passes.values())
    if total <= budget:
        return total
    costliest = max(passes, key=lambda method: passes[method])
    spec, params = SPECS[costliest], settings[costliest]
    levers = [
        f"{name} (now {'all' if params[name] is None else params[name]})" for name in cost_levers(spec, params, bundle)
    ]
    lower = f"lower its {' or '.join(levers)}" if levers else "leave it out"
    others = " or choose fewer methods" if len(passes) > 1 else ""
    raise ValueError(
        f"this request needs up to {total:,} passes through the network and the app allows {budget:,} per request: "
        f"{spec.title} alone needs {passes[costliest]:,}; {lower}{others}"
    )
