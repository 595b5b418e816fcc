"""`python -m kabuguard`: the same CLI as the `kabuguard` script (the server starts its
writer process this way, with the interpreter it runs on)."""

from kabuguard.cli import main

main()
