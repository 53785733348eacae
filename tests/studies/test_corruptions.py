"""The common corruptions: the identity at severity 0, images in [0, 1], determinism given a
generator, the reference's formulas where they are closed, severity that hurts more."""

from __future__ import annotations

import pytest
import torch

from mtlx.studies.corruptions import (
    CORRUPTIONS,
    SEVERITIES,
    CorruptionError,
    corrupt,
    random_corruptions,
)

NAMES = CORRUPTIONS.names()


def images(n: int = 2, channels: int = 3, h: int = 32, w: int = 48, seed: int = 0) -> torch.Tensor:
    """Smooth images with edges and texture, in [0, 1]."""
    generator = torch.Generator().manual_seed(seed)
    ys, xs = torch.meshgrid(torch.linspace(0, 1, h), torch.linspace(0, 1, w), indexing="ij")
    base = 0.5 + 0.3 * torch.sin(6 * xs) * torch.cos(4 * ys)
    noise = 0.1 * torch.rand(n, channels, h, w, generator=generator)
    return (base + noise + 0.2 * (xs > 0.5)).clamp(0, 1)


def test_the_fifteen_corruptions_in_four_families() -> None:
    assert len(NAMES) == 15
    families = {CORRUPTIONS.get(name).family for name in NAMES}
    assert families == {"noise", "blur", "weather", "digital"}


@pytest.mark.parametrize("name", NAMES)
def test_severity_zero_is_the_identity(name: str) -> None:
    batch = images()
    assert torch.equal(corrupt(batch, name, 0, torch.Generator().manual_seed(1)), batch)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("channels", [3, 1])
def test_corrupted_images_keep_their_shape_and_range_and_change(name: str, channels: int) -> None:
    batch = images(channels=channels)
    out = corrupt(batch, name, 3, torch.Generator().manual_seed(1))
    assert out.shape == batch.shape and out.dtype == batch.dtype
    assert out.min() >= 0 and out.max() <= 1
    assert (out - batch).abs().mean() > 1e-3


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_given_the_generator(name: str) -> None:
    batch = images()
    first = corrupt(batch, name, 2, torch.Generator().manual_seed(7))
    again = corrupt(batch, name, 2, torch.Generator().manual_seed(7))
    assert torch.equal(first, again)


@pytest.mark.parametrize(
    "name",
    [
        "gaussian_noise",
        "impulse_noise",
        "defocus_blur",
        "zoom_blur",
        "fog",
        "brightness",
        "contrast",
        "pixelate",
        "jpeg_compression",
    ],
)
def test_a_higher_severity_changes_the_images_more(name: str) -> None:
    batch = images(h=64, w=64)
    change = [
        (corrupt(batch, name, s, torch.Generator().manual_seed(3)) - batch).abs().mean().item()
        for s in (1, 5)
    ]
    assert change[1] > change[0]


def test_gaussian_noise_has_the_references_standard_deviation() -> None:
    batch = torch.full((4, 3, 64, 64), 0.5)
    out = corrupt(batch, "gaussian_noise", 2, torch.Generator().manual_seed(0))
    assert (out - batch).std().item() == pytest.approx(0.12, rel=0.03)


def test_contrast_and_brightness_are_the_references_formulas() -> None:
    batch = images()
    means = batch.mean(dim=(2, 3), keepdim=True)
    expected = ((batch - means) * 0.2 + means).clamp(0, 1)
    torch.testing.assert_close(corrupt(batch, "contrast", 3, torch.Generator()), expected)
    grey = torch.full((1, 3, 8, 8), 0.3)
    torch.testing.assert_close(corrupt(grey, "brightness", 2, torch.Generator()), grey + 0.2)


def test_random_corruptions_apply_each_samples_own_draw() -> None:
    batch = images(n=6)
    out, names, severities = random_corruptions(
        batch, torch.Generator().manual_seed(5), names=["contrast", "brightness", "pixelate"]
    )
    assert set(severities) <= set(SEVERITIES) and len(names) == 6
    for index, (name, severity) in enumerate(zip(names, severities, strict=True)):
        alone = corrupt(batch[index : index + 1], name, severity, torch.Generator())
        torch.testing.assert_close(out[index : index + 1], alone)


def test_bad_severity_and_name_are_refused() -> None:
    with pytest.raises(CorruptionError, match="severity must be 0 to 5"):
        corrupt(images(), "fog", 6, torch.Generator())
    with pytest.raises(KeyError, match="unknown corruption 'rain'"):
        corrupt(images(), "rain", 1, torch.Generator())


@pytest.mark.parametrize("severity", SEVERITIES)
def test_every_corruption_runs_on_small_grey_images(severity: int) -> None:
    """MultiMNIST's 28 × 28: the elastic field's blur (σ up to 21 px there) is wider than the
    image and reflects more than once."""
    batch = images(n=2, channels=1, h=28, w=28)
    for name in NAMES:
        out = corrupt(batch, name, severity, torch.Generator().manual_seed(3))
        assert out.shape == batch.shape and out.isfinite().all(), name


@pytest.mark.parametrize("mode", ["reflect", "replicate"])
def test_blur_padding_is_torchs_where_torch_can_and_extends_it_beyond(mode: str) -> None:
    from mtlx.studies.corruptions import gaussian_blur

    batch = images(n=2, channels=1, h=12, w=9)
    narrow = gaussian_blur(batch, 1.5, truncate=3.0, mode=mode)  # radius 5 < 9
    reference = torch.nn.functional.pad(batch, (5, 5, 5, 5), mode=mode)
    kernel = torch.exp(-0.5 * (torch.arange(-5, 6, dtype=torch.float32) / 1.5) ** 2)
    kernel = (kernel / kernel.sum())[:, None] * (kernel / kernel.sum())[None, :]
    expected = torch.nn.functional.conv2d(reference, kernel[None, None])
    torch.testing.assert_close(narrow, expected, rtol=1e-5, atol=1e-6)
    # far wider than the image: a mirrored (or repeated) image has its mean everywhere
    wide = gaussian_blur(batch, 400.0, truncate=3.0, mode=mode)
    assert wide.std(dim=(2, 3)).max() < 0.02


@pytest.mark.parametrize("angle", [-135.0, -45.0, -10.0, 0.0, 30.0, 45.0])
def test_motion_blur_is_the_references_sum_of_shifted_images(angle: float) -> None:
    """Tap by tap as the reference composes it: a shift by (dx, dy) with the edge repeated,
    weighted by a half-Gaussian, until the motion leaves the image."""
    import math

    from mtlx.studies.corruptions import _motion_blur

    batch = images(n=2, channels=3, h=20, w=26)
    radius, sigma = 15, 5.0
    width = 2 * radius + 1
    kernel = torch.exp(-(torch.arange(width, dtype=torch.float32) ** 2) / (2 * sigma**2))
    kernel = kernel / kernel.sum()
    point = (width * math.sin(math.radians(angle)), width * math.cos(math.radians(angle)))
    expected = torch.zeros_like(batch)
    for i in range(width):
        dy = -math.ceil(i * point[0] / math.hypot(*point) - 0.5)
        dx = -math.ceil(i * point[1] / math.hypot(*point) - 0.5)
        if abs(dy) >= 20 or abs(dx) >= 26:
            break
        shifted = torch.empty_like(batch)
        for y in range(20):
            for x in range(26):
                shifted[..., y, x] = batch[..., min(max(y - dy, 0), 19), min(max(x - dx, 0), 25)]
        expected += float(kernel[i]) * shifted
    torch.testing.assert_close(_motion_blur(batch, radius, sigma, angle), expected)
