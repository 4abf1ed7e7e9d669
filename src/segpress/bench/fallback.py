"""The fallback to uniform on the bench's semantic sweep: what ``compress`` hands a user at defaults.

``compress`` (with its default ``compare`` and ``fallback``) finds the uniform encode with the region-adaptive
file's PSNR inside the model's important region (``uniform.match_uniform``) and writes that uniform file when
the adaptive one is not smaller (``uniform.fallback_file``). The bench calls the same two functions on every
semantic point, on the same region (``Importance.region``: the model's region before margins, which is what
``compress`` measures PSNR inside on), so a semantic point is the file ``compress --roi-quality Q`` writes::

    adaptive file ─ decode ─ PSNR inside (model region) ─ match_uniform ─ fallback_file ─┬─ None: the adaptive file
                                                     UniformFiles (memo) ┘               └─ (data, q): uniform q

``UniformFiles`` memoises the uniform encodes of one image and format, shared by the uniform sweep and every
check: a quality the sweep (or an earlier check) encoded is not encoded again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from segpress.codecs import Codec, EncodeSettings, Metadata
from segpress.metrics import psnr
from segpress.uniform import UniformMatch, fallback_file, match_uniform


class UniformFiles:
    """``codec.encode_uniform`` of one image, memoised by quality (and the settings a uniform encode reads).

    ``encode`` has ``encode_uniform``'s signature, so ``match_uniform`` takes it as its encoder; ``encodes``
    counts the encodes actually made and ``seconds`` keeps each file's encode time.
    """

    def __init__(self, codec: Codec, pixels: np.ndarray) -> None:
        self.codec, self.pixels = codec, pixels
        self.encodes = 0
        self.seconds: dict[tuple, float] = {}
        self._files: dict[tuple, bytes] = {}

    @staticmethod
    def _key(quality: int, settings: EncodeSettings, metadata: Metadata) -> tuple:
        # A uniform encode reads its quality, not settings' roi and background qualities.
        return (quality, settings.progressive, settings.subsampling, settings.effort, metadata)

    def encode(self, pixels: np.ndarray, quality: int, settings: EncodeSettings, metadata: Metadata = Metadata()) -> bytes:
        if pixels is not self.pixels:
            raise ValueError("UniformFiles encodes the one image it was made for")
        key = self._key(quality, settings, metadata)
        if key not in self._files:
            started = time.perf_counter()
            self._files[key] = self.codec.encode_uniform(pixels, quality, settings, metadata)
            self.seconds[key] = time.perf_counter() - started
            self.encodes += 1
        return self._files[key]

    def timed(self, quality: int, settings: EncodeSettings) -> tuple[bytes, float]:
        """The file at ``quality`` (no metadata) and the seconds its encode took."""
        data = self.encode(self.pixels, quality, settings)
        return data, self.seconds[self._key(quality, settings, Metadata())]


@dataclass(frozen=True)
class Check:
    """``compress``'s decision for one region-adaptive file."""

    match: UniformMatch
    written: tuple[bytes, int] | None = field(repr=False)  # the uniform file (and quality) written instead
    seconds: float  # the check's time: the PSNR inside, the match, the decision
    encodes: int  # uniform encodes the check added (those the sweep or an earlier check made are reused)

    def describe(self) -> dict[str, Any]:
        match = self.match
        return {
            "uniform_bytes": match.size, "uniform_quality": match.quality, "reached": match.reached,
            "reaching_bytes": None if match.data is None else len(match.data), "reaching_quality": match.data_quality,
            "seconds": self.seconds, "encodes": self.encodes,
        }


def check(codec: Codec, pixels: np.ndarray, region: np.ndarray, data: bytes, decoded: np.ndarray,
          settings: EncodeSettings, files: UniformFiles) -> Check | None:
    """Whether ``compress`` would write a uniform file instead of ``data`` (decoded: ``decoded``), and which.

    None where ``compress`` checks nothing: an image without an important region.
    """
    if not region.any():
        return None
    started, before = time.perf_counter(), files.encodes
    inside = psnr(pixels, decoded, region)
    match = match_uniform(codec, pixels, region, inside, settings, Metadata(), files.encode)
    written = fallback_file(codec, pixels, region, len(data), inside, match, None, settings, Metadata())
    return Check(match, written, time.perf_counter() - started, files.encodes - before)
