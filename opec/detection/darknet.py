"""YOLOv3 Darknet network built from a cfg file (AlphaPose ``yolo/darknet.py`` semantics, docs/detection.md).

Every layer type of ``yolov3-spp.cfg`` is supported: convolutional (with or without batch norm,
leaky or linear), shortcut, route (relative or absolute indices), nearest upsample, max-pool (the
stride-1 SPP pools pad with zeros) and yolo (decoding to boxes, docs/detection.md).

Frames: the input is letterboxed RGB in [0, 1], shape (B, 3, D, D); decoded boxes are
(centre x, centre y, w, h) in input pixels.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from opec.onednn import CONV_POINTWISE

from .cfg import CfgBlock, CfgError, DarknetCfg, parse_cfg

LEAKY_SLOPE = 0.1
BN_EPS = 1e-5  # AlphaPose uses PyTorch's default eps; darknet itself uses 1e-6


def _use_onednn(x: torch.Tensor, conv: nn.Conv2d) -> bool:
    """Inference on CPU float32 without autograd: oneDNN's fused conv (opec/onednn.py) has no backward."""
    return (CONV_POINTWISE is not None and x.device.type == "cpu" and x.dtype == torch.float32
            and not (torch.is_grad_enabled() and (x.requires_grad or conv.weight.requires_grad)))


class Convolutional(nn.Module):
    """conv → [BatchNorm] → [LeakyReLU 0.1]. The conv has a bias only when there is no batch norm."""

    def __init__(self, in_channels: int, filters: int, size: int, stride: int, pad: bool,
                 batch_normalize: bool, leaky: bool):
        super().__init__()
        self.batch_normalize = batch_normalize
        self.conv = nn.Conv2d(in_channels, filters, size, stride,
                              padding=(size - 1) // 2 if pad else 0, bias=not batch_normalize)
        self.bn = nn.BatchNorm2d(filters, eps=BN_EPS) if batch_normalize else None
        self.leaky = leaky

    def forward(self, x: torch.Tensor, cache: dict) -> torch.Tensor:
        if self.bn is None and _use_onednn(x, self.conv):
            conv = self.conv
            return CONV_POINTWISE(x, conv.weight, conv.bias, list(conv.padding), list(conv.stride),
                                list(conv.dilation), conv.groups, "leaky_relu" if self.leaky else "none",
                                [LEAKY_SLOPE] if self.leaky else [], "")
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        if self.leaky:
            x = F.leaky_relu(x, LEAKY_SLOPE, inplace=True)
        return x

    @torch.no_grad()
    def fuse_batchnorm(self) -> None:
        """Fold the (eval-mode) batch norm into the conv: w' = w·γ/σ, b' = β − μ·γ/σ."""
        if self.bn is None:
            return
        bn = self.bn
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        fused = nn.Conv2d(self.conv.in_channels, self.conv.out_channels, self.conv.kernel_size,
                          self.conv.stride, self.conv.padding, bias=True).to(self.conv.weight)
        fused.weight.copy_(self.conv.weight * scale.view(-1, 1, 1, 1))
        fused.bias.copy_(bn.bias - bn.running_mean * scale)
        self.conv = fused
        self.bn = None


class Shortcut(nn.Module):
    """Residual sum: out[i] = out[i-1] + out[source]."""

    def __init__(self, source: int, inplace: bool):
        super().__init__()
        self.source = source
        self.inplace = inplace  # safe when out[i-1] is a fresh conv output nobody else reads

    def forward(self, x: torch.Tensor, cache: dict) -> torch.Tensor:
        if self.inplace and not torch.is_grad_enabled():  # autograd may need the conv output itself
            return x.add_(cache[self.source])
        return x + cache[self.source]


class Route(nn.Module):
    """Channel concatenation of earlier outputs, in the listed order (absolute indices)."""

    def __init__(self, sources: list[int]):
        super().__init__()
        self.sources = sources

    def forward(self, x: torch.Tensor, cache: dict) -> torch.Tensor:
        if len(self.sources) == 1:
            return cache[self.sources[0]]
        return torch.cat([cache[s] for s in self.sources], dim=1)


class Upsample(nn.Module):
    """Nearest-neighbour upsampling: each pixel repeated stride × stride."""

    def __init__(self, stride: int):
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor, cache: dict) -> torch.Tensor:
        return F.interpolate(x, scale_factor=self.stride, mode="nearest")


