"""``python -m cmanet_app`` is ``cmanet-app``."""

import sys

from cmanet_app.main import main

sys.exit(main())
