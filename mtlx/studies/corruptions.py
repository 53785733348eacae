"""The 15 common corruptions of Hendrycks & Dietterich (ICLR 2019), in torch, on batches.

For the seed paper's robustness study (Elich et al., appendix A6): heads fine-tuned on training
images corrupted by a random corruption and severity per sample, then evaluated on every
corruption at every severity. Each corruption maps images (N, C, H, W) in [0, 1] and a severity
1–5 to corrupted images in [0, 1]; severity 0 is the identity. Randomness comes only from the
``torch.Generator`` passed in, so a result is a function of (images, severity, generator state).

Per-severity constants are those of the reference ``make_imagenet_c.py`` (ImageNet-C, 224 × 224).
Where the reference works in pixels of a 224-pixel image (elastic transform), the constants are
scaled by min(H, W)/224, as the ``imagecorruptions`` package scales them to other sizes. The
reference's frost blends photographs of frost shipped with it; mtlx ships none and blends a
procedural frost texture (streaks of a plasma fractal) with the reference's weights instead.
Grey images (C = 1) are corrupted as they are; where the reference needs a colour conversion
(brightness, snow) a single channel is its own grey.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Generator, Tensor

from mtlx.errors import UserError
from mtlx.registry import Registry

SEVERITIES = (1, 2, 3, 4, 5)

CorruptionFunction = Callable[[Tensor, int, Generator], Tensor]


@dataclass(frozen=True)
class Corruption:
    name: str
    family: str  # noise, blur, weather, digital
    apply: CorruptionFunction


CORRUPTIONS: Registry[Corruption] = Registry("corruption")


class CorruptionError(UserError, ValueError):
    """A corruption asked for with a bad name, severity or image batch."""


def corruption(name: str, family: str) -> Callable[[CorruptionFunction], CorruptionFunction]:
    """Register ``function`` as corruption ``name`` of ``family``."""

    def register(function: CorruptionFunction) -> CorruptionFunction:
        CORRUPTIONS.register(name)(Corruption(name, family, function))
        return function

    return register


def corrupt(images: Tensor, name: str, severity: int, generator: Generator) -> Tensor:
    """``images`` (N, C, H, W) in [0, 1] under corruption ``name`` at ``severity`` (0: none)."""
    entry = CORRUPTIONS.get(name)
    if severity not in (0, *SEVERITIES):
        raise CorruptionError(f"severity must be 0 to 5, but got {severity}")
    if images.ndim != 4 or not images.is_floating_point():
        raise CorruptionError(
            f"images must be a float batch (N, C, H, W), but got {tuple(images.shape)} "
            f"{images.dtype}"
        )
    if severity == 0:
        return images.clone()
    return entry.apply(images, severity, generator).clamp(0.0, 1.0).to(images.dtype)


def random_corruptions(
    images: Tensor,
    generator: Generator,
    names: Sequence[str] | None = None,
    severities: Sequence[int] = SEVERITIES,
) -> tuple[Tensor, list[str], list[int]]:
    """Each sample under a corruption and a severity drawn uniformly for it (the paper's
    fine-tuning data); returns the images and what each sample got."""
    names = list(names or CORRUPTIONS.names())
    chosen = torch.randint(len(names), (images.shape[0],), generator=generator).tolist()
    levels = torch.randint(len(severities), (images.shape[0],), generator=generator).tolist()
    out = torch.empty_like(images)
    for index in range(images.shape[0]):
        out[index : index + 1] = corrupt(
            images[index : index + 1], names[chosen[index]], severities[levels[index]], generator
        )
    return out, [names[i] for i in chosen], [severities[i] for i in levels]


# ---- helpers ----------------------------------------------------------------------------------


def _uniform(shape: Sequence[int], low: float, high: float, generator: Generator) -> Tensor:
    return low + (high - low) * torch.rand(tuple(shape), generator=generator)


def _gaussian_kernel(sigma: float, truncate: float) -> Tensor:
    radius = max(int(truncate * sigma + 0.5), 1)
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    return kernel / kernel.sum()


def _separable(images: Tensor, kernel: Tensor, mode: str) -> Tensor:
    """Convolve every channel with ``kernel`` along rows and columns (padding ``mode``)."""
    n, c, h, w = images.shape
    radius = kernel.numel() // 2
    flat = images.reshape(n * c, 1, h, w)
    flat = F.conv2d(_pad(flat, radius, -1, mode), kernel.view(1, 1, 1, -1))
    flat = F.conv2d(_pad(flat, radius, -2, mode), kernel.view(1, 1, -1, 1))
    return flat.reshape(n, c, h, w)


def _pad(images: Tensor, radius: int, dim: int, mode: str) -> Tensor:
    """``radius`` values on both sides of ``dim``: the edge value repeated (``replicate``) or the
    image mirrored about its edge pixels (``reflect``, as ``F.pad``), for any radius — a blur
    wider than a small image (an elastic field at 28 × 28) reflects again and again."""
    size = images.shape[dim]
    positions = torch.arange(-radius, size + radius, device=images.device)
    if mode == "replicate" or size == 1:
        indices = positions.clamp(0, size - 1)
    elif mode == "reflect":
        period = 2 * (size - 1)
        folded = positions.remainder(period)
        indices = torch.where(folded >= size, period - folded, folded)
    else:
        raise ValueError(f"padding mode must be replicate or reflect, but got {mode!r}")
    return images.index_select(dim % images.ndim, indices)


def gaussian_blur(
    images: Tensor, sigma: float, truncate: float = 4.0, mode: str = "replicate"
) -> Tensor:
    """skimage's ``gaussian`` (truncate 4σ; its old default border, the nearest pixel)."""
    return _separable(images, _gaussian_kernel(sigma, truncate).to(images), mode)


