"""`python -m proxy` runs the command-line entry point."""

from proxy.cli import main

raise SystemExit(main())
