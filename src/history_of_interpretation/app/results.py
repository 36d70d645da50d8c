"""The results as HTML: a full-width grid of figures, each image with its caption below it.

gradio's Gallery shows images in square cells inside a scroll box of fixed
height, with captions over the images: maps below the fold, captions hidden,
a wide figure half blank. Plain HTML in a CSS grid lets each figure keep its
own aspect and the page grow to hold them all. The images travel inline as
data: URIs (PNG), so the page asks no other server, and nothing is left
behind on disk.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable

from .work import Picture

# Styles for the grids, given to gradio's launch(css=...): the maps side by side, rows of a comparison stacked.
CSS = """
.result-grid { display: grid; gap: 16px; width: 100%; }
.result-grid.maps { grid-template-columns: repeat(auto-fill, minmax(280px, 1fr)); }
.result-grid.rows { grid-template-columns: minmax(0, 1100px); }
.result-grid figure { margin: 0; }
.result-grid img { display: block; width: 100%; height: auto; }
.result-grid figcaption { margin-top: 4px; font-size: 0.9em; text-align: center; }
.result-placeholder { color: var(--body-text-color-subdued); margin: 0; }
"""


def placeholder(text: str) -> str:
    """What the results area says before any result."""
    return f'<p class="result-placeholder">{html.escape(text)}</p>'


def grid(pictures: Iterable[Picture], layout: str = "maps") -> str:
    """The pictures as an HTML grid: 'maps' side by side (wrapping), or 'rows' one under another."""
    figures = "".join(
        f'<figure><img src="data:image/png;base64,{base64.b64encode(picture.png).decode()}" '
        f'alt="{html.escape(picture.title)}"><figcaption>{html.escape(picture.caption)}</figcaption></figure>'
        for picture in pictures
    )
    return f'<div class="result-grid {layout}">{figures}</div>'
