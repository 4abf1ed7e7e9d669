"""``segpress bench``: rate-distortion and task-fidelity evaluation on the user's own images.

For every image, format and mode (uniform, semantic) the quality sweep is encoded, decoded and
measured: bytes, bpp, PSNR / SSIM / MS-SSIM over the whole image, the important region and the
background, an importance-weighted PSNR, encode, decode and segmentation time, and the
segmentation model's labels on the decoded image (mIoU against the ground truth and against its
own labels on the original). A semantic point is the file ``compress`` writes at defaults: the uniform
file where the region-adaptive one is not smaller at the same PSNR inside (``--no-fallback``: the
region-adaptive file always). The run ends with BD-rates of every semantic mode against every
uniform codec, RD plots, a Markdown and an HTML report and ``results.json`` (schema in
:mod:`segpress.bench.schema`).

Modules: ``settings`` (what is measured), ``inputs`` (images, label maps, failures), ``quality``
(SSIM, MS-SSIM, weighted PSNR over regions), ``measure`` (one image, in a worker), ``fallback``
(compress's fallback to uniform on each semantic point), ``cache`` (resume), ``summary`` (curves, BD-rates,
the fallback's counts, mIoU, at equal bytes too, timing), ``schema``, ``report`` (its sections, rendered by
``blocks``, figures from ``plots``), ``runner``, and ``record``
(the machine and versions of a run, shared with the scripts under ``benchmarks/``, and their results'
shape).
"""

# Loaded on first use: the CLI reads the defaults in .settings for its --help without the measuring code
# (SSIM from scikit-image, the worker pool, the reports).
_LAZY = {"Outcome": "runner", "run_bench": "runner", "SCHEMA_VERSION": "schema",
         **dict.fromkeys(("DEFAULT_FORMATS", "DEFAULT_QUALITIES", "BenchSettings", "Labels"), "settings")}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'segpress.bench' has no attribute {name!r}")


__all__ = ["DEFAULT_FORMATS", "DEFAULT_QUALITIES", "SCHEMA_VERSION", "BenchSettings", "Labels", "Outcome", "run_bench"]
