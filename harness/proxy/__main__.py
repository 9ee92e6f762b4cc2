"""``python -m harness.proxy``: see :mod:`harness.proxy.cli`."""

from __future__ import annotations

import sys

from harness.proxy.cli import main

if __name__ == "__main__":
    sys.exit(main())
