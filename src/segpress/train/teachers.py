"""Teacher targets: three pretrained segmenters, combined into soft targets over the segpress taxonomy.

The shipped network learned from about 840 labelled street and MSRC photos. Ordinary photos are
taught instead by three TFLite networks (``../shared/teachers``, Apache-2.0; training time only,
run with ``ai-edge-litert``), each trusted where it is strong::

    photo ─┬─ MOSAIC R4 (ADE20K top-31: surfaces, scenes)   ─ 32 logits ─ softmax/T ─ scene classes ─┐
           ├─ DeepLabV3 Pascal VOC (21 objects)              ─ labels + logits ─ softmax/T ─ objects ─┼─ combine ─ soft target
           └─ MediaPipe selfie (person probability)          ─ person check ───────────────────────────┘

Combining, per pixel of the target grid (a quarter of the photo's resolution):

- where VOC sees an object (its argmax is not background), the target is VOC's distribution over
  its object classes, folded into the taxonomy. VOC is the object teacher: MOSAIC and selfie call a
  cat *person*; VOC tells the cat from a person. A VOC *person* pixel that neither MOSAIC nor selfie
  sees as person is left out (a statue, a poster), and so is any object pixel VOC is unsure of;
- elsewhere the target is MOSAIC's distribution over the scene classes it knows. Where MOSAIC says
  *person* or *car* but VOC saw no object there, the teachers disagree: no loss. Where MOSAIC's
  mass sits on classes the taxonomy cannot place ("other", windows, doors, mirrors), or its top
  class is under the confidence floor: no loss.

A target is a ``(K, h, w)`` uint8 array (K = taxonomy classes; each pixel's column sums to 255, or
is all zero where there is no loss), saved as one compressed ``.npz`` per photo under the cache
folder, beside a ``teach.json`` that records the settings: a later run with other settings refuses
the folder rather than mixing targets. Runs are resumable (photos with a target are skipped).
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from segpress.errors import InputError, OptionError
from segpress.imageio import atomic_write
from segpress.taxonomy import CLASSES

MOSAIC_FILE = "mobile_segmenter_r4_quant_argmax_uint8.tflite"
VOC_FILE = "deeplabv3_mnv2_pascal_quant.tflite"
SELFIE_FILE = "selfie_segmentation.tflite"
TARGET_STRIDE = 4  # the target grid is the photo at a quarter of its resolution: MOSAIC's score stride
RECIPE = 1  # bump when the combination changes, so caches made before are refused

# MOSAIC R4 output index -> (ADE20K name, taxonomy class or None, why). None: no loss where MOSAIC's
# mass sits there. Person and car are listed for the record: VOC decides objects (see module doc).
MOSAIC_TO_TAXONOMY: tuple[tuple[str, str | None, str], ...] = (
    ("other", None, "unlabelled and ADE labels 32-150 together: signs, poles, boxes... anything"),
    ("wall", "interior", "indoor surface; outdoors a wall is mostly a building's, but MOSAIC says building there"),
    ("building", "building", "same class"),
    ("sky", "sky", "same class"),
    ("floor", "interior", "indoor surface"),
    ("tree", "vegetation", "taxonomy merges trees, grass and plants"),
    ("ceiling", "interior", "indoor surface"),
    ("road", "road", "same class"),
    ("bed", "furniture", "furniture; VOC does not know beds"),
    ("windowpane", None, "a building's window or a room's: no single class, and the view through it varies"),
    ("grass", "vegetation", "taxonomy merges trees, grass and plants"),
    ("cabinet", "furniture", "furniture; VOC does not know cabinets"),
    ("sidewalk", "pavement", "same class"),
    ("person", "person", "only where VOC agrees: MOSAIC calls cats and dogs person"),
    ("earth", "terrain", "bare ground"),
    ("door", None, "a building's door or a room's: no single class"),
    ("table", "furniture", "furniture (VOC's dining table agrees)"),
    ("mountain", "terrain", "MSRC's mountain maps to terrain too"),
    ("plant", "vegetation", "plants, potted ones included"),
    ("curtain", "interior", "soft furnishing that covers walls and windows: as cheap as the wall"),
    ("chair", "furniture", "furniture (VOC's chair agrees)"),
    ("car", "vehicle", "only where VOC agrees (VOC knows cars, buses, trains, boats, planes)"),
    ("water", "water", "same class"),
    ("painting", "object", "framed pictures carry detail worth keeping; VOC overrides where it sees an animal"),
    ("sofa", "furniture", "furniture (VOC's sofa agrees)"),
    ("shelf", "furniture", "furniture"),
    ("house", "building", "a house is a building"),
    ("sea", "water", "open water is water"),
    ("mirror", None, "shows whatever it reflects"),
    ("rug", "interior", "floor covering"),
    ("field", "terrain", "open land; crops and meadows look like terrain from afar"),
    ("armchair", "furniture", "furniture"),
)
# MOSAIC classes that are objects: VOC decides them, so MOSAIC alone never teaches them.
MOSAIC_OBJECT_CLASSES = frozenset({"person", "car"})

# DeepLabV3 VOC output index -> (VOC name, taxonomy class or None, why). Index 0 is background.
VOC_TO_TAXONOMY: tuple[tuple[str, str | None, str], ...] = (
    ("background", None, "not one of VOC's objects: MOSAIC decides the scene there"),
    ("aeroplane", "vehicle", "taxonomy merges vehicle types"),
    ("bicycle", "bicycle", "same class"),
    ("bird", "animal", "taxonomy merges species"),
    ("boat", "vehicle", "MSRC's boat maps to vehicle too"),
    ("bottle", "object", "household object"),
    ("bus", "vehicle", "taxonomy merges vehicle types"),
    ("car", "vehicle", "taxonomy merges vehicle types"),
    ("cat", "animal", "taxonomy merges species"),
    ("chair", "furniture", "furniture"),
    ("cow", "animal", "taxonomy merges species"),
    ("diningtable", "furniture", "furniture"),
    ("dog", "animal", "taxonomy merges species"),
    ("horse", "animal", "taxonomy merges species"),
    ("motorbike", "vehicle", "a motor vehicle; its rider stays person"),
    ("person", "person", "same class; checked against MOSAIC and selfie"),
    ("pottedplant", "vegetation", "plants, potted ones included"),
    ("sheep", "animal", "taxonomy merges species"),
    ("sofa", "furniture", "furniture"),
    ("train", "vehicle", "taxonomy merges vehicle types"),
    ("tvmonitor", "object", "household object"),
)


@dataclass(frozen=True)
class TeachSettings:
    """What a teacher target depends on; recorded in the cache's ``teach.json``."""

    temperature: float = 2.0  # softens the teachers' logits: their second choices carry information
    mosaic_floor: float = 0.5  # MOSAIC's top taxonomy class must hold this much mass, else no loss
    voc_floor: float = 0.5  # VOC's top object class must hold this much, else no loss
    person_check: float = 0.3  # a VOC person pixel needs MOSAIC person or selfie above this
    recipe: int = RECIPE


