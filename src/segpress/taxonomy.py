"""The segpress class taxonomy and the mappings from the datasets its segmenters learn from.

Compression policies decide how many bytes a region deserves, so the taxonomy keeps the
distinctions a policy can act on and merges the rest: people, vehicles, bicycles, animals and
signs are what viewers look at and what recognition needs; building, pole, fence and object
carry fine structure worth a little protection; sky, road, vegetation, water and terrain are
large textured backgrounds where bytes are cheapest to save. Species, vehicle types or tree
versus grass would never get different weights, so they are merged into one class each.

Ordinary photos added two distinctions at the end (existing indices keep their meaning, so label
maps written before stay valid): ``interior`` (walls, floors, ceilings, curtains, rugs: indoor
surfaces, as cheap as sky) and ``furniture`` (beds, tables, chairs, sofas, cabinets, shelves: large
and plain next to the household ``object`` class that a product shot protects).

The two source datasets label differently (CamVid: street scenes; MSRC-21: general photos);
``CAMVID_TO_TAXONOMY`` and ``MSRC_TO_TAXONOMY`` say how each source class maps onto the
taxonomy, and :func:`remap_labels` applies such a mapping to a label map.
"""

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from segpress.errors import InputError

# The label value of a pixel outside every class (unlabelled, void, ignored): one value everywhere.
UNLABELLED = 255

CLASSES: tuple[str, ...] = (
    "sky", "building", "pole", "road", "pavement", "vegetation", "sign", "fence",
    "vehicle", "person", "bicycle", "animal", "water", "terrain", "object",
    "interior", "furniture",
)

# CamVid's 11-class benchmark labelling; label 11 is "unlabelled".
CAMVID_CLASSES: tuple[str, ...] = (
    "sky", "building", "pole", "road", "pavement", "tree", "sign/symbol", "fence",
    "car", "pedestrian", "bicyclist",
)
CAMVID_IGNORE: tuple[int, ...] = (11,)

# MSRC-21 (v2), 255 = "void". The usual 21-class benchmark drops horse and mountain (too few
# examples); they are mapped anyway so no labelled pixel is lost.
MSRC_CLASSES: tuple[str, ...] = (
    "building", "grass", "tree", "cow", "horse", "sheep", "sky", "mountain", "aeroplane",
    "water", "face", "car", "bicycle", "flower", "sign", "bird", "book", "chair", "road",
    "cat", "dog", "body", "boat",
)
MSRC_IGNORE: tuple[int, ...] = (255,)

CAMVID_TO_TAXONOMY: dict[str, str] = {
    "sky": "sky", "building": "building", "pole": "pole", "road": "road",
    "pavement": "pavement", "tree": "vegetation", "sign/symbol": "sign", "fence": "fence",
    "car": "vehicle", "pedestrian": "person", "bicyclist": "bicycle",
}

MSRC_TO_TAXONOMY: dict[str, str] = {
    "building": "building", "grass": "vegetation", "tree": "vegetation", "cow": "animal",
    "horse": "animal", "sheep": "animal", "sky": "sky", "mountain": "terrain",
    "aeroplane": "vehicle", "water": "water", "face": "person", "car": "vehicle",
    "bicycle": "bicycle", "flower": "vegetation", "sign": "sign", "bird": "animal",
    "book": "object", "chair": "furniture", "road": "road", "cat": "animal", "dog": "animal",
    "body": "person", "boat": "vehicle",
}


def remap_labels(
    labels: np.ndarray,
    source_classes: Sequence[str],
    mapping: Mapping[str, str],
    ignore_index: int = UNLABELLED,
    source_ignore: Iterable[int] = (),
) -> np.ndarray:
    """Turn a source label map into taxonomy indices.

    Source classes missing from ``mapping`` and the ``source_ignore`` values become
    ``ignore_index``; any other value outside the source class list raises InputError.
    The result is uint8 when ``ignore_index`` fits in a byte, int32 otherwise.
    """
    labels = np.asarray(labels)
    if not np.issubdtype(labels.dtype, np.integer):
        raise InputError(f"label map must hold integers, got {labels.dtype}")
    for target in mapping.values():
        if target not in CLASSES:
            raise ValueError(f"mapping target {target!r} is not a taxonomy class")
    lut = np.array(
        [CLASSES.index(mapping[name]) if name in mapping else ignore_index for name in source_classes],
        dtype=np.int64,
    )
    known = (labels >= 0) & (labels < len(source_classes))
    bad = ~known & ~np.isin(labels, list(source_ignore))
    if bad.any():
        raise InputError(
            f"label value {labels[bad].flat[0]} is outside the {len(source_classes)} source classes"
        )
    dtype = np.uint8 if 0 <= ignore_index <= 255 else np.int32
    out = np.full(labels.shape, ignore_index, dtype=dtype)
    out[known] = lut[labels[known]]
    return out
