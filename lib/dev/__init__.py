"""The local stack: `python -m lib.dev` and its subcommands (never deployed: excluded in vercel.json)."""
