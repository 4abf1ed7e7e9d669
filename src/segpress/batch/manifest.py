"""The manifest: one JSON line per input per run, appended as each input finishes.

A line is appended only after the output it names is completely written, then flushed and fsynced,
so a crash at any moment loses at most the line being written, never a finished entry. Reading takes
the last line for each input (later runs supersede earlier ones) and skips a torn last line; opening
for a new run cuts such a torn tail off first, so the next line starts on a line of its own.

Lines with an ``"input"`` key are records (see :func:`segpress.batch.work.record`); a line with
``"run"`` describes the job that started there (its settings and fingerprint). A lock on the file
keeps two runs from writing the same manifest at once. An existing file that does not begin as a
manifest does (``--manifest`` pointed at a photo by mistake) is refused, never cut or appended to.

The manifest is a local file: appending is not something object stores do.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, NamedTuple, Self

from ..errors import OptionError, OutputError

# How a manifest's first line begins: {"run": ... or {"input": ... (spaces allowed, for hand-made ones).
_MANIFEST_START = re.compile(rb'\s*\{\s*"(run|input)"\s*:')


def read_manifest(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """The latest record of every input in the manifest at ``path`` (empty when there is none)."""
    return {entry["input"]: entry for entry in _records(path)}


class Done(NamedTuple):
    """What deciding to skip an input needs of its record: a few fields, since archives have millions."""

    fingerprint: str
    source: str  # the input's signature, as signature_key() writes it
    bytes_out: int


def read_done(path: str | os.PathLike[str]) -> dict[str, Done]:
    """The inputs whose latest record in the manifest at ``path`` says done."""
    done: dict[str, Done] = {}
    for entry in _records(path):
        if entry.get("status") == "done":
            fingerprint = sys.intern(str(entry.get("fingerprint")))  # one string per run, not per line
            done[entry["input"]] = Done(fingerprint, signature_key(entry.get("source")), entry.get("bytes_out"))
        else:
            done.pop(entry["input"], None)
    return done


def signature_key(signature: Any) -> str:
    """An input's signature (size, version...) as one comparable string."""
    return json.dumps(signature, sort_keys=True, separators=(",", ":"))


def timestamp() -> str:
    """Now, in UTC, as the manifest writes times."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def _records(path: str | os.PathLike[str]) -> Iterator[dict[str, Any]]:
    """Every whole record line of the manifest at ``path``, in order."""
    try:
        with open(path, "rb") as fh:
            for line in fh:
                entry = _parse(line)
                if entry is not None and isinstance(entry.get("input"), str):
                    yield entry
    except FileNotFoundError:
        return
    except OSError as error:
        raise OptionError(f"{path}: cannot read the manifest ({error.strerror or error})") from None


class ManifestWriter:
    """Appends records to a manifest, each one durable before :meth:`append` returns. Use as a context manager."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._fh: IO[bytes] | None = None

    def __enter__(self) -> Self:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fh = open(self.path, "a+b")
        except OSError as error:
            raise OutputError(f"{self.path}: cannot open the manifest ({error.strerror or error})") from None
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise OptionError(f"{self.path}: another batch run is using this manifest") from None
        if not _is_manifest(fh):
            fh.close()
            raise OptionError(
                f"{self.path}: is not a segpress manifest; refusing to change it, choose another --manifest"
            )
        _cut_torn_tail(fh)
        self._fh = fh
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._fh is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    def append(self, entry: dict[str, Any]) -> None:
        if self._fh is None:
            raise RuntimeError("the manifest is not open")
        line = json.dumps(entry, allow_nan=False, separators=(",", ":"), ensure_ascii=False) + "\n"
        try:
            self._fh.write(line.encode())
            self._fh.flush()
            os.fsync(self._fh.fileno())
        except OSError as error:
            raise OutputError(f"{self.path}: cannot write the manifest ({error.strerror or error})") from None


def _parse(line: bytes) -> dict[str, Any] | None:
    """A line's object, or None for a torn or foreign line."""
    if not line.endswith(b"\n"):
        return None  # the last line of a run that was killed while writing it
    try:
        entry = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):  # RecursionError: nested thousands deep
        return None
    return entry if isinstance(entry, dict) else None


def _is_manifest(fh: IO[bytes]) -> bool:
    """Whether the open file is empty or starts as a manifest does: a run line or a record (torn or not).

    Anything else (a photo, someone's notes) is refused before it is cut or appended to.
    """
    fh.seek(0)
    start = fh.read(256)
    return not start or _MANIFEST_START.match(start) is not None


def _cut_torn_tail(fh: IO[bytes]) -> None:
    """Truncate a last line without its newline (a write cut short by a kill)."""
    size = fh.seek(0, os.SEEK_END)
    if size == 0:
        return
    fh.seek(size - 1)
    if fh.read(1) == b"\n":
        return
    position = size
    while position > 0:  # back to the newline that ends the last whole line
        step = min(65536, position)
        fh.seek(position - step)
        chunk = fh.read(step)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            position = position - step + newline + 1
            break
        position -= step
    fh.truncate(position)
    fh.flush()
    os.fsync(fh.fileno())
