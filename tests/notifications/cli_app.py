"""The notification commands as a program of their own, for tests that need a real process
(SIGKILL): `python -m tests.notifications.cli_app dispatch`. It runs the same commands that
`register()` adds to the kabuguard command."""

from __future__ import annotations

import typer

from kabuguard.notifications.command import register

app = typer.Typer()


@app.callback()
def main() -> None:
    """Keeps each command a subcommand, as in the kabuguard command."""


register(app)

if __name__ == "__main__":
    app()
