"""Stopping a run cleanly when it is told to: SIGINT (Ctrl-C), SIGTERM (farm managers, ``docker stop``), SIGHUP.

Inside :func:`stop_signals_handled` each of these signals raises :class:`Stopped` in the main thread, so the
run unwinds the way Ctrl-C unwinds it: every ``finally`` runs, temporary files are removed, and the command
line turns the exception into one line and the conventional exit code (128 + the signal number: 130, 143,
129). A second signal while the run unwinds is ignored, so it cannot cut the clean-up short.

Work that must not be cut in two (an edit of a Resolve timeline, removing a temporary file) runs inside
:func:`stops_held`: a signal arriving there takes effect when the block ends, at the next safe point.

Native code can swallow the exception: a handler runs wherever Python code next runs, and when that is
inside PyAV's audio resampler or encoder, PyAV loses it now and then (about one signal in twelve in the
resampler and one in twenty in the AAC encoder, measured with a signal every 3 ms), and the run would
carry on and finish as if never told. So a stop is also remembered, and :func:`check_stopped` raises it
again after such calls and before anything is committed.

Worker processes (face tracking runs one per core) end with the run: :func:`ending_with_run` ends them
when the parent leaves its block by any exception, and :func:`follow_parent`, run in each worker, leaves
interrupts to the parent and ends the worker if the parent dies without a word (SIGKILL).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from types import FrameType

__all__ = ["STOP_SIGNALS", "Stopped", "check_stopped", "ending_with_run", "follow_parent", "stop_requested",
           "stop_signals_handled", "stops_held"]

# SIGHUP does not exist on Windows (Resolve runs there too).
STOP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
# How often a worker process checks that the process that started it is still there (s).
PARENT_POLL_S = 0.5


class Stopped(BaseException):
    """The run was told to stop by a signal. Not an :class:`Exception`, so no ``except Exception`` swallows it."""

    def __init__(self, signum: int) -> None:
        self.signum = int(signum)
        super().__init__(f"stopped by {signal.Signals(self.signum).name}")

    @property
    def exit_code(self) -> int:
        """The shell's convention for a process ended by a signal: 128 + its number."""
        return 128 + self.signum


class _State:
    """What the handler needs to know: whether a stop is already unwinding (and by which signal), and whether
    stops are held."""

    stopped_by: int | None = None
    held = 0
    pending: int | None = None


def _on_signal(signum: int, frame: FrameType | None) -> None:
    if _State.stopped_by is not None:
        return
    if _State.held:
        _State.pending = _State.pending or signum
        return
    _State.stopped_by = signum
    raise Stopped(signum)


@contextlib.contextmanager
def stop_signals_handled() -> Iterator[None]:
    """Turn SIGINT, SIGTERM and SIGHUP into :class:`Stopped` for the duration of the block (main thread only).

    The previous handlers come back when the block ends, so a library or test calling the command line
    in-process is left as it was.
    """
    previous = {signum: signal.signal(signum, _on_signal) for signum in STOP_SIGNALS}
    _State.stopped_by, _State.held, _State.pending = None, 0, None
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _State.stopped_by, _State.held, _State.pending = None, 0, None


@contextlib.contextmanager
def stops_held() -> Iterator[None]:
    """Let a stop signal arriving inside the block take effect only once the block is done (a safe point).

    Outside :func:`stop_signals_handled` (a library call) the block runs as it is.
    """
    _State.held += 1
    try:
        yield
    finally:
        _State.held -= 1
        pending = _State.pending
        if not _State.held and pending is not None and _State.stopped_by is None:
            _State.pending, _State.stopped_by = None, pending
            raise Stopped(pending)


def check_stopped() -> None:
    """Raise :class:`Stopped` if a stop signal has arrived, even one whose exception native code swallowed.

    Call it in the forward path of work (after calls into PyAV, before committing an output), not in
    clean-up, which a stop must not cut short.
    """
    if _State.stopped_by is not None:
        raise Stopped(_State.stopped_by)


def stop_requested() -> bool:
    """Whether a stop signal is waiting for the end of a :func:`stops_held` block."""
    return _State.pending is not None


@contextlib.contextmanager
def ending_with_run(pool: ProcessPoolExecutor) -> Iterator[ProcessPoolExecutor]:
    """End ``pool``'s worker processes at once when the block is left by an exception (a stop, a failure).

    ``ProcessPoolExecutor`` on its own waits for running work to finish, which for face tracking can be
    minutes after the run was told to stop. Use inside the executor's own ``with``, so this runs first.
    """
    try:
        yield pool
    except BaseException:
        # Python before 3.14 has no public way to end running work; the process table is the executor's own.
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        raise


def follow_parent() -> None:
    """In a worker process: leave interrupts to the parent, and end when the parent is gone.

    A Ctrl-C or a closed terminal reaches every process of the terminal's group; the parent decides and
    ends its workers itself (with SIGTERM, which ends them silently). A parent killed outright cannot, so
    a daemon thread watches for the parent to disappear.
    """
    for name in ("SIGINT", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        os._exit(128 + signal.SIGTERM)

    threading.Thread(target=watch, name="lipalign-follow-parent", daemon=True).start()
