"""The detectors loaded once per process, as the front ends ask for them, and ``describe``."""

from __future__ import annotations

import functools

from ..errors import OptionError
from .detector import TextDetector
from .models import student_network
from .network import DEFAULT_SCALE


def default_detector(scale: float | None = None, threads: int | None = None) -> TextDetector:
    """The shipped text detector at ``scale`` (None: ``DEFAULT_SCALE``), loaded once per process."""
    return _loaded_detector(DEFAULT_SCALE if scale is None else float(scale), threads)


@functools.lru_cache(maxsize=4)
def _loaded_detector(scale: float, threads: int | None) -> TextDetector:
    return TextDetector(scale=scale, threads=threads)


def detector_for(
    use_text: bool, scale: float | None = None, threads: int | None = None, *, policy_scale: float | None = None
) -> TextDetector | None:
    """The detector at ``scale`` (None: the policy's ``text_scale``, given as ``policy_scale``, else
    ``DEFAULT_SCALE``) when text is on, loaded now so that a bad scale stops a run before any image;
    None when text is off, where a scale is a mistake (``OptionError``).
    For ``segpress compress``, ``segment`` and ``batch``."""
    if not use_text:
        if scale is not None:
            raise OptionError("--text-scale applies only with --text (or a policy that lists text)")
        return None
    return default_detector(policy_scale if scale is None else scale, threads)


def describe() -> str:
    """One line for ``segpress formats``: the shipped detector and its file."""
    try:
        network = student_network()
    except OptionError as error:
        return str(error)
    return f"{network.name} ({network.path}), working scale {DEFAULT_SCALE:g}"
