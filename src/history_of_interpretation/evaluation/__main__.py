"""`python -m history_of_interpretation.evaluation --images ... --out ...`: what `make evaluate` runs."""

import sys

from .command import main

sys.exit(main())
