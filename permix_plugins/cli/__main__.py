"""``python -m permix_plugins.cli``: the `permix` command."""

import sys

from permix_plugins.cli import main

sys.exit(main())
