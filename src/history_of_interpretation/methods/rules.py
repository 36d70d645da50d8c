"""Parameter rules as data: what a method's setting may be, read by the checks, the app and the docs.

A `Rule` says a parameter's kind (a whole number, a number, a choice among
names, a flag, or something the method checks itself, like an image), its
bounds, its choices and whether None is allowed. Calling it checks one value
and returns it normalised (whole numbers as int); its `description` says in
words what it accepts. Every count has a maximum, so that no request (the
app's, say) can ask for a billion passes.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

KINDS = ("integer", "number", "choice", "flag", "given")  # "given": the method checks it (an image, a name)
SEED_MAXIMUM = 2**32 - 1  # numpy's SeedSequence takes larger seeds, but no reader needs them


def _shown(bound: float | None) -> str | None:
    """A bound as a reader writes it: 4294967295, 0.5, 1000."""
    return None if bound is None else f"{int(bound)}" if float(bound).is_integer() else f"{bound:g}"


def _number(value) -> bool:
    return (
        not isinstance(value, bool)
        and isinstance(value, (int, float, np.integer, np.floating))
        and bool(np.isfinite(value))
    )


@dataclass(frozen=True)
class Rule:
    """What one parameter accepts; `rule(name, value)` returns the value normalised or raises ValueError."""

    kind: str  # one of KINDS
    minimum: float | None = None
    maximum: float | None = None
    above_minimum: bool = False  # the minimum itself is excluded
    below_maximum: bool = False  # the maximum itself is excluded
    choices: tuple[str, ...] = ()
    optional: bool = False  # None is accepted: the method's own choice (say, all channels)
    what: str = ""  # for "given" rules, what the method accepts; otherwise a note (say, "the generator's seed")

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"a rule's kind is one of {', '.join(KINDS)}, not {self.kind!r}")
        if self.kind == "integer" and self.maximum is None:
            raise ValueError("a whole-number rule needs a maximum: no request may ask for unbounded work")

    @property
    def description(self) -> str:
        """What the rule accepts, in words (error messages, the app's help)."""
        if self.kind == "given":
            words = self.what
        elif self.kind == "flag":
            words = "True or False"
        elif self.kind == "choice":
            words = "one of " + ", ".join(repr(choice) for choice in self.choices)
        else:
            noun = "a whole number" if self.kind == "integer" else "a number"
            words = f"{noun} {self._range()}"
            if self.what:
                words += f" ({self.what})"
        return f"None or {words}" if self.optional else words

    def _range(self) -> str:
        low, high = (_shown(bound) for bound in (self.minimum, self.maximum))
        if low is not None and high is not None:
            if self.above_minimum and self.below_maximum:
                return f"strictly between {low} and {high}"
            if self.above_minimum:
                return f"above {low} and at most {high}"
            return f"from {low} to {high}" + (" (excluded)" if self.below_maximum else "")
        if low is not None:
            return f"{'above' if self.above_minimum else 'of at least'} {low}"
        return f"{'below' if self.below_maximum else 'of at most'} {high}" if high is not None else ""

    def __call__(self, name: str, value):
        """Check `value` for the parameter `name`; return it normalised."""
        if value is None and self.optional:
            return None
        if self.kind == "given":
            return value
        if self.kind == "flag":
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"{name} must be True or False, not {value!r}")
            return bool(value)
        if self.kind == "choice":
            if not isinstance(value, str) or value not in self.choices:
                raise ValueError(f"{name} must be {self.description}, not {value!r}")
            return value
        if not _number(value):
            raise ValueError(f"{name} must be a finite number, not {value!r}")
        if self.kind == "integer" and not float(value).is_integer():
            raise ValueError(f"{name} must be {self.description}, not {value!r}")
        if not self.admits(float(value)):
            raise ValueError(f"{name} must be {self.description}, not {value!r}")
        return int(value) if self.kind == "integer" else value

    def admits(self, number: float) -> bool:
        """Whether a number lies within the rule's bounds."""
        if self.minimum is not None and (number <= self.minimum if self.above_minimum else number < self.minimum):
            return False
        return self.maximum is None or (number < self.maximum if self.below_maximum else number <= self.maximum)


def count(maximum: int, minimum: int = 1) -> Rule:
    """A whole number from `minimum` (1) to `maximum`: samples, steps, masks..."""
    return Rule("integer", minimum=minimum, maximum=maximum)


def number(minimum: float | None = None, maximum: float | None = None, *, above=False, below=False) -> Rule:
    """A finite number within the bounds (`above`/`below`: the bound itself excluded)."""
    return Rule("number", minimum=minimum, maximum=maximum, above_minimum=above, below_maximum=below)


def one_of(*choices: str) -> Rule:
    """One of the given names."""
    return Rule("choice", choices=tuple(choices))


def optional(rule: Rule) -> Rule:
    """The rule, or None (the method's own choice, say all channels)."""
    return replace(rule, optional=True)


def checked_by_method(what: str) -> Rule:
    """A parameter that the method checks itself (a baseline image, say); `what` says what it accepts."""
    return Rule("given", what=what)


SEED = Rule("integer", minimum=0, maximum=SEED_MAXIMUM, what="the random generator's seed")
PIXEL_VALUE = number(0, 255)
OPEN_FRACTION = number(0, 1, above=True, below=True)
FLAG = Rule("flag")
BATCH_SIZE = count(4096)
