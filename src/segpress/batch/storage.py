"""Where a batch job reads and writes: local folders, globs and fsspec URLs (``s3://...`` and the rest).

A :class:`Location` is an fsspec filesystem and a root inside it. Sources are listed once, up front:

- a folder (``photos/``, ``s3://bucket/photos``): every image file below it, recursively, by
  extension (:data:`IMAGE_EXTENSIONS`); hidden files and folders (``.name``) are left out;
- a glob (``photos/**/*.jpg``, ``s3://bucket/cam*/*.png``): every file it matches, whatever its
  extension (the user chose them); relative paths start below the glob's first wildcard folder;
- a single file.

Each input keeps its path relative to the root (the manifest's key) and a version: the object's ETag
where the store has one, else its modification time, so an edited input is seen as changed.

Writing is all-or-nothing: a local file goes through ``segpress.imageio.atomic_write`` (temporary
file + rename), an object store gets one PUT, which makes the object appear whole or not at all.
A process killed while writing locally can leave its hidden temporary file; :func:`sweep_temporaries`
removes those at the start of the next run.

Object-store options (endpoint, keys, region...) come from ``storage_options`` (``--storage-option
KEY=VALUE``) or from fsspec's environment variables (``FSSPEC_S3_ENDPOINT_URL=...``), and credentials
from the store's usual places (``AWS_ACCESS_KEY_ID``, ``~/.aws``).
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError, OptionError, OutputError
from ..imageio import atomic_write

# What load_image reads (segpress.imageio), by file extension, for folder sources.
IMAGE_EXTENSIONS = frozenset({
    ".jpg", ".jpeg", ".jpe", ".jfif", ".mpo", ".png", ".tif", ".tiff", ".webp", ".avif", ".gif", ".bmp",
    ".dib", ".ppm", ".pgm", ".pbm", ".pnm", ".jp2", ".j2k", ".jpx", ".j2c", ".qoi",
})
_WILDCARDS = re.compile(r"[*?\[]")
# atomic_write's temporary files: "." + target name + "." + mkstemp's 8 random characters + ".tmp".
_TEMPORARY = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")
# Keys under which fsspec implementations report a version of a file, most specific first.
_VERSION_KEYS = ("ETag", "etag", "md5Hash", "generation", "mtime", "LastModified", "last_modified", "updated")


@dataclass(frozen=True)
class Location:
    """A folder (or file, or glob) in some filesystem; picklable, so workers and Ray actors get it whole."""

    url: str  # as the user gave it, for messages
    fs: Any = field(repr=False)  # fsspec.AbstractFileSystem
    root: str  # path inside ``fs``, no trailing separator
    pattern: str | None = None  # a glob below ``root``, for sources given as a glob

    @property
    def is_local(self) -> bool:
        return "file" in _protocols(self.fs)

    def path(self, relative: str) -> str:
        return posixpath.join(self.root, relative)

    def relative(self, path: str) -> str:
        return posixpath.relpath(path, self.root)

    def display(self, path: str) -> str:
        """``path`` as the user would write it: a local path, or a URL with its protocol."""
        return path if self.is_local else self.fs.unstrip_protocol(path)


@dataclass(frozen=True)
class Entry:
    """One file found at a location."""

    relative: str  # below the location's root, "/"-separated: the manifest key of an input
    path: str  # inside the filesystem
    size: int
    version: str  # ETag, or modification time


def parse_storage_options(pairs: Sequence[str]) -> dict[str, Any]:
    """``["endpoint_url=http://...", "anon=true"]`` -> fsspec options; JSON values (numbers, true, {...}) are decoded."""
    options: dict[str, Any] = {}
    for pair in pairs:
        key, separator, text = pair.partition("=")
        if not separator or not key.strip():
            raise OptionError(f"--storage-option {pair!r}: give KEY=VALUE")
        try:
            options[key.strip()] = json.loads(text)
        except (json.JSONDecodeError, RecursionError):  # not JSON (or nested too deep to be): the text itself
            options[key.strip()] = text
    return options


def open_location(url: str, storage_options: dict[str, Any] | None = None) -> Location:
    """The filesystem and root of ``url``; ``OptionError`` for an unknown protocol or a missing library."""
    from fsspec.core import url_to_fs

    try:
        fs, path = url_to_fs(url, **(storage_options or {}))
    except ImportError as error:  # fsspec names the package that provides the protocol
        raise OptionError(f"{url}: {_one_line(error)}") from None
    except (ValueError, TypeError) as error:
        raise OptionError(f"{url}: {_one_line(error)}") from None
    path = path.rstrip("/") or "/"
    wildcard = _WILDCARDS.search(path)
    if wildcard is None:
        return Location(url, fs, path)
    root = path[: wildcard.start()].rpartition("/")[0] or "/"
    return Location(url, fs, root, posixpath.relpath(path, root))


def list_sources(source: Location) -> tuple[list[Entry], int]:
    """The inputs at ``source``, sorted by relative path, and how many files were left out as not images."""
    fs = source.fs
    fs.invalidate_cache()  # an object store's cached listing may predate what workers wrote since
    try:
        if source.pattern is not None:
            found = fs.glob(source.path(source.pattern), detail=True)
            return _entries(source, found, by_extension=False), 0
        if fs.isfile(source.root):
            info = fs.info(source.root)
            return [_entry(posixpath.basename(source.root), info)], 0
        if not fs.isdir(source.root):
            raise InputError(f"{source.url}: no such file or folder")
        found = fs.find(source.root, detail=True)
    except OSError as error:
        raise InputError(f"{source.url}: cannot list it ({_one_line(error)})") from None
    entries = _entries(source, found, by_extension=True)
    files = sum(1 for rel in (source.relative(p) for p, i in found.items() if i.get("type") == "file")
                if not _hidden(rel))
    return entries, files - len(entries)


def list_files(location: Location) -> dict[str, Entry]:
    """Every file below ``location`` (hidden ones too) by relative path; empty when it does not exist."""
    location.fs.invalidate_cache()
    try:
        if not location.fs.isdir(location.root):
            return {}
        found = location.fs.find(location.root, detail=True)
    except OSError as error:
        raise InputError(f"{location.url}: cannot list it ({_one_line(error)})") from None
    entries = (_entry(location.relative(path), info) for path, info in found.items() if info.get("type") == "file")
    return {entry.relative: entry for entry in entries}


def check_apart(source: Location, destination: Location, what: str = "source") -> None:
    """Refuse a destination inside the source (or ``what`` else is read) or around it: outputs would be
    listed as inputs, or replace them.

    Roots are compared resolved, as the filesystem will follow them: ``..`` removed, and locally symlinks
    followed and every existing folder above each root compared by device and inode (a bind mount or
    another name of the same folder).
    """
    if not _protocols(source.fs) & _protocols(destination.fs):
        return
    a, b = resolved(source, source.root).rstrip("/") + "/", resolved(destination, destination.root).rstrip("/") + "/"
    if a.startswith(b) or b.startswith(a) or _same_folder_above(source, destination):
        raise OptionError(
            f"the destination {destination.url} and the {what} {source.url} overlap; choose a destination outside it"
        )


def resolved(location: Location, path: str) -> str:
    """``path`` as the filesystem reaches it: symlinks followed (locally) and ``..`` removed."""
    if location.is_local:
        return os.path.realpath(path)
    return posixpath.normpath(path)


def _same_folder_above(source: Location, destination: Location) -> bool:
    """Whether one root's folder (by device and inode) is the other root or a folder above it."""
    if not (source.is_local and destination.is_local):
        return False
    first, second = _identity(source.root), _identity(destination.root)
    return (first is not None and first in _identities_above(destination.root)) or (
        second is not None and second in _identities_above(source.root)
    )


