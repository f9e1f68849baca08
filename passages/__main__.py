"""``python -m passages`` runs the command-line interface."""

from passages.cli import main

raise SystemExit(main())
