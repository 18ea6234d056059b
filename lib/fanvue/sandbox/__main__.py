"""`python -m lib.fanvue.sandbox [--port N ...]` runs the CLI."""

from .cli import main

raise SystemExit(main())
