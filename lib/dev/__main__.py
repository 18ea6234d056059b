"""Entry point of `python -m lib.dev [command]`."""
import sys

from lib.dev.cli import main

if __name__ == "__main__":
    sys.exit(main())
