"""``python -m conformance <command>``: the command table is ``conformance/cli``."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
