"""`python -m golive`: the same as the golive command."""

import sys

from golive.cli import main

sys.exit(main())
