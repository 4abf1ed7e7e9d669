"""Ordinary photos that ship inside installed packages, for the hand-drawn subject masks in tests/data.

Nothing is downloaded: every photo is a file inside a wheel the dev set-up installs (``make test``).
Each loader returns an HxWx3 uint8 array at the size its mask was drawn at. Origins and terms:

- ``astronaut``, ``chelsea``, ``motorcycle``, ``coffee``, ``rocket``: ``skimage.data`` (scikit-image's
  bundled files). Astronaut: NASA, public domain; Chelsea: Stefan van der Walt, CC0; motorcycle: the
  Middlebury stereo set (``stereo_motorcycle()``); coffee: Rachel Michetti for Pikolo Espresso Bar, CC0;
  rocket: DSCOVR on Falcon 9, SpaceX, public domain.
- ``hopper``: Matplotlib's ``mpl-data/sample_data/grace_hopper.jpg`` (``matplotlib.cbook.get_sample_data``),
  the official US Navy portrait of Grace Hopper, public domain (work of the US government).
- ``china``: scikit-learn's ``load_sample_image("china.jpg")`` (the Summer Palace, Beijing), CC BY 2.0,
  danielbuechele on Flickr, as scikit-learn's ``datasets/images/README.txt`` says.
- ``ascent``: PyWavelets' ``pywt.data.ascent()``, grey, from public-domain-image.com ("accent to the
  top"), public domain, as the function's docstring says.
- ``macaque``: plenoptic's ``plenoptic/data/macaca_nigra_self-portrait.jpg`` (``plenoptic.data.macaque``),
  the monkey selfie, public domain as plenoptic's docstring says. plenoptic imports torch, so the file
  is read from the package folder without importing it (``make test`` installs the wheel with
  ``--no-deps``); it is reduced 2.5x (box filter) to 434x600.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import data as skdata


def _package_file(package: str, *parts: str) -> Path:
    """A file inside an installed package, found without importing the package."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"package {package!r} is not installed (make test installs it)")
    return Path(next(iter(spec.submodule_search_locations)), *parts)


def _rgb(path: Path, size: tuple[int, int] | None = None) -> np.ndarray:
    with Image.open(path) as image:
        image = image.convert("RGB")
        if size is not None:
            image = image.resize(size, Image.Resampling.BOX)
        return np.asarray(image)


def hopper() -> np.ndarray:
    return _rgb(_package_file("matplotlib", "mpl-data", "sample_data", "grace_hopper.jpg"))


def china() -> np.ndarray:
    return _rgb(_package_file("sklearn", "datasets", "images", "china.jpg"))


def ascent() -> np.ndarray:
    with np.load(_package_file("pywt", "data", "ascent.npz")) as archive:
        grey = archive["data"].astype(np.uint8)
    return np.repeat(grey[:, :, None], 3, axis=2)


def macaque() -> np.ndarray:
    return _rgb(_package_file("plenoptic", "data", "macaca_nigra_self-portrait.jpg"), size=(434, 600))


PHOTOS: dict[str, Callable[[], np.ndarray]] = {
    "chelsea": skdata.chelsea,
    "astronaut": skdata.astronaut,
    "motorcycle": lambda: skdata.stereo_motorcycle()[0],
    "hopper": hopper,
    "macaque": macaque,
    "rocket": skdata.rocket,
    "ascent": ascent,
    "coffee": skdata.coffee,
    "china": china,
}
