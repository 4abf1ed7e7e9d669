"""Error messages that stay on one line, whatever the OS or Pillow said."""

from __future__ import annotations


def reason(error: OSError) -> str:
    return error.strerror or one_line(error)


def one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
