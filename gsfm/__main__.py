"""``python -m gsfm``."""

import sys

from gsfm.cli import main

sys.exit(main())
