"""Shared helpers of Brook's Python interop scripts: JSON-lines output and record patterns.

Exit codes of every script: 0 the run completed, 1 a fatal error, 2 a usage error (argparse),
3 the run completed but some records failed or fewer than --count arrived.
"""

import base64
import json
import os
import signal
import sys
import threading
import time

EXIT_INCOMPLETE = 3


def emit(obj):
    """Print one JSON line and flush, so a test that kills us still reads what was done."""
    sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")
    sys.stdout.flush()


def fill(pattern, index):
    """The record pattern with %d replaced by the record index; None stays None."""
    if pattern is None:
        return None
    return pattern.replace("%d", str(index))


def sized(value, size_bytes):
    """Repeat value to exactly size_bytes bytes (0 keeps it as it is)."""
    if size_bytes <= 0 or not value:
        return value
    return (value * (size_bytes // len(value) + 1))[:size_bytes]


def text(data):
    """Bytes as a string; bytes that are not UTF-8 as 'base64:...' so they survive JSON."""
    if data is None:
        return None
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(data).decode("ascii")


def pairs(items):
    """['k=v', ...] as a dict; a pair without '=' is a usage error."""
    out = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            sys.stderr.write("expected key=value, got %r\n" % item)
            sys.exit(2)
        out[key] = value
    return out


def headers_of(pattern, index):
    """'k=v,k2=v2' with %d filled in, as a list of (key, bytes) tuples."""
    if not pattern:
        return []
    return [(k, v.encode()) for k, v in pairs([fill(p, index) for p in pattern.split(",")]).items()]


def watchdog(timeout_ms):
    """End the process when it outlives its time limit, so a hung client cannot hold a test."""

    def expire(_signum, _frame):
        sys.stderr.write("timed out after %d ms\n" % timeout_ms)
        sys.stderr.flush()
        os._exit(1)

    signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, timeout_ms / 1000.0)


def now_ms():
    """Wall-clock milliseconds: events of several member processes are ordered by it."""
    return int(time.time() * 1000)


def stdin_closed():
    """An Event set once stdin reaches its end: the test closes it to ask for a clean stop."""
    closed = threading.Event()

    def wait():
        try:
            sys.stdin.read()
        finally:
            closed.set()

    threading.Thread(target=wait, daemon=True).start()
    return closed
