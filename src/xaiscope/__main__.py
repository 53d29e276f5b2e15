"""``python -m xaiscope`` runs the command-line interface."""

from xaiscope.cli import main

raise SystemExit(main())