def _grey(images: Tensor) -> Tensor:
    if images.shape[1] == 1:
        return images
    weights = images.new_tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    return (images[:, :3] * weights).sum(dim=1, keepdim=True)


def _clipped_zoom(images: Tensor, factor: float) -> Tensor:
    """The centre 1/factor of each image, zoomed back by ``factor`` (linear), cut to size."""
    h, w = images.shape[-2:]
    crop_h, crop_w = math.ceil(h / factor), math.ceil(w / factor)
    top, left = (h - crop_h) // 2, (w - crop_w) // 2
    cropped = images[..., top : top + crop_h, left : left + crop_w]
    size = (max(round(crop_h * factor), h), max(round(crop_w * factor), w))
    zoomed = F.interpolate(cropped, size=size, mode="bilinear", align_corners=True)
    return zoomed[..., :h, :w]


def _motion_blur(images: Tensor, radius: int, sigma: float, angle: float) -> Tensor:
    """The reference's motion blur: Gaussian weights along a line at ``angle`` degrees; tap i
    reads the image shifted by (dx, dy), its edge repeated into the uncovered border."""
    width = 2 * radius + 1
    offsets = torch.arange(width, dtype=torch.float32)
    kernel = torch.exp(-(offsets**2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    point = (width * math.sin(math.radians(angle)), width * math.cos(math.radians(angle)))
    hypot = math.hypot(*point)
    h, w = images.shape[-2:]
    shifts = []
    for i in range(width):
        dy = -math.ceil((i * point[0]) / hypot - 0.5)
        dx = -math.ceil((i * point[1]) / hypot - 0.5)
        if abs(dy) >= h or abs(dx) >= w:
            break  # the motion left the image
        shifts.append((dy, dx))
    dys, dxs = (torch.tensor(values, device=images.device) for values in zip(*shifts, strict=True))
    # every tap at once: output (y, x) of tap i reads (y − dyᵢ, x − dxᵢ), clamped to the image
    rows = (torch.arange(h, device=images.device) - dys[:, None]).clamp(0, h - 1)
    columns = (torch.arange(w, device=images.device) - dxs[:, None]).clamp(0, w - 1)
    taps = images[:, :, rows[:, :, None], columns[:, None, :]]  # (N, C, taps, H, W)
    weights = kernel[: len(shifts)].to(images).view(1, 1, -1, 1, 1)
    return (taps * weights).sum(dim=2)


def plasma_fractal(size: int, decay: float, generator: Generator) -> Tensor:
    """A (size × size) diamond-square height map in [0, 1] (``size`` a power of two)."""
    grid = torch.zeros(size, size, dtype=torch.float64)
    step, wibble = size, 100.0

    def wibbled_mean(values: Tensor) -> Tensor:
        return values / 4 + wibble * _uniform(values.shape, -wibble, wibble, generator).double()

    while step >= 2:
        half = step // 2
        corners = grid[0:size:step, 0:size:step]
        squares = corners + corners.roll(-1, 0)
        squares = squares + squares.roll(-1, 1)
        grid[half:size:step, half:size:step] = wibbled_mean(squares)
        centres = grid[half:size:step, half:size:step]
        corners = grid[0:size:step, 0:size:step]
        grid[0:size:step, half:size:step] = wibbled_mean(
            centres + centres.roll(1, 0) + corners + corners.roll(-1, 1)
        )
        grid[half:size:step, 0:size:step] = wibbled_mean(
            centres + centres.roll(1, 1) + corners + corners.roll(-1, 0)
        )
        step //= 2
        wibble /= decay
    grid = grid - grid.min()
    return (grid / grid.max()).float()


def _fractal_like(images: Tensor, decay: float, generator: Generator) -> Tensor:
    """One plasma fractal per image, cropped to its size: (N, 1, H, W)."""
    h, w = images.shape[-2:]
    size = 1 << max(h, w, 2).__sub__(1).bit_length()
    maps = [plasma_fractal(size, decay, generator)[:h, :w] for _ in range(images.shape[0])]
    return torch.stack(maps)[:, None].to(images)


# ---- noise ------------------------------------------------------------------------------------


@corruption("gaussian_noise", "noise")
def gaussian_noise(images: Tensor, severity: int, generator: Generator) -> Tensor:
    scale = (0.08, 0.12, 0.18, 0.26, 0.38)[severity - 1]
    return images + scale * torch.randn(images.shape, generator=generator).to(images)


@corruption("shot_noise", "noise")
def shot_noise(images: Tensor, severity: int, generator: Generator) -> Tensor:
    rate = (60, 25, 12, 5, 3)[severity - 1]
    return torch.poisson((images * rate).float(), generator=generator).to(images) / rate


@corruption("impulse_noise", "noise")
def impulse_noise(images: Tensor, severity: int, generator: Generator) -> Tensor:
    amount = (0.03, 0.06, 0.09, 0.17, 0.27)[severity - 1]
    draw = torch.rand(images.shape, generator=generator).to(images)
    # skimage's salt and pepper: a fraction ``amount`` of the values, half to 0, half to 1
    pepper = draw < amount / 2
    salt = (draw >= amount / 2) & (draw < amount)
    return images.masked_fill(pepper, 0.0).masked_fill(salt, 1.0)


# ---- blur -------------------------------------------------------------------------------------


def disk_kernel(radius: float, alias_blur: float) -> Tensor:
    """The reference's defocus kernel: a normalised disk, antialiased by a small Gaussian."""
    half = 8 if radius <= 8 else int(radius)
    offsets = torch.arange(-half, half + 1, dtype=torch.float32)
    x, y = torch.meshgrid(offsets, offsets, indexing="xy")
    disk = ((x**2 + y**2) <= radius**2).float()
    disk = disk / disk.sum()
    size = 3 if radius <= 8 else 5  # OpenCV's kernel size for the antialiasing blur
    offsets = torch.arange(size, dtype=torch.float32) - size // 2
    gauss = torch.exp(-0.5 * (offsets / alias_blur) ** 2)
    gauss = gauss / gauss.sum()
    blurred = F.conv2d(
        F.pad(disk[None, None], (size // 2,) * 4, mode="reflect"),
        (gauss[:, None] * gauss)[None, None],
    )
    return blurred[0, 0]


@corruption("defocus_blur", "blur")
def defocus_blur(images: Tensor, severity: int, generator: Generator) -> Tensor:
    radius, alias_blur = ((3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5))[severity - 1]
    kernel = disk_kernel(radius, alias_blur).to(images)
    n, c, h, w = images.shape
    pad = kernel.shape[0] // 2
    flat = F.pad(images.reshape(n * c, 1, h, w), (pad,) * 4, mode="reflect")  # OpenCV's default
    return F.conv2d(flat, kernel[None, None]).reshape(n, c, h, w)


@corruption("glass_blur", "blur")
def glass_blur(images: Tensor, severity: int, generator: Generator) -> Tensor:
    sigma, delta, iterations = ((0.7, 1, 2), (0.9, 2, 1), (1, 2, 3), (1.1, 3, 2), (1.5, 4, 2))[
        severity - 1
    ]
    blurred = (gaussian_blur(images, sigma) * 255).floor() / 255  # the reference's uint8 step
    n, c, h, w = images.shape
    out = torch.empty_like(blurred)
    for index in range(n):
        # the reference swaps pixels one after another; the same swaps on a map of positions
        positions = np.arange(h * w).reshape(h, w)
        for _ in range(iterations):
            for row in range(h - delta, delta, -1):
                offsets = torch.randint(-delta, delta, (w, 2), generator=generator).numpy()
                for k, column in enumerate(range(w - delta, delta, -1)):
                    dx, dy = offsets[k]
                    r, s = row + dy, column + dx
                    positions[row, column], positions[r, s] = (
                        positions[r, s],
                        positions[row, column],
                    )
        flat = blurred[index].reshape(c, h * w)
        out[index] = flat[:, torch.from_numpy(positions.reshape(-1))].reshape(c, h, w)
    return gaussian_blur(out, sigma)


@corruption("motion_blur", "blur")
def motion_blur(images: Tensor, severity: int, generator: Generator) -> Tensor:
    radius, sigma = ((10, 3), (15, 5), (15, 8), (15, 12), (20, 15))[severity - 1]
    angles = _uniform((images.shape[0],), -45.0, 45.0, generator).tolist()
    return torch.cat(
        [_motion_blur(images[i : i + 1], radius, sigma, a) for i, a in enumerate(angles)]
    )


@corruption("zoom_blur", "blur")
def zoom_blur(images: Tensor, severity: int, generator: Generator) -> Tensor:
    start_stop_step = ((1.11, 0.01), (1.16, 0.01), (1.21, 0.02), (1.26, 0.02), (1.31, 0.03))
    stop, step = start_stop_step[severity - 1]
    factors = np.arange(1, stop, step)
    total = images.clone()
    for factor in factors:
        total = total + _clipped_zoom(images, float(factor))
    return total / (len(factors) + 1)


# ---- weather ----------------------------------------------------------------------------------


@corruption("snow", "weather")
def snow(images: Tensor, severity: int, generator: Generator) -> Tensor:
    loc, scale, zoom, threshold, radius, sigma, blend = (
        (0.1, 0.3, 3, 0.5, 10, 4, 0.8),
        (0.2, 0.3, 2, 0.5, 12, 4, 0.7),
        (0.55, 0.3, 4, 0.9, 12, 8, 0.7),
        (0.55, 0.3, 4.5, 0.85, 12, 8, 0.65),
        (0.55, 0.3, 2.5, 0.85, 12, 12, 0.55),
    )[severity - 1]
    n, _, h, w = images.shape
    layer = loc + scale * torch.randn((n, 1, h, w), generator=generator).to(images)
    layer = _clipped_zoom(layer, zoom)
    layer = torch.where(layer < threshold, 0.0, layer).clamp(0, 1)
    angles = _uniform((n,), -135.0, -45.0, generator).tolist()
    layer = torch.cat(
        [_motion_blur(layer[i : i + 1], radius, sigma, a) for i, a in enumerate(angles)]
    )
    layer = torch.round(layer * 255) / 255
    whitened = torch.maximum(images, _grey(images) * 1.5 + 0.5)
    mixed = blend * images + (1 - blend) * whitened
    return mixed + layer + layer.flip(-1, -2)


def frost_texture(images: Tensor, generator: Generator) -> Tensor:
    """A procedural frost layer in [0, 1] per image: crystal-like streaks of a plasma fractal."""
    fractal = _fractal_like(images, 1.6, generator)
    streaks = 1.0 - (2.0 * fractal - 1.0).abs()  # ridges where the fractal crosses its middle
    return streaks.pow(4).expand_as(images)


@corruption("frost", "weather")
def frost(images: Tensor, severity: int, generator: Generator) -> Tensor:
    image_weight, frost_weight = ((1, 0.4), (0.8, 0.6), (0.7, 0.7), (0.65, 0.7), (0.6, 0.75))[
        severity - 1
    ]
    return image_weight * images + frost_weight * frost_texture(images, generator)


@corruption("fog", "weather")
def fog(images: Tensor, severity: int, generator: Generator) -> Tensor:
    strength, decay = ((1.5, 2), (2.0, 2), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4))[severity - 1]
    peak = images.amax(dim=(1, 2, 3), keepdim=True)
    fogged = images + strength * _fractal_like(images, decay, generator)
    return fogged * peak / (peak + strength)


@corruption("brightness", "weather")
def brightness(images: Tensor, severity: int, generator: Generator) -> Tensor:
    shift = (0.1, 0.2, 0.3, 0.4, 0.5)[severity - 1]
    # HSV's value V = max over channels, raised by ``shift`` with hue and saturation kept:
    # every channel scales by V'/V (a black pixel becomes grey V')
    value = images.amax(dim=1, keepdim=True)
    raised = (value + shift).clamp(max=1.0)
    scale = torch.where(value > 0, raised / value.clamp_min(1e-12), 0.0)
    return torch.where(value > 0, images * scale, raised.expand_as(images))


# ---- digital ----------------------------------------------------------------------------------


@corruption("contrast", "digital")
def contrast(images: Tensor, severity: int, generator: Generator) -> Tensor:
    factor = (0.4, 0.3, 0.2, 0.1, 0.05)[severity - 1]
    means = images.mean(dim=(2, 3), keepdim=True)  # per image and channel, as the reference
    return (images - means) * factor + means


@corruption("elastic_transform", "digital")
def elastic_transform(images: Tensor, severity: int, generator: Generator) -> Tensor:
    alpha, sigma, affine = (
        (244 * 2, 244 * 0.7, 244 * 0.1),
        (244 * 2, 244 * 0.08, 244 * 0.2),
        (244 * 0.05, 244 * 0.01, 244 * 0.02),
        (244 * 0.07, 244 * 0.01, 244 * 0.02),
        (244 * 0.12, 244 * 0.01, 244 * 0.02),
    )[severity - 1]
    n, _, h, w = images.shape
    scale = min(h, w) / 224
    alpha, sigma, affine = alpha * scale, max(sigma * scale, 0.5), affine * scale
    # a random affine map moving three points around the centre by up to ``affine`` pixels
    centre = torch.tensor([w // 2, h // 2], dtype=torch.float64)
    square = min(h, w) // 3
    source = torch.stack(
        [centre + square, centre + torch.tensor([square, -square]), centre - square]
    )
    target = source + _uniform((n, 3, 2), -affine, affine, generator).double()
    homogeneous = torch.cat([source, torch.ones(3, 1, dtype=torch.float64)], dim=1)
    # target → source: the sampling grid reads the source pixel of each output pixel
    matrices = torch.linalg.solve(
        torch.cat([target, torch.ones(n, 3, 1, dtype=torch.float64)], dim=2), homogeneous[None]
    ).mT  # (n, 2, 3) in pixels
    ys, xs = torch.meshgrid(
        torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij"
    )
    pixels = torch.stack([xs, ys, torch.ones_like(xs)], dim=-1)  # (h, w, 3)
    mapped = torch.einsum("nij,hwj->nhwi", matrices, pixels)
    fields = _uniform((n, 2, h, w), -1.0, 1.0, generator)
    fields = gaussian_blur(fields, sigma, truncate=3.0, mode="reflect") * alpha
    # the reference displaces the affine-warped image: output (y, x) reads warped (y + dy, x + dx)
    warped = _sample(images, mapped)
    grid = torch.stack([xs, ys], dim=-1)[None] + fields.permute(0, 2, 3, 1).double()
    return _sample(warped, grid)


def _sample(images: Tensor, pixels: Tensor) -> Tensor:
    """Bilinear samples of ``images`` at pixel coordinates (n, h, w, [x, y]), borders mirrored."""
    h, w = images.shape[-2:]
    normalised = torch.stack(
        [2 * pixels[..., 0] / max(w - 1, 1) - 1, 2 * pixels[..., 1] / max(h - 1, 1) - 1], dim=-1
    )
    return F.grid_sample(
        images,
        normalised.to(images),
        mode="bilinear",
        padding_mode="reflection",
        align_corners=True,
    )


@corruption("pixelate", "digital")
def pixelate(images: Tensor, severity: int, generator: Generator) -> Tensor:
    factor = (0.6, 0.5, 0.4, 0.3, 0.25)[severity - 1]
    h, w = images.shape[-2:]
    small = F.interpolate(
        images, size=(max(int(h * factor), 1), max(int(w * factor), 1)), mode="area"
    )
    return F.interpolate(small, size=(h, w), mode="nearest")


@corruption("jpeg_compression", "digital")
def jpeg_compression(images: Tensor, severity: int, generator: Generator) -> Tensor:
    from torchvision.io import decode_jpeg, encode_jpeg

    quality = (25, 18, 15, 10, 7)[severity - 1]
    pixels = (images * 255).round().clamp(0, 255).to(torch.uint8).cpu()
    decoded = [decode_jpeg(encode_jpeg(image, quality=quality)) for image in pixels]
    return torch.stack(decoded).to(images) / 255
