"""The course's demos in a browser (Gradio): `make app`, or `launch()` from a notebook.

`page.py` lays out the page, `endpoints.py` answers its requests,
`controls.py` derives each method's settings fields from its declared
parameter rules, `budget.py` bounds a request's passes, `jobs.py` runs model
work that can be stopped, `work.py` does what the page asks (photos,
classes, maps, files) without any gradio, `results.py` lays the maps out.
"""

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported: no analytics, no version check

from .page import launch  # noqa: E402

__all__ = ["launch"]