class MaxPool(nn.Module):
    """Max-pool. Stride 1 (the SPP pools): zero padding of (size-1)//2 per side, same spatial size.

    The zeros take part in the max (not -inf, as PyTorch's ``padding=`` would): AlphaPose pads
    explicitly with zeros, which changes outputs wherever a window holds only negative values.
    """

    def __init__(self, size: int, stride: int):
        super().__init__()
        self.size, self.stride = size, stride

    def forward(self, x: torch.Tensor, cache: dict) -> torch.Tensor:
        if self.stride == 1:
            pad = (self.size - 1) // 2
            x = F.pad(x, (pad, pad, pad, pad), mode="constant", value=0.0)
        return F.max_pool2d(x, self.size, self.stride)


class YOLOLayer(nn.Module):
    """A detection head: passes its raw map on (later routes read it) and decodes it on request.

    ``anchors``: (A, 2) buffer of (w, h) in input pixels (the ``mask``-selected cfg anchors).
    """

    def __init__(self, anchors: list[tuple[int, int]], num_classes: int):
        super().__init__()
        self.num_classes = num_classes
        self.register_buffer("anchors", torch.tensor(anchors, dtype=torch.float32), persistent=False)

    def forward(self, x: torch.Tensor, cache: dict) -> torch.Tensor:
        return x

    def decode(self, raw: torch.Tensor, input_hw: tuple[int, int]) -> torch.Tensor:
        """raw (B, A·(5+C), G_h, G_w) → (B, G_h·G_w·A, 5+C) rows (cx, cy, w, h, obj, C class scores).

        Row order is (gy·G_w + gx)·A + a; cx = (σ(tx) + gx)·stride, w = exp(tw)·anchor_w,
        objectness and classes are independent sigmoids (not softmax), as in AlphaPose.
        """
        batch, _, grid_h, grid_w = raw.shape
        num_anchors = self.anchors.shape[0]
        attrs = 5 + self.num_classes
        if raw.shape[1] != num_anchors * attrs:
            raise ValueError(f"yolo head expects {num_anchors * attrs} channels "
                             f"({num_anchors} anchors x (5 + {self.num_classes})), got {raw.shape[1]}")
        p = raw.view(batch, num_anchors, attrs, grid_h, grid_w).permute(0, 3, 4, 1, 2)
        stride = raw.new_tensor([input_hw[1] // grid_w, input_hw[0] // grid_h])
        gy, gx = torch.meshgrid(torch.arange(grid_h, device=raw.device, dtype=raw.dtype),
                                torch.arange(grid_w, device=raw.device, dtype=raw.dtype), indexing="ij")
        grid = torch.stack((gx, gy), dim=-1).view(1, grid_h, grid_w, 1, 2)
        xy = (torch.sigmoid(p[..., :2]) + grid) * stride
        wh = torch.exp(p[..., 2:4]) * self.anchors.to(raw.dtype)
        scores = torch.sigmoid(p[..., 4:])
        return torch.cat((xy, wh, scores), dim=-1).reshape(batch, grid_h * grid_w * num_anchors, attrs)


def _build_layer(block: CfgBlock, index: int, channels: list[int], in_channels: int,
                 referenced: set[int], layer_types: list[str]) -> tuple[nn.Module, int]:
    """One cfg block → (module, output channels). ``channels``: outputs of layers 0..index-1."""
    kind = block.type
    if kind == "convolutional":
        activation = block.get_str("activation", "linear")
        if activation not in ("leaky", "linear"):
            raise block.error("activation", f"expected 'leaky' or 'linear', got {activation!r}")
        filters = block.get_int("filters")
        module = Convolutional(in_channels, filters, block.get_int("size"), block.get_int("stride", 1),
                               bool(block.get_int("pad", 0)), bool(block.get_int("batch_normalize", 0)),
                               activation == "leaky")
        return module, filters
    if kind == "shortcut":
        source = _resolve(block, "from", block.get_int("from"), index)
        if block.get_str("activation", "linear") != "linear":
            raise block.error("activation", "only 'linear' shortcuts are supported")
        if channels[source] != in_channels:
            raise block.error("from", f"adds {channels[source]} channels to {in_channels}")
        # x.add_ is safe only when out[i-1] is a conv's own output that no later layer reads
        inplace = index - 1 not in referenced and layer_types[index - 1] == "convolutional"
        return Shortcut(source, inplace), in_channels
    if kind == "route":
        sources = [_resolve(block, "layers", v, index) for v in block.get_ints("layers")]
        if not sources:
            raise block.error("layers", "expected at least one layer index")
        return Route(sources), sum(channels[s] for s in sources)
    if kind == "upsample":
        return Upsample(block.get_int("stride", 2)), in_channels
    if kind == "maxpool":
        size, stride = block.get_int("size"), block.get_int("stride", 1)
        if stride == 1 and size % 2 == 0:
            raise block.error("size", f"a stride-1 max-pool needs an odd size, got {size}")
        return MaxPool(size, stride), in_channels
    if kind == "yolo":
        anchors = block.get_ints("anchors")
        if len(anchors) % 2:
            raise block.error("anchors", "expected (w, h) pairs")
        pairs = list(zip(anchors[0::2], anchors[1::2]))
        mask = block.get_ints("mask") if "mask" in block.options else list(range(len(pairs)))
        if any(not 0 <= m < len(pairs) for m in mask):
            raise block.error("mask", f"indices must lie in [0, {len(pairs)})")
        num_classes = block.get_int("classes")
        if in_channels != len(mask) * (5 + num_classes):
            raise block.error("classes", f"the previous layer has {in_channels} channels, expected "
                                         f"{len(mask)} anchors x (5 + {num_classes})")
        return YOLOLayer([pairs[m] for m in mask], num_classes), in_channels
    raise CfgError(f"{block.path}:{block.line}: unsupported layer type [{kind}] (layer {index})")


def _resolve(block: CfgBlock, key: str, value: int, index: int) -> int:
    """Negative indices are relative to the current layer, others absolute."""
    source = index + value if value < 0 else value
    if not 0 <= source < index:
        raise block.error(key, f"index {value} points to layer {source}, expected one of 0..{index - 1}")
    return source


class Darknet(nn.Module):
    """A Darknet network from a cfg file (e.g. ``yolov3-spp.cfg``).

    ``forward(x (B, 3, H, W))`` → prediction (B, N, 5+C): the decoded rows of every yolo head in cfg
    order (cx, cy, w, h in input pixels, objectness, class scores). H and W must be multiples of the
    network's total stride (32 for YOLOv3). ``heads(x)`` returns the raw head maps instead.
    Batch norm runs in eval mode; call :meth:`fuse_batchnorm` after loading weights for speed.
    """

    def __init__(self, cfg_path: str | Path):
        super().__init__()
        self.cfg: DarknetCfg = parse_cfg(cfg_path)
        blocks = self.cfg.layers
        referenced = self._referenced_layers(blocks)
        layer_types = [b.type for b in blocks]
        channels: list[int] = []
        in_channels = self.cfg.net.get_int("channels", 3)
        self.layers = nn.ModuleList()
        for index, block in enumerate(blocks):
            if index == 0 and block.type != "convolutional":
                raise CfgError(f"{block.path}:{block.line}: the first layer must be [convolutional]")
            module, in_channels = _build_layer(block, index, channels, in_channels, referenced, layer_types)
            self.layers.append(module)
            channels.append(in_channels)
        self.yolo_indices = [i for i, m in enumerate(self.layers) if isinstance(m, YOLOLayer)]
        if not self.yolo_indices:
            raise CfgError(f"{self.cfg.path}: no [yolo] layer")
        self.num_classes = self.layers[self.yolo_indices[0]].num_classes
        # outputs kept during forward: the layers that routes / shortcuts read later
        self._cached = frozenset(referenced)

    @staticmethod
    def _referenced_layers(blocks: list[CfgBlock]) -> set[int]:
        referenced = set()
        for index, block in enumerate(blocks):
            if block.type == "shortcut":
                referenced.add(_resolve(block, "from", block.get_int("from"), index))
            elif block.type == "route":
                referenced.update(_resolve(block, "layers", v, index) for v in block.get_ints("layers"))
        return referenced

    @property
    def input_size(self) -> tuple[int, int]:
        """(height, width) from the cfg's ``[net]`` block."""
        return self.cfg.input_size

    def conv_layers(self) -> list[tuple[int, Convolutional]]:
        """(layer index, module) of every convolutional layer, in cfg (= weights-file) order."""
        return [(i, m) for i, m in enumerate(self.layers) if isinstance(m, Convolutional)]

    def heads(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Raw maps (B, A·(5+C), G_h, G_w) feeding each yolo layer, in cfg order."""
        cache: dict[int, torch.Tensor] = {}
        raw = []
        for index, layer in enumerate(self.layers):
            x = layer(x, cache)
            if index in self._cached:
                cache[index] = x
            if index in self.yolo_indices:
                raw.append(x)
        return raw

    def decode(self, raw: list[torch.Tensor], input_hw: tuple[int, int]) -> torch.Tensor:
        """Raw head maps → prediction (B, N, 5+C), heads concatenated in cfg order."""
        return torch.cat([self.layers[i].decode(r, input_hw) for i, r in zip(self.yolo_indices, raw)], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.heads(x), (x.shape[-2], x.shape[-1]))

    def fuse_batchnorm(self) -> "Darknet":
        """Fold every batch norm into its conv (inference only; weights cannot be loaded afterwards)."""
        for _, conv in self.conv_layers():
            conv.fuse_batchnorm()
        return self
