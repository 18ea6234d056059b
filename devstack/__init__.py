"""The local stack behind `python -m lib.dev`: embedded Postgres, migrations, the Fanvue sandbox,
every `api/` file served over HTTP, the `vercel.json` crons. Never deployed (see `.vercelignore`)."""