def fold(probabilities: np.ndarray, table: Sequence[tuple[str, str | None, str]], skip: frozenset[str] = frozenset()) -> np.ndarray:
    """(n, h, w) teacher probabilities -> (len(CLASSES), h, w) summed per taxonomy class.

    Rows of ``table`` mapped to None, and rows whose teacher name is in ``skip``, contribute nothing,
    so the result's sum per pixel is the mass the taxonomy can place.
    """
    folded = np.zeros((len(CLASSES), *probabilities.shape[1:]), np.float32)
    for index, (name, target, _why) in enumerate(table):
        if target is not None and name not in skip:
            folded[CLASSES.index(target)] += probabilities[index]
    return folded


def softmax(logits: np.ndarray, temperature: float, axis: int = 0) -> np.ndarray:
    scaled = logits / np.float32(temperature)
    scaled -= scaled.max(axis=axis, keepdims=True)
    np.exp(scaled, out=scaled)
    scaled /= scaled.sum(axis=axis, keepdims=True)
    return scaled


@dataclass(frozen=True)
class TeacherOutputs:
    """The three teachers' views of one photo, each on the target grid (h, w)."""

    mosaic: np.ndarray  # (32, h, w) float32 logits
    voc_labels: np.ndarray  # (h, w) int, 0 = background
    voc: np.ndarray  # (21, h, w) float32 logits
    selfie: np.ndarray  # (h, w) float32 person probability