def _identity(path: str) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None  # not there yet: nothing can be inside it
    return status.st_dev, status.st_ino


def _identities_above(path: str) -> set[tuple[int, int]]:
    """Device and inode of ``path`` and of every existing folder above it."""
    found, current = set(), os.path.realpath(path)
    while True:
        identity = _identity(current)
        if identity is not None:
            found.add(identity)
        parent = os.path.dirname(current)
        if parent == current:
            return found
        current = parent


def read_file(location: Location, path: str) -> bytes:
    try:
        return location.fs.cat_file(path)
    except FileNotFoundError:
        raise InputError(f"{location.display(path)}: not found (removed since it was listed?)") from None
    except OSError as error:
        raise InputError(f"{location.display(path)}: cannot read it ({_one_line(error)})") from None


def write_file(location: Location, path: str, data: bytes) -> None:
    """Write ``data`` all at once or not at all, replacing an older output."""
    if location.is_local:
        atomic_write(path, data, overwrite=True)
        return
    try:
        location.fs.pipe_file(path, data)
    except OSError as error:
        raise OutputError(f"{location.display(path)}: cannot write it ({_one_line(error)})") from None


def sweep_temporaries(location: Location) -> int:
    """Remove temporary files that a killed run left behind in a local destination; how many."""
    if not location.is_local:
        return 0  # an object store never shows a partial object
    removed = 0
    for relative in list_files(location):
        if _TEMPORARY.match(posixpath.basename(relative)):
            with contextlib.suppress(FileNotFoundError):
                location.fs.rm_file(location.path(relative))
                removed += 1
    return removed


def _entries(source: Location, found: dict[str, dict], *, by_extension: bool) -> list[Entry]:
    entries = []
    for path, info in found.items():
        if info.get("type") != "file":
            continue
        relative = source.relative(path)
        if by_extension and (_hidden(relative) or posixpath.splitext(relative)[1].lower() not in IMAGE_EXTENSIONS):
            continue
        entries.append(_entry(relative, info))
    return sorted(entries, key=lambda entry: entry.relative)


def _entry(relative: str, info: dict[str, Any]) -> Entry:
    version = next((str(info[key]) for key in _VERSION_KEYS if info.get(key) is not None), "")
    return Entry(relative, info["name"], int(info.get("size") or 0), version)


def _hidden(relative: str) -> bool:
    return any(part.startswith(".") for part in relative.split("/"))


def _protocols(fs: Any) -> set[str]:
    protocol = fs.protocol
    return {protocol} if isinstance(protocol, str) else set(protocol)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
