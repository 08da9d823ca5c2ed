"""``python -m resnext_edu ...``: see :mod:`resnext_edu.cli`."""

import sys

from .cli import main

sys.exit(main())
