"""``python -m core.body.warm``: build Anny's one-time cache during set-up, not in the first window."""

import logging
import time

from core.body.anny_body import anny_cache_is_built, shared_anny_model

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if not anny_cache_is_built():
        start = time.perf_counter()
        shared_anny_model()
        print(f"setup: Anny body-model cache built in {time.perf_counter() - start:.0f} s")
