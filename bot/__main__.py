"""`python -m bot` runs the Deskhand CLI."""

from bot.cli import main

raise SystemExit(main())