def combine(outputs: TeacherOutputs, settings: TeachSettings) -> np.ndarray:
    """The soft target: (len(CLASSES), h, w) float32, each pixel a distribution or all zero (no loss)."""
    mosaic = softmax(outputs.mosaic, settings.temperature)
    voc = softmax(outputs.voc, settings.temperature)
    scene = fold(mosaic, MOSAIC_TO_TAXONOMY, skip=MOSAIC_OBJECT_CLASSES)
    objects = fold(voc, VOC_TO_TAXONOMY)
    mosaic_person = mosaic[[i for i, row in enumerate(MOSAIC_TO_TAXONOMY) if row[0] == "person"][0]]
    mosaic_objects = sum(mosaic[i] for i, row in enumerate(MOSAIC_TO_TAXONOMY) if row[0] in MOSAIC_OBJECT_CLASSES)

    is_object = outputs.voc_labels > 0
    object_mass = objects.sum(axis=0)
    objects = objects / np.maximum(object_mass, 1e-6)
    sure_object = is_object & (objects.max(axis=0) >= settings.voc_floor)
    voc_person = outputs.voc_labels == [row[0] for row in VOC_TO_TAXONOMY].index("person")
    seen_by_others = (mosaic_person >= settings.person_check) | (outputs.selfie >= settings.person_check)
    sure_object &= ~voc_person | seen_by_others

    scene_mass = scene.sum(axis=0)
    scene = scene / np.maximum(scene_mass, 1e-6)
    # MOSAIC's object classes where VOC saw none: the teachers disagree (a cat VOC missed, a person
    # VOC missed, a car MOSAIC imagined); so do pixels whose mass MOSAIC puts on unplaceable classes.
    sure_scene = ~is_object & (scene.max(axis=0) * scene_mass >= settings.mosaic_floor) & (mosaic_objects < 0.5)

    target = np.zeros_like(scene)
    target[:, sure_object] = objects[:, sure_object]
    target[:, sure_scene] = scene[:, sure_scene]
    return target


def quantise(target: np.ndarray) -> np.ndarray:
    """float distributions -> uint8 columns summing to 255 (all-zero columns stay zero)."""
    scaled = np.floor(target * 255).astype(np.int16)
    kept = target.sum(axis=0) > 0
    # Give the rounding remainder to each pixel's top class so a column sums to exactly 255.
    top = target.argmax(axis=0)
    remainder = np.where(kept, 255 - scaled.sum(axis=0), 0)
    np.put_along_axis(scaled, top[None], np.take_along_axis(scaled, top[None], 0) + remainder[None], 0)
    return scaled.astype(np.uint8)


