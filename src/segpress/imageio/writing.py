"""Writing outputs all at once or not at all (``atomic_write``), never over an input."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path

from ..errors import OptionError, OutputError
from .messages import reason


def _read_umask() -> int:
    # The umask can only be read by setting it; do that once, at import, not per write.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


def atomic_write(
    path: str | os.PathLike[str],
    data: bytes,
    *,
    overwrite: bool = False,
    protect: Iterable[str | os.PathLike[str]] = (),
) -> None:
    """Write ``data`` to ``path`` all at once or not at all; never over an input in ``protect``."""
    target = Path(path)
    check_writable(target, overwrite=overwrite, protect=protect)
    mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else 0o666 & ~_UMASK
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as e:
        raise OutputError(f"{target}: cannot write it ({reason(e)})") from e
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)  # mkstemp makes files private (0600)
        os.replace(tmp, target)
    except OSError as e:
        _remove_quietly(tmp)
        raise OutputError(f"{target}: cannot write it ({reason(e)})") from e
    except BaseException:
        _remove_quietly(tmp)
        raise


def check_writable(
    target: str | os.PathLike[str], *, overwrite: bool = False, protect: Iterable[str | os.PathLike[str]] = ()
) -> None:
    """Refuse ``target`` as atomic_write would: one of the inputs in ``protect``, a folder, or there already.

    A command that writes several files for one input checks them all with this before writing any.
    """
    target = Path(target)
    if any(_same_file(target, other) for other in protect):
        raise OptionError(
            f"{target}: is one of the input files; refusing to overwrite it, choose another output"
        )
    if target.is_dir():
        raise OutputError(f"{target}: is a directory; give a file name")
    if os.path.lexists(target) and not overwrite:
        raise OptionError(f"{target} exists; pass --overwrite to replace it")


def _same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist, so they cannot be the same file
        return False


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)
