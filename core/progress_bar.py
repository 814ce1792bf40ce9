"""Progress of long work on the command line: a tqdm bar on a terminal, a few plain lines elsewhere.

A bar redraws itself with carriage returns many times a second; written into a log file
(``cmanet fit ... 2>log``) that is thousands of ``\\r`` updates. When stderr is not a terminal,
:func:`progress_bar` instead prints one plain line per quarter of the work (and one when it ends
early), e.g. ``fit IEV: 200/400 it (50%), 6.2 s``.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import IO, Any

# Plain lines are printed at these fractions of the total.
PLAIN_STEPS = 4


def stream_is_terminal(stream: IO[str] | None) -> bool:
    """Whether ``stream`` is an interactive terminal (False for files, pipes, closed streams)."""
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):
        return False


class PlainProgress:
    """The subset of tqdm's interface the project uses (``update``, ``n``, ``total``, ``refresh``,
    ``close``, ``set_postfix(_str)``, iteration, ``with``), printing a few whole lines to ``file``."""

    def __init__(self, iterable: Iterable | None = None, total: float | None = None, desc: str | None = None,
                 unit: str = "it", initial: float = 0, file: IO[str] | None = None, **_ignored: Any):
        self.iterable = iterable
        if total is None and iterable is not None:
            try:
                total = len(iterable)  # type: ignore[arg-type]
            except TypeError:
                total = None
        self.total = total
        self.desc = desc or ""
        self.unit = unit
        self.n = initial
        self.file = file
        self.postfix = ""
        self._start = time.monotonic()
        self._printed_step = -1 if not total else int(PLAIN_STEPS * initial / total)
        self._closed = False

    def __iter__(self) -> Iterator:
        for item in self.iterable or ():
            yield item
            self.update(1)
        self.close()

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def update(self, n: float = 1) -> None:
        self.n += n
        self.refresh()

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        self.postfix = s

    def set_postfix(self, ordered_dict=None, refresh: bool = True, **kwargs: Any) -> None:
        items = dict(ordered_dict or {}, **kwargs)
        self.postfix = ", ".join(f"{k}={v}" for k, v in items.items())

    def refresh(self) -> None:
        """Print a line when the work has passed another quarter of the total."""
        if self._closed or not self.total:
            return
        step = min(PLAIN_STEPS, int(PLAIN_STEPS * self.n / self.total))
        if step > self._printed_step:
            self._printed_step = step
            if step > 0:
                self._line()

    def close(self) -> None:
        """Ends the bar; work stopped short of its total gets one last line saying how far it got."""
        if self._closed:
            return
        if self.n and (not self.total or self.n < self.total):
            self._line()
        self._closed = True

    def _line(self) -> None:
        done = f"{self.n:g}/{self.total:g}" if self.total else f"{self.n:g}"
        percent = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
        postfix = f" [{self.postfix}]" if self.postfix else ""
        label = f"{self.desc}: " if self.desc else ""
        stream = self.file if self.file is not None else sys.stderr
        try:
            print(f"{label}{done} {self.unit}{percent}, {time.monotonic() - self._start:.1f} s{postfix}",
                  file=stream, flush=True)
        except (OSError, ValueError):
            pass  # a closed or full log stream must not stop the work


def progress_bar(iterable: Iterable | None = None, *, disable: bool = False, file: IO[str] | None = None,
                 **kwargs: Any):
    """A progress bar with tqdm's arguments: tqdm itself when ``file`` (default stderr) is a
    terminal, else :class:`PlainProgress`; a silent tqdm with ``disable``."""
    from tqdm import tqdm

    stream = file if file is not None else sys.stderr
    if disable or stream_is_terminal(stream):
        return tqdm(iterable, disable=disable, file=file, **kwargs)
    return PlainProgress(iterable, file=file, **kwargs)
