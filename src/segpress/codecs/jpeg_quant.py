"""Block-by-block quantisation for region-adaptive JPEG.

A JPEG file holds one quantisation table per colour component, fixed for the whole picture. To vary
quality block by block while staying a standard file, the file keeps the *finest* table (the one of
``roi_quality``) and each less important block is re-quantised more coarsely in place::

    uniform encode at roi_quality -> coefficients c (in units of the roi table Q_roi)
    block importance w in [0, 1]  -> block quality q = bg + (roi - bg) * w  -> table Q_q
    c' = round(deadzone_round(c * Q_roi / Q_q) * Q_q / Q_roi)   (a coarser quantiser, stored in Q_roi units)

A block of importance 1 gets ``Q_q == Q_roi`` and keeps exactly the coefficients of the uniform encode.
The quantiser step of every other block follows its own quality, continuously (one level per integer
quality between ``bg_quality`` and ``roi_quality``). Zeroed high frequencies are what saves the bytes:
the entropy coder's end-of-block code absorbs them.

The tables ``Q_q`` are the encoder's own at each quality: IJG's (``ijg_tables``) under libjpeg-turbo,
jpegli's (``segpress.codecs.jpegli.tables``) under jpegli, so that ``Q_roi`` is the table the uniform
encode wrote.

Re-quantising already quantised values adds at most half a ``Q_roi`` step of error, which is small
next to the coarse step ``Q_q`` of the background; it spares a second DCT of the whole picture.
"""

from __future__ import annotations

import numpy as np

# The example tables of the JPEG standard (ITU-T T.81, Annex K), in natural (row-major) order.
# These are the tables libjpeg scales with its quality setting, so a quality here means what it means
# in Pillow, libjpeg-turbo and every IJG-based tool.
LUMINANCE_BASE = np.array(
    [
        [16, 11, 10, 16, 24, 40, 51, 61],
        [12, 12, 14, 19, 26, 58, 60, 55],
        [14, 13, 16, 24, 40, 57, 69, 56],
        [14, 17, 22, 29, 51, 87, 80, 62],
        [18, 22, 37, 56, 68, 109, 103, 77],
        [24, 35, 55, 64, 81, 104, 113, 92],
        [49, 64, 78, 87, 103, 121, 120, 101],
        [72, 92, 95, 98, 112, 100, 103, 99],
    ],
    dtype=np.int32,
)
CHROMINANCE_BASE = np.array(
    [
        [17, 18, 24, 47, 99, 99, 99, 99],
        [18, 21, 26, 66, 99, 99, 99, 99],
        [24, 26, 56, 99, 99, 99, 99, 99],
        [47, 66, 99, 99, 99, 99, 99, 99],
        [99, 99, 99, 99, 99, 99, 99, 99],
        [99, 99, 99, 99, 99, 99, 99, 99],
        [99, 99, 99, 99, 99, 99, 99, 99],
        [99, 99, 99, 99, 99, 99, 99, 99],
    ],
    dtype=np.int32,
)


def jpeg_scale(quality: float) -> float:
    """libjpeg's quantiser scale for ``quality`` (1 at 50, 2 at 25, 0.3 at 85, 0 at 100), continuous.

    The one definition of the quality scale: the tables below use its integer form, conditioning,
    rate control and the JPEG 2000 mapping its continuous one.
    """
    quality = min(max(float(quality), 1.0), 100.0)
    return 50.0 / quality if quality < 50 else (200.0 - 2.0 * quality) / 100.0


