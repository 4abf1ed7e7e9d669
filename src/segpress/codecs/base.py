"""The interface every codec speaks, whatever the format.

A codec turns pixels plus an importance map into a standard file, and back. The verbs follow
imagecodecs (``available``, ``version``, ``check``, ``encode``, ``decode``); ``encode_uniform`` is the
same format at one quality everywhere: the reference every saving is measured against.

The exceptions a codec's libraries raise when they fail (``library_errors``) leave ``encode``,
``encode_uniform`` and ``decode`` as one :class:`~segpress.errors.CodecError`: every codec gets that by
subclassing :class:`Codec`, so callers (the CLI, the server, a batch) handle one error, not each library's.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..embedded import EmbeddedMap
from ..errors import CodecError

SUBSAMPLINGS = ("4:2:0", "4:4:4")
DEFAULT_SUBSAMPLING = SUBSAMPLINGS[0]
# Qualities (1..100) where importance is 1 and 0, unless asked otherwise (segpress.options).
DEFAULT_ROI_QUALITY = 85
DEFAULT_BG_QUALITY = 25
# --effort: one scale for the encoders' speed/effort knobs, 1 (fastest) .. 9 (slowest, smallest); None
# leaves each encoder at its own default. Each codec maps it onto its knob (EFFORT_LEVELS in its module).
EFFORT_RANGE = (1, 9)


@dataclass(frozen=True)
class EncodeSettings:
    """Codec-independent knobs. Qualities are on the familiar 1..100 JPEG-like scale.

    Codecs whose ``roi_quality_step`` / ``bg_quality_step`` is 0 also take fractional qualities.
    """

    roi_quality: int = DEFAULT_ROI_QUALITY
    bg_quality: int = DEFAULT_BG_QUALITY
    progressive: bool = True
    subsampling: str = DEFAULT_SUBSAMPLING
    effort: int | None = None  # EFFORT_RANGE; None: the encoder's default


@dataclass(frozen=True)
class Metadata:
    """What a file carries besides pixels: colour profile, EXIF, and optionally the importance map."""

    icc_profile: bytes | None = None
    exif: bytes | None = None
    map_payload: bytes | None = None


# encode_uniform's signature: (pixels, quality, settings, metadata) -> file bytes.
UniformEncoder = Callable[[np.ndarray, int, "EncodeSettings", "Metadata"], bytes]


class Codec(ABC):
    name: ClassVar[str]
    extensions: ClassVar[tuple[str, ...]]
    mime: ClassVar[str]
    description: ClassVar[str]
    # What the saving is measured against, in words for reports.
    uniform_reference: ClassVar[str]
    # The smallest change of roi_quality / bg_quality that can change the file; 0 means any fraction
    # counts (the codec accepts float qualities). Rate control searches on this grid.
    roi_quality_step: ClassVar[float] = 1.0
    bg_quality_step: ClassVar[float] = 1.0
    # What the codec's libraries raise when they cannot encode or decode: Pillow says OSError.
    library_errors: ClassVar[tuple[type[Exception], ...]] = (OSError,)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for verb in ("encode", "encode_uniform", "decode"):
            method = cls.__dict__.get(verb)
            if method is not None and not getattr(method, "__isabstractmethod__", False):
                setattr(cls, verb, _library_errors_as_codec_errors(method, verb.replace("_", " ")))

    @property
    @abstractmethod
    def available(self) -> bool:
        """False when the library behind this codec is missing; the registry then says so."""

    @abstractmethod
    def version(self) -> str: ...

    @abstractmethod
    def check(self, data: bytes) -> bool:
        """Whether ``data`` looks like this codec's format (magic bytes only)."""

    @abstractmethod
    def encode(
        self,
        pixels: np.ndarray,
        importance: np.ndarray,
        settings: EncodeSettings,
        metadata: Metadata = Metadata(),
    ) -> bytes:
        """Region-adaptive encode: ``importance`` (float HxW in [0, 1]) steers quality."""

    @abstractmethod
    def encode_uniform(
        self, pixels: np.ndarray, quality: int, settings: EncodeSettings, metadata: Metadata = Metadata()
    ) -> bytes:
        """The same format at one quality everywhere, with the same settings otherwise."""

    def uniform_baselines(self, pixels: np.ndarray, settings: EncodeSettings) -> dict[str, UniformEncoder]:
        """Other plain encoders of the same format a user could choose instead of ``encode_uniform``
        (name -> an ``encode_uniform``-like callable), decoded by this codec; the saving is reported
        against each as well. None by default."""
        return {}

    def uniform_drafts(self, pixels: np.ndarray, settings: EncodeSettings) -> dict[str | None, UniformEncoder]:
        """Faster stand-ins for ``encode_uniform`` (key None) and for ``uniform_baselines`` (by name) whose
        files decode to exactly the same pixels at every quality, only their bytes differ (no lossless
        pass): a search that needs the PSNR at a quality, not the file (``uniform.match_uniform``), uses
        them. None by default: the search then encodes the real files."""
        return {}

    def notes(self, pixels: np.ndarray, settings: EncodeSettings) -> list[str]:
        """What the user should know about how this picture will be encoded (a fallback, say)."""
        return []

    @abstractmethod
    def decode(self, data: bytes) -> np.ndarray:
        """Pixels as uint8 HxW or HxWx3."""

    @abstractmethod
    def read_map(self, data: bytes) -> EmbeddedMap | None:
        """The importance map embedded with ``--keep-map``, or None."""


def _library_errors_as_codec_errors(method: Callable[..., Any], verb: str) -> Callable[..., Any]:
    """``method`` with the codec's ``library_errors`` raised as one-line ``CodecError``."""

    @functools.wraps(method)
    def reporting(self: Codec, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except self.library_errors as error:
            detail = " ".join(str(error).split()) or type(error).__name__
            raise CodecError(f"{self.name} {verb} failed: {detail}") from error

    return reporting
