"""The course's demos in a browser (Gradio): `make app`, or `launch()` from a notebook.

`page.py` lays out the page, `controls.py` derives each method's settings
fields from its declared parameter rules, `work.py` does what the page asks
(photos, classes, maps) without any gradio.
"""

from .page import launch

__all__ = ["launch"]
