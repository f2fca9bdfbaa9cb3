"""`clawster`: the command line for the Clawster API (and the local stack). Entry point: main()."""

from clawster.cli.root import app, main

__all__ = ["app", "main"]
