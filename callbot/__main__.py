"""``python -m callbot`` is the ``callbot`` command."""

import sys

from callbot.cli import main

sys.exit(main())
