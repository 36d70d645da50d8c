"""The benchmark of `make bench`: every method against its floor and PAIR's usual pattern (see run.py)."""
