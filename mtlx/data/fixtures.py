"""Small synthetic datasets written in exactly the real releases' on-disk formats.

For tests and for trying a pipeline end to end without the real data (``mtlx data fixture``).
The values are random but every file exercises the special cases the loaders and metrics must
handle: ignored labels (−1), invalid depth (0) and zero normals (pixel (0, 0) always, plus a
random ~10 % of the rest). NYUv2 images are float64 like MTAN's release (lorenmt/mtan#50 shows
them printed as float64); the other arrays are float32. CelebA gets real JPEGs and the five list
files torchvision parses, in their column layouts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mtlx.data.check import (
    CELEBA_ATTRIBUTES,
    CELEBA_IMAGE_SIZE,
    CELEBA_LAYOUTS,
    CITYSCAPES_SIZE,
    NYUV2_SIZE,
)

INVALID_FRACTION = 0.1


def invalid_mask(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    mask = rng.random((height, width)) < INVALID_FRACTION
    mask[0, 0] = True
    return mask


def dense_sample(
    rng: np.random.Generator,
    height: int,
    width: int,
    num_classes: int,
    depth_range: tuple[float, float],
) -> dict[str, np.ndarray]:
    """One sample's image, label map, depth and normals (HWC, as the releases store them)."""
    label = rng.integers(0, num_classes, size=(height, width)).astype(np.float32)
    label[invalid_mask(rng, height, width)] = -1
    depth = rng.uniform(*depth_range, size=(height, width, 1)).astype(np.float32)
    depth[invalid_mask(rng, height, width)] = 0
    normal = rng.normal(size=(height, width, 3))
    normal[..., 2] = np.abs(normal[..., 2]) + 0.1  # facing the camera, as real normals do
    normal = (normal / np.linalg.norm(normal, axis=-1, keepdims=True)).astype(np.float32)
    normal[invalid_mask(rng, height, width)] = 0
    return {
        "image": rng.random((height, width, 3)),
        "label": label,
        "depth": depth,
        "normal": normal,
    }


def write_npy(folder: Path, index: int, array: np.ndarray) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / f"{index}.npy", array)


def write_nyuv2(out: Path, n: int, rng: np.random.Generator, height: int, width: int) -> Path:
    for split in ("train", "val"):
        for i in range(n):
            sample = dense_sample(rng, height, width, 13, (0.5, 10.0))
            for folder, array in sample.items():
                write_npy(out / split / folder, i, array)
    return out


def write_cityscapes(
    out: Path,
    n: int,
    rng: np.random.Generator,
    height: int,
    width: int,
    label_folder: str = "label_7",
    with_19_classes: bool = True,
) -> Path:
    if label_folder not in ("label_7", "label"):
        raise ValueError(f"label_folder must be 'label_7' or 'label', but got {label_folder!r}.")
    for split in ("train", "val"):
        for i in range(n):
            sample = dense_sample(rng, height, width, 7, (0.001, 0.3))  # inverse depth
            write_npy(out / split / "image", i, sample["image"].astype(np.float32))
            write_npy(out / split / label_folder, i, sample["label"])
            write_npy(out / split / "depth", i, sample["depth"])
            if with_19_classes:
                label_19 = rng.integers(0, 19, size=(height, width)).astype(np.float32)
                label_19[sample["label"] == -1] = -1
                write_npy(out / split / "label_19", i, label_19)
    return out


