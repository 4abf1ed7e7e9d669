"""The text student: the first stages of MobileNetV2 (ImageNet weights) and a light feature pyramid that
predicts the cores of text lines at half the input resolution.

    image ─ MobileNetV2 features[0..13] ─ taps at 1/2 (16 ch), 1/4 (24), 1/8 (32), 1/16 (96)
        1/16 ─ 1x1 ─ up x2 ─ + 1/8 (1x1) ─ separable 3x3 ─ up x2 ─ + 1/4 (1x1) ─ separable 3x3
             ─ up x2 ─ + 1/2 (1x1) ─ separable 3x3 ─ 1x1 ─ up x2 (bilinear) ─ sigmoid: core probability HxW

Why this shape: small text (12 px) leaves a line core 3-6 px tall, which a stride-4 map (PP-OCR's DB
predicts at 1/4 and upsamples) blurs away unless the image is enlarged first, the expensive way the
teacher-sized detector reaches it. Predicting at 1/2 from stride-2 features keeps the input at the
image's own scale. Context to tell a line of text from gravel or a row of windows comes from the 1/16
taps (receptive field about 200 px). Stages past features[13] (stride 32) are not built: they add no
resolution and most of MobileNetV2's weights.

The network takes PP-OCR's input (BGR planes, x / 255 scaled to [-1, 1]) so that the runtime prepares
one tensor for either detector; ``forward`` converts it to the RGB ImageNet normalisation the
backbone's weights expect.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from segpress.train.model import MobileNetV2, load_imagenet_weights

# Indices into MobileNetV2.features whose outputs the pyramid taps, and their channels.
TAPS = {1: 16, 3: 24, 6: 32, 13: 96}
LAST_INDEX = 13
PYRAMID_CHANNELS = 32
FINE_CHANNELS = 16
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def separable(channels: int) -> nn.Sequential:
    """Depthwise 3x3 and pointwise 1x1, each with batch norm and ReLU."""
    return nn.Sequential(
        nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=False), nn.BatchNorm2d(channels), nn.ReLU(inplace=True),
        nn.Conv2d(channels, channels, 1, bias=False), nn.BatchNorm2d(channels), nn.ReLU(inplace=True),
    )


class TextStudent(nn.Module):
    """(N, 3, H, W) PP-OCR-normalised BGR (H, W multiples of 32) -> (N, 1, H, W) text-core probability."""

    def __init__(self, *, pretrained: bool = True) -> None:
        super().__init__()
        backbone = MobileNetV2(output_stride=32)
        if pretrained:
            load_imagenet_weights(backbone)
        self.features = backbone.features[: LAST_INDEX + 1]
        self.lateral = nn.ModuleDict({str(index): nn.Conv2d(channels, FINE_CHANNELS if index == 1 else PYRAMID_CHANNELS, 1)
                                      for index, channels in TAPS.items()})
        self.smooth8 = separable(PYRAMID_CHANNELS)
        self.smooth4 = separable(PYRAMID_CHANNELS)
        self.down2 = nn.Conv2d(PYRAMID_CHANNELS, FINE_CHANNELS, 1)
        self.smooth2 = separable(FINE_CHANNELS)
        self.classifier = nn.Conv2d(FINE_CHANNELS, 1, 1)
        # BGR in [-1, 1] -> RGB in ImageNet units: rgb = (x + 1) / 2, then (rgb - mean) / std.
        std = torch.tensor(_IMAGENET_STD[::-1]).view(1, 3, 1, 1)
        mean = torch.tensor(_IMAGENET_MEAN[::-1]).view(1, 3, 1, 1)
        self.register_buffer("input_scale", 0.5 / std, persistent=False)
        self.register_buffer("input_shift", (0.5 - mean) / std, persistent=False)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, H/2, W/2) logits of the text cores."""
        x = (x * self.input_scale + self.input_shift).flip(1)
        taps = {}
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in TAPS:
                taps[index] = self.lateral[str(index)](x)
        p8 = self.smooth8(taps[6] + _up(taps[13]))
        p4 = self.smooth4(taps[3] + _up(p8))
        p2 = self.smooth2(taps[1] + self.down2(_up(p4)))
        return self.classifier(p2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(F.interpolate(self.logits(x), scale_factor=2.0, mode="bilinear", align_corners=False))


def _up(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
