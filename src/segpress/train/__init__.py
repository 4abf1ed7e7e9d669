"""Training the segmentation network (needs the ``train`` extra: torch, onnx, onnxruntime).

The only part of segpress that imports torch; inference uses the exported ONNX file instead.

- :mod:`~segpress.train.model`: MobileNetV2 + LR-ASPP, ``build_model``.
- :mod:`~segpress.train.data`: dataset readers into the taxonomy, augmentation.
- :mod:`~segpress.train.config`: the TOML training config.
- :mod:`~segpress.train.loop`: ``train(config)`` and ``evaluate(model, dataset)``.
- :mod:`~segpress.train.export`: ONNX export with a metadata JSON.

Command line: ``python -m segpress.train train CONFIG`` and ``python -m segpress.train export CKPT OUT.onnx``.
"""
