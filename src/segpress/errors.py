"""Errors a user can fix. Their message is one line; the CLI prints it and exits non-zero."""


class SegpressError(Exception):
    """Base class: anything raised as a SegpressError is shown to the user without a traceback."""


class InputError(SegpressError):
    """An input file or array cannot be used (missing, corrupt, wrong size, too large...)."""


class OptionError(SegpressError):
    """An option is invalid: unknown format or policy, out-of-range quality, bad combination."""


class OutputError(SegpressError):
    """An output file cannot be written (permission denied, disk full, parent is a file...)."""


class CodecError(SegpressError):
    """A codec library failed to encode or decode (an image over the format's size limit, a corrupt file...)."""