def ijg_table(base: np.ndarray, quality: int) -> np.ndarray:
    """The table libjpeg's ``jpeg_set_quality(quality, force_baseline=TRUE)`` derives from ``base``."""
    if not 1 <= quality <= 100:
        raise ValueError(f"JPEG quality must be within 1..100, got {quality}")
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality  # jpeg_scale in percent, as libjpeg rounds it
    return np.clip((base * scale + 50) // 100, 1, 255).astype(np.int32)


def _all_tables(base: np.ndarray) -> np.ndarray:
    """Tables for qualities 0..100 (row 0 unused), shape (101, 8, 8), for vectorised lookup."""
    tables = np.ones((101, 8, 8), dtype=np.float32)
    for quality in range(1, 101):
        tables[quality] = ijg_table(base, quality)
    return tables


# Coarser blocks round towards zero a little (rounding offset 0.2 instead of 0.5), as video encoders
# do for inter blocks: a value just over half a step is not worth its bits here, because the
# background stores each coefficient in units of the fine roi table and every non-zero one pays extra
# magnitude bits. Measured on 15 CamVid val frames (roi qualities 50-95): without it, background
# quality 20 gave BD-rate -47.5% at 28.1 dB outside; with it, quality 30 gave -48.7% at 28.4 dB.
BACKGROUND_DEADZONE = 0.3

# Coefficients re-quantised at once: bounds requantize's float32 temporaries to a few MB.
_STRIP_COEFFICIENTS = 1 << 17

_IJG_TABLES = {"luma": _all_tables(LUMINANCE_BASE), "chroma": _all_tables(CHROMINANCE_BASE)}


def ijg_tables(kind: str) -> np.ndarray:
    """libjpeg's tables for qualities 0..100 (row 0 unused), shape (101, 8, 8); ``kind``: luma or chroma."""
    return _IJG_TABLES[kind]


def block_qualities(block_importance: np.ndarray, roi_quality: int, bg_quality: int) -> np.ndarray:
    """Integer quality per block: linear in importance between ``bg_quality`` and ``roi_quality``."""
    weights = np.clip(block_importance, 0.0, 1.0)
    return np.rint(bg_quality + (roi_quality - bg_quality) * weights).astype(np.int32)


def requantize(
    coefficients: np.ndarray,
    qualities: np.ndarray,
    roi_quality: int,
    tables: np.ndarray,
    file_table: np.ndarray | None = None,
) -> np.ndarray:
    """Re-quantise one component's blocks to per-block qualities, keeping the file's (roi) table.

    Args:
        coefficients: quantised DCT blocks of a uniform encode at ``roi_quality``, shape (rows, cols, 8, 8).
        qualities: quality per block, shape (rows, cols); values >= ``roi_quality`` leave a block as is.
        roi_quality: the quality of the uniform encode.
        tables: the step per quality for this component, shape (101, 8, 8) (``ijg_tables``, or
            ``jpegli.background_tables``); a block never gets a step finer than ``file_table``'s.
        file_table: the table the coefficients are in units of (the uniform encode's); by default
            ``tables[roi_quality]``, as under libjpeg-turbo.
    Returns:
        int16 blocks of the same shape, in units of ``file_table``.
    """
    roi_table = tables[roi_quality] if file_table is None else np.asarray(file_table, np.float32)
    # A block never gets finer than the file's table: there is nothing finer left to recover.
    steps = np.maximum(tables, roi_table)
    steps[roi_quality:] = roi_table  # importance 1 keeps the uniform encode's step whatever the tables say
    down, up = roi_table / steps, steps / roi_table
    # Rounding offset: 0.5 (plain rounding) where the step is the file's own, 0.5 - DEADZONE where
    # the block is re-quantised more coarsely.
    offsets = np.where(down < 1.0, 0.5 - BACKGROUND_DEADZONE, 0.5).astype(np.float32)
    out = np.empty(coefficients.shape, np.int16)
    # Block rows a few at a time: the float32 temporaries of a whole 40-megapixel picture took ~1 GB.
    step = max(1, _STRIP_COEFFICIENTS // max(1, coefficients[:1].size))
    for top in range(0, len(coefficients), step):
        rows = slice(top, top + step)
        chosen = qualities[rows]
        scaled = coefficients[rows] * down[chosen]
        levels = np.sign(scaled) * np.floor(np.abs(scaled) + offsets[chosen])
        # At roi_quality (and above) down == up == 1 and the offset is 0.5, so those blocks come back
        # unchanged, bit-exact with the uniform encode, with no special case.
        out[rows] = np.rint(levels * up[chosen])
    return out
