"""`python -m bot` is `triage-bot`."""

import sys

from bot.cli import main

sys.exit(main())
