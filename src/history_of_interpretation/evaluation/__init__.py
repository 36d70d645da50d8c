"""Does a map deserve trust? Metrics declared once, baselines of each map's own kind, one driver.

`metrics.py` declares each metric (its direction, family, what it needs, its
paper) beside its function; `baselines.py` declares the reference maps a
method is compared with; `driver.py` measures a photo, a method and its
baselines with them, for chapter 12 and `make evaluate` alike (`__main__.py`
is that command); `ranking.py` turns the long rows into estimates and
comparisons; `figures.py` draws them.
"""
