"""``metrics.jsonl``: one JSON object per line (step, epoch, stage, loss terms or validation
metrics), appended as training goes, so that the app can plot it live."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

from core.io.atomic import atomic_write_text

log = logging.getLogger(__name__)

METRICS_FILE = "metrics.jsonl"


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN/inf
    return value


class MetricsLog:
    """Appends records to ``run/metrics.jsonl``.

    On resume, records after the resumed step are dropped first (they belong to the part of the
    run that is being redone), so the file never holds the same step twice.
    """

    def __init__(self, run: Path, resume_step: int | None = None) -> None:
        self.path = Path(run) / METRICS_FILE
        if resume_step is None:
            atomic_write_text(self.path, "")
        elif self.path.exists():
            kept = [line for line in self.path.read_text(encoding="utf-8").splitlines()
                    if line.strip() and _step_of(line) <= resume_step]
            atomic_write_text(self.path, "".join(line + "\n" for line in kept))

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps({k: _plain(v) for k, v in record.items()})
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line + "\n")


def _step_of(line: str) -> float:
    try:
        return float(json.loads(line).get("step", math.inf))
    except (json.JSONDecodeError, AttributeError, TypeError, ValueError):
        return math.inf


def read_metrics(run: str | Path) -> list[dict[str, Any]]:
    """All records of a run (skipping a partly written last line)."""
    return MetricsReader(Path(run) / METRICS_FILE).poll()


class MetricsReader:
    """Reads the records appended to a metrics.jsonl since the last call (the app follows a
    running training with it); a line not yet ended by a newline waits for the next call."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._offset = 0
        self._partial = b""

    def reset(self) -> None:
        self._offset, self._partial = 0, b""

    def poll(self) -> list[dict]:
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return []
        if size < self._offset:  # rewritten (a resume drops the redone steps): read it again
            self.reset()
        if size == self._offset:
            return []
        with open(self.path, "rb") as f:
            f.seek(self._offset)
            data = f.read(size - self._offset)
        self._offset = size
        data = self._partial + data
        lines = data.split(b"\n")
        self._partial = lines.pop()  # no newline yet: maybe still being written
        records = []
        for line in lines:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                log.debug("skipping a malformed metrics line: %r", line[:80])
                continue
            if isinstance(record, dict):
                records.append(record)
        return records
