"""`python -m lib.dev`: the README's one command. A thin runner; the local stack lives in `devstack/`."""
