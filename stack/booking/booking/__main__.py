"""Entry point of ``python -m booking``."""

import sys

from booking.cli import main

sys.exit(main())
