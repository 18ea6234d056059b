"""Entry point of `python -m lib.dev [command]`; everything it runs lives in `devstack/`."""

import sys

from devstack.cli import main

if __name__ == "__main__":
    sys.exit(main())
