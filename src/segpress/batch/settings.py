"""A batch job's settings: what ``segpress.api.compress`` is asked to do for every image, and its fingerprint.

The fingerprint decides what a re-run may skip: an input done before is done again when the
fingerprint of the job that made it differs from this job's (or when the input itself changed, see
:mod:`segpress.batch.work`). It hashes every option (the policy by its contents, not its name, so an
edited policy file counts as a change) and the segmentation model's files (the ONNX network and, for
a user model, its config), so a retrained model redoes the archive.

Settings travel to worker processes and Ray actors, so they hold plain values only: the policy as its
fields, the segmenter as a path.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import api, codecs
from ..options import BATCH_DEFAULTS, CompressOptions, check_sources
from ..policy import Policy, load_policy
from ..segmenters import Segmenter, default_segmenter, load_segmenter
from ..segmenters.loading import shipped_model_dir
from ..text import DEFAULT_SCALE as DEFAULT_TEXT_SCALE
from ..text import default_detector, detector_for


@dataclass(frozen=True)
class JobSettings:
    """The options of one batch job, checked. Build it with :func:`job_settings`."""

    options: CompressOptions  # how every image is encoded
    policy: dict[str, Any]  # the Policy's fields (a Policy holds a mappingproxy, which does not pickle)
    segmenter: str | None = None  # a user model config; None: the shipped model
    mask: str | None = None  # a folder (path or URL) mirroring the source: <relative stem>.png per image
    labels: str | None = None  # the same for label maps
    model_sha256: str | None = None  # of the model's files; None when masks or label maps are given
    text: bool = False  # text detection on (asked for, or the policy lists text)
    text_scale: float = DEFAULT_TEXT_SCALE  # the detector's working scale (--text-scale)

    @property
    def uses_model(self) -> bool:
        return self.mask is None and self.labels is None

    @property
    def extension(self) -> str:
        """The extension of every output file, as ``segpress compress`` names it."""
        return codecs.get(self.options.format).extensions[0]

    def values(self) -> dict[str, Any]:
        """Every setting by name, the compress options among them (the manifest's ``settings``)."""
        job = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "options"}
        return {**dataclasses.asdict(self.options), **job}

    def fingerprint(self) -> str:
        """A short hash of everything that shapes the output files and their figures."""
        text = json.dumps(self.values(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def compress_options(self) -> dict[str, Any]:
        """Keyword arguments of ``segpress.api.compress`` (all but the image and its importance source)."""
        # The detector is loaded once per worker process (cached), with one thread as the segmenter.
        detector = default_detector(self.text_scale, threads=1) if self.text else False
        return {"policy": Policy(**self.policy), "text": detector, "options": self.options}

    def load_segmenter(self, threads: int | None = 1) -> Segmenter:
        """The model this job segments with; one onnxruntime thread by default (one per worker)."""
        if self.segmenter is None:
            return default_segmenter(threads)
        return load_segmenter(self.segmenter, threads=threads)


def job_settings(
    *,
    policy: str | Path = "default",
    segmenter: str | Path | None = None,
    mask: str | None = None,
    labels: str | None = None,
    text: bool | None = None,
    text_scale: float | None = None,
    **options: Any,
) -> JobSettings:
    """Checked settings: every option error is raised here, before any file is read (``OptionError``).

    ``options``: fields of :class:`~segpress.options.CompressOptions` (``BATCH_DEFAULTS`` where not
    given). The model (and the text detector, when text is on) is loaded once here, so a broken model
    config or a bad text scale fails the job up front instead of every image. ``text`` None:
    as the policy says (``api.wants_text``).
    """
    chosen = CompressOptions(**{**BATCH_DEFAULTS, **options})
    check_sources(mask=mask, labels=labels, segmenter=segmenter, command_line=True)
    chosen_policy = load_policy(policy)
    use_text = api.wants_text(text, chosen_policy)
    detector_for(use_text, text_scale, threads=1, policy_scale=chosen_policy.text_scale)
    settings = JobSettings(
        options=chosen, policy=_policy_fields(chosen_policy),
        segmenter=None if segmenter is None else str(Path(segmenter).resolve()),
        mask=mask, labels=labels, text=use_text,
        text_scale=float(text_scale if text_scale is not None else chosen_policy.text_scale or DEFAULT_TEXT_SCALE),
    )
    if not settings.uses_model:
        return settings
    model = settings.load_segmenter()
    return dataclasses.replace(settings, model_sha256=_model_hash(model, segmenter))


def _policy_fields(policy: Policy) -> dict[str, Any]:
    """The policy's fields as plain values (its tables are read-only mappings, which do not pickle)."""
    fields = {f.name: getattr(policy, f.name) for f in dataclasses.fields(Policy)}
    return {name: dict(sorted(value.items())) if isinstance(value, Mapping) else value for name, value in fields.items()}


def _model_hash(model: Segmenter, config: str | Path | None) -> str:
    """sha256 over the ONNX file, the metadata beside it and, for a user model, its config file."""
    onnx_file = Path(getattr(model, "path", None) or shipped_model_dir() / "segmenter.onnx")
    files = dict.fromkeys([onnx_file, onnx_file.with_suffix(".json"), *([Path(config)] if config else [])])
    digest = hashlib.sha256()
    for file in files:
        if file.is_file():
            digest.update(file.name.encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()
