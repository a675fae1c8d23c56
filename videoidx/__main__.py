"""``python -m videoidx`` runs the command line."""

import sys

from videoidx.cli import main

sys.exit(main())