def celeba_partition(n: int) -> list[int]:
    """Contiguous train / validation / test blocks like the real file, each non-empty."""
    n_val = n_test = max(1, n // 10)
    return [0] * (n - n_val - n_test) + [1] * n_val + [2] * n_test


def write_celeba(
    out: Path,
    n: int,
    rng: np.random.Generator,
    layout: str = "torchvision",
    image_height: int = CELEBA_IMAGE_SIZE[0],
    image_width: int = CELEBA_IMAGE_SIZE[1],
) -> Path:
    """Returns the root a builder takes: ``out`` (holding ``celeba/`` or ``Anno/ Eval/ Img/``)."""
    from PIL import Image

    if layout not in CELEBA_LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(CELEBA_LAYOUTS)}, but got {layout!r}.")
    if n < 3:
        raise ValueError(f"celeba needs n >= 3 (one image per partition), but got {n}.")
    folder = out / "celeba" if layout == "torchvision" else out
    images, partition_file, attribute_file = CELEBA_LAYOUTS[layout]
    anno = "" if layout == "torchvision" else "Anno/"
    (folder / images).mkdir(parents=True, exist_ok=True)
    names = [f"{i:06d}.jpg" for i in range(1, n + 1)]
    for name in names:
        # smooth colour blobs: compressible like a photo, unlike white noise
        coarse = rng.integers(0, 256, size=(image_height // 16 + 1, image_width // 16 + 1, 3))
        picture = Image.fromarray(coarse.astype(np.uint8)).resize(
            (image_width, image_height), Image.Resampling.BILINEAR
        )
        picture.save(folder / images / name, quality=90)
    attributes = rng.choice([-1, 1], size=(n, len(CELEBA_ATTRIBUTES)))

    def write(relative: str, lines: list[str]) -> None:
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    write(
        partition_file,
        [f"{name} {part}" for name, part in zip(names, celeba_partition(n), strict=True)],
    )
    write(
        attribute_file,
        [str(n), " ".join(CELEBA_ATTRIBUTES) + " "]
        + [
            f"{name} " + " ".join(f"{v:2d}" for v in row)
            for name, row in zip(names, attributes, strict=True)
        ],
    )
    write(f"{anno}identity_CelebA.txt", [f"{name} {rng.integers(1, 10178)}" for name in names])
    write(
        f"{anno}list_bbox_celeba.txt",
        [str(n), "image_id x_1 y_1 width height"] + [f"{name}    95  71 226 313" for name in names],
    )
    landmark_header = (
        "lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y "
        "leftmouth_x leftmouth_y rightmouth_x rightmouth_y"
    )
    aligned = "69  109  106  113   77  142   73  152  108  154"
    write(
        f"{anno}list_landmarks_align_celeba.txt",
        [str(n), landmark_header] + [f"{name} {aligned}" for name in names],
    )
    if layout == "official":
        wild = "165  184  244  176  196  249  194  271  266  260"
        write(
            "Anno/list_landmarks_celeba.txt",
            [str(n), landmark_header] + [f"{name} {wild}" for name in names],
        )
    return out


def write_fixture(name: str, out: Path, n: int, seed: int = 0, **options: object) -> Path:
    """Write a synthetic ``name`` dataset of ``n`` samples per split under ``out``; the root to
    pass to its builder.

    Options — nyuv2: ``height``, ``width`` (default 288×384); cityscapes: ``height``, ``width``
    (default 128×256), ``label_folder`` ("label_7" or LibMTL's "label"), ``with_19_classes``;
    celeba (``n`` images in all, ~80/10/10 %): ``layout`` ("torchvision" or "official"),
    ``image_height``, ``image_width`` (default 218×178).
    """
    if n < 1:
        raise ValueError(f"n must be positive, but got {n}.")
    out = Path(out)
    rng = np.random.default_rng(seed)
    writers = {"nyuv2": write_nyuv2, "cityscapes": write_cityscapes, "celeba": write_celeba}
    if name not in writers:
        raise ValueError(
            f"no fixture writer for dataset {name!r}; available: {', '.join(sorted(writers))}"
        )
    if name in ("nyuv2", "cityscapes"):
        default = NYUV2_SIZE if name == "nyuv2" else CITYSCAPES_SIZE
        options.setdefault("height", default[0])
        options.setdefault("width", default[1])
    try:
        return writers[name](out, n, rng, **options)  # type: ignore[operator]
    except TypeError as error:
        raise ValueError(f"fixture {name!r}: bad option ({error})") from None
