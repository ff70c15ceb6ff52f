"""``python -m cloudbase_async demo``: see :mod:`cloudbase_async._demo`."""

import os
import sys

from ._demo import main

# The command line is the one place besides the configuration that reads the
# environment: the demo's own settings (CLOUDBASE_DEMO_*, the model to use).
raise SystemExit(
    main(sys.argv[1:], {k: v for k, v in os.environ.items() if k.startswith("CLOUDBASE_")})
)
