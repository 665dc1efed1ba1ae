"""One module per CLI command; each exposes register(subparsers) and run(args) -> exit code."""


class CLIError(Exception):
    """A user-facing failure: printed as one line, exit status 2.

    Defined here rather than in golive.cli so `python -m golive.cli` (which runs cli.py as __main__) still
    catches the same class the commands raise."""
