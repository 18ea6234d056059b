"""`python -m fanvue_sandbox [--port N ...]` runs the CLI."""

from .cli import main

raise SystemExit(main())
