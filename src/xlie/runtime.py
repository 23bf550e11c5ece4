"""Small helpers every Snakemake script uses: send output to the rule's log."""

from __future__ import annotations

import contextlib
import logging
import sys
from pathlib import Path


@contextlib.contextmanager
def log_to(path: str | Path):
    """Redirect stdout/stderr (progress bars included) and logging to the rule's log file."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", buffering=1, encoding="utf-8") as handle:
        old_out, old_err = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = handle
        logging.basicConfig(stream=handle, level=logging.INFO, force=True)
        try:
            yield handle
        except BaseException:
            logging.exception("job failed")
            raise
        finally:
            sys.stdout, sys.stderr = old_out, old_err
