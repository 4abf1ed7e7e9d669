"""Uploaded images and their segmentation, kept so that a new policy costs an encode, not a network run.

    upload bytes ─ sha256 ─ ImageStore (LRU, bounded in entries and bytes) ─ StoredImage
                                                                             ├─ segmentation, shares
                                                                             ├─ text detection, made once on demand
                                                                             └─ renditions (PNG), made once on demand

An image is known by the hash of its bytes, so the same upload twice is segmented once, and an id
names exactly one picture. ``segpress.api.compress`` takes the kept segmentation as it is, so a new
policy needs no network run.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from ..segmenters import Segmentation
from ..text import TextDetection


def image_id(data: bytes) -> str:
    """The id of an upload: the hex SHA-256 of its bytes."""
    return hashlib.sha256(data).hexdigest()


@dataclass
class StoredImage:
    """One upload as received, and what the segmenter found in it."""

    id: str
    name: str  # the upload's file name, for error messages and download names
    data: bytes = field(repr=False)  # the file as uploaded: compress() reads ICC and EXIF from it
    segmentation: Segmentation = field(repr=False)
    shares: dict[str, float]  # class -> fraction of pixels, largest first
    notes: list[str]  # conversions load_image applied (orientation, alpha, bit depth...)
    renditions: dict[str, bytes] = field(default_factory=dict, repr=False)
    _text: TextDetection | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def width(self) -> int:
        return self.segmentation.width

    @property
    def height(self) -> int:
        return self.segmentation.height

    @property
    def nbytes(self) -> int:
        """Memory held, counting the full-size label map and room for the PNG renditions and a text detection."""
        pixels = self.width * self.height
        working = self.segmentation.working_probabilities.nbytes
        return len(self.data) + working + pixels + 4 * pixels + 3 * pixels

    def text(self, detect: Callable[[StoredImage], TextDetection]) -> TextDetection:
        """The text found in the image, by ``detect`` the first time (a policy with text asks for it; every
        served policy with text is the `text` preset, adjusted or not, so one scale)."""
        with self._lock:  # two requests detect once
            if self._text is None:
                self._text = detect(self)
            return self._text

    def rendition(self, kind: str, make: Callable[[StoredImage], bytes]) -> bytes:
        """The PNG called ``kind``, made by ``make`` the first time it is asked for."""
        with self._lock:  # two requests for the same rendition make it once
            if kind not in self.renditions:
                self.renditions[kind] = make(self)
            return self.renditions[kind]


class ImageStore:
    """Least-recently-used images, at most ``entries`` of them and about ``max_bytes`` together."""

    def __init__(self, entries: int, max_bytes: int) -> None:
        self._items: OrderedDict[str, StoredImage] = OrderedDict()
        self._lock = threading.Lock()
        self.entries = entries
        self.max_bytes = max_bytes

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: str) -> StoredImage | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, image: StoredImage) -> StoredImage:
        """Keep ``image`` (the one already kept under its id wins), dropping the oldest beyond the bounds."""
        with self._lock:
            kept = self._items.setdefault(image.id, image)
            self._items.move_to_end(image.id)
            while len(self._items) > 1 and (
                len(self._items) > self.entries or sum(i.nbytes for i in self._items.values()) > self.max_bytes
            ):
                self._items.popitem(last=False)
            return kept

