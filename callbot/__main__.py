"""``python -m callbot`` is the ``callbot`` command."""

import sys

from callbot.cli.main import main

sys.exit(main())
