"""``python -m gotrace_df ...``: the ``gotrace-df`` command."""

from gotrace_df.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