def target_grid(height: int, width: int) -> tuple[int, int]:
    """(h, w) of the target grid for a photo of ``height`` x ``width``."""
    return -(-height // TARGET_STRIDE), -(-width // TARGET_STRIDE)


class Teachers:
    """The three TFLite networks, loaded once; ``teachers(rgb)`` gives :class:`TeacherOutputs`.

    The default op resolver (XNNPACK) is used for all three: selfie needs it for its custom op, and
    one resolver keeps the targets reproducible (MOSAIC's scores differ between resolvers).
    """

    def __init__(self, folder: str | Path, *, threads: int = 1) -> None:
        check_teachers(folder)
        from ai_edge_litert.interpreter import Interpreter

        folder = Path(folder)
        self.mosaic = Interpreter(model_path=str(folder / MOSAIC_FILE), num_threads=threads,
                                  experimental_preserve_all_tensors=True)
        self.voc = Interpreter(model_path=str(folder / VOC_FILE), num_threads=threads,
                               experimental_preserve_all_tensors=True)
        self.selfie = Interpreter(model_path=str(folder / SELFIE_FILE), num_threads=threads)
        for interpreter in (self.mosaic, self.voc, self.selfie):
            interpreter.allocate_tensors()
        self._mosaic_scores = _tensor(self.mosaic, "decoder/add")
        self._voc_logits = _voc_logits_tensor(self.voc)

    def __call__(self, rgb: np.ndarray) -> TeacherOutputs:
        grid = target_grid(*rgb.shape[:2])
        return TeacherOutputs(
            mosaic=self._run_mosaic(rgb, grid), **self._run_voc(rgb, grid), selfie=self._run_selfie(rgb, grid),
        )

    def _run_mosaic(self, rgb: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
        padded, (height, width) = _letterbox(rgb, 512)
        _invoke(self.mosaic, padded)
        scale, zero = self._mosaic_scores["quantization"]
        raw = self.mosaic.get_tensor(self._mosaic_scores["index"])[0]  # 128x128x32 at stride 4 of 512
        logits = (raw[: -(-height // 4), : -(-width // 4)].astype(np.float32) - zero) * scale
        return _resize_channels(logits, grid)

    def _run_voc(self, rgb: np.ndarray, grid: tuple[int, int]) -> dict[str, np.ndarray]:
        padded, (height, width) = _letterbox(rgb, 513)
        _invoke(self.voc, padded)
        labels = self.voc.get_tensor(self.voc.get_output_details()[0]["index"])[0, :height, :width]
        label_image = Image.fromarray(labels.astype(np.uint8)).resize(grid[::-1], Image.Resampling.NEAREST)
        scale, zero = self._voc_logits["quantization"]
        raw = self.voc.get_tensor(self._voc_logits["index"])[0, :height, :width]  # uint8, 513x513x21 padded
        logits = (raw.astype(np.float32) - zero) * scale
        return {"voc_labels": np.asarray(label_image), "voc": _resize_channels(logits, grid)}

    def _run_selfie(self, rgb: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
        # MediaPipe's graph stretches to 256x256 (no letterbox) and feeds [0, 1] floats.
        stretched = np.asarray(Image.fromarray(rgb).resize((256, 256), Image.Resampling.BILINEAR), np.float32) / 255
        _invoke(self.selfie, stretched)
        probability = self.selfie.get_tensor(self.selfie.get_output_details()[0]["index"])[0, :, :, 0]
        return np.asarray(Image.fromarray(probability).resize(grid[::-1], Image.Resampling.BILINEAR))


def check_teachers(folder: str | Path) -> None:
    """OptionError without ai-edge-litert, InputError without the three model files: before any work starts."""
    try:
        import ai_edge_litert.interpreter  # noqa: F401
    except ImportError as e:
        raise OptionError("the teachers run with ai-edge-litert: pip install 'segpress[train]'") from e
    for name in (MOSAIC_FILE, VOC_FILE, SELFIE_FILE):
        if not (Path(folder) / name).is_file():
            raise InputError(f"{Path(folder) / name}: teacher model not found (see ../shared/teachers/README.md)")


def _tensor(interpreter: Any, name: str) -> dict[str, Any]:
    return next(d for d in interpreter.get_tensor_details() if d["name"] == name)


def _voc_logits_tensor(interpreter: Any) -> dict[str, Any]:
    """VOC's class logits upsampled to the input size (513x513x21), just before the graph's argmax."""
    candidates = [
        d for d in interpreter.get_tensor_details() if len(d["shape"]) == 4 and d["shape"][-1] == len(VOC_TO_TAXONOMY)
    ]
    if not candidates:
        raise InputError("the VOC teacher has no 21-channel logits tensor: not the expected model file")
    return max(candidates, key=lambda d: int(d["shape"][1]))


def _letterbox(rgb: np.ndarray, side: int) -> tuple[np.ndarray, tuple[int, int]]:
    """The longer side scaled to ``side``, padded bottom/right with 128 (the inputs' zero point)."""
    height, width = rgb.shape[:2]
    scale = side / max(height, width)
    size = max(1, round(height * scale)), max(1, round(width * scale))
    canvas = np.full((side, side, 3), 128, np.uint8)
    canvas[: size[0], : size[1]] = np.asarray(Image.fromarray(rgb).resize(size[::-1], Image.Resampling.BILINEAR))
    return canvas, size


def _invoke(interpreter: Any, tensor: np.ndarray) -> None:
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], tensor[None])
    interpreter.invoke()


def _resize_channels(hwc: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """(h, w, c) float32 -> (c, *grid), bilinear per channel."""
    size = grid[::-1]
    return np.stack([
        np.asarray(Image.fromarray(np.ascontiguousarray(hwc[..., c])).resize(size, Image.Resampling.BILINEAR))
        for c in range(hwc.shape[-1])
    ])


# --- the cache of targets ------------------------------------------------------------------------

SETTINGS_FILE = "teach.json"


def target_path(cache: Path, photo: Path, root: Path) -> Path:
    """Where the target of ``photo`` (a file under ``root``) lives in ``cache``."""
    return (cache / photo.relative_to(root)).with_suffix(".npz")


def open_cache(cache: str | Path, settings: TeachSettings) -> Path:
    """The cache folder, created with its ``teach.json``; OptionError if it holds other settings."""
    cache = Path(cache)
    record = {**asdict(settings), "classes": list(CLASSES),
              "mosaic": [row[:2] for row in MOSAIC_TO_TAXONOMY], "voc": [row[:2] for row in VOC_TO_TAXONOMY]}
    record["fingerprint"] = hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()[:16]
    path = cache / SETTINGS_FILE
    if path.exists():
        saved = json.loads(path.read_text(encoding="utf-8"))
        if saved.get("fingerprint") != record["fingerprint"]:
            raise OptionError(f"{cache} holds targets made with other settings or classes; choose another cache folder")
        return cache
    cache.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(record, indent=1).encode(), overwrite=True)
    return cache


def save_target(path: Path, target: np.ndarray) -> None:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, target=quantise(target))
    atomic_write(path, buffer.getvalue(), overwrite=True)


def load_target(path: str | Path) -> np.ndarray:
    """The uint8 (K, h, w) target saved by :func:`save_target`."""
    with np.load(path) as archive:
        return archive["target"]
