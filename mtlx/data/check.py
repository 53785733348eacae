"""The real datasets' on-disk formats, and the checks run before any training touches them.

Formats (DESIGN.md, "On-disk formats"):

- NYUv2, MTAN's preprocessed release: ``train|val/{image,label,depth,normal}/{i}.npy``, i = 0..N−1
  without gaps; image (288, 384, 3) in [0, 1]; label (288, 384) in 0..12, −1 ignored; depth
  (288, 384, 1) in metres, 0 invalid; normal (288, 384, 3) unit vectors, zero vector invalid.
  ``val/`` (654 images) is the official test split, ``train/`` the 795 training images.
- Cityscapes, MTAN's 128×256 release: ``train|val/{image,label_7,label_19,depth}/{i}.npy``; image
  (128, 256, 3) in [0, 1]; label_7 in 0..6 and label_19 in 0..18, −1 ignored; depth (128, 256, 1)
  inverse depth, 0 invalid. LibMTL's copy names ``label_7`` just ``label``: both are accepted.
- CelebA, torchvision's layout ``celeba/img_align_celeba/*.jpg`` + ``list_eval_partition.txt``,
  ``list_attr_celeba.txt`` (+ ``identity_CelebA.txt``, ``list_bbox_celeba.txt``,
  ``list_landmarks_align_celeba.txt``, not needed here), or the official Google-Drive layout
  ``Img/img_align_celeba/``, ``Anno/list_attr_celeba.txt``, ``Eval/list_eval_partition.txt``.
  Attributes are −1/1; partition 0 = train, 1 = validation, 2 = test.

Label files may be stored as floats (the releases were written from float arrays); they must be
integer-valued. The spatial size is read from ``train/image/0.npy`` and every file must agree with
it; a size other than the paper's is reported, not refused (the synthetic fixtures are smaller).

A quick check (the default, run by every builder) lists every folder, checks the 0..N−1 numbering,
reads the header of every file — its shape, its dtype (numeric, of the same kind as the folder's
first file) and that the file holds all the data its header declares — and the value ranges of
the first and last file of each folder; ``full=True`` reads every file's values too.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from mtlx.data.registry import DataFormatError
from mtlx.registry import Registry

ArrayKind = Literal["image", "label", "depth", "normal"]

# |‖n‖ − 1| allowed for a valid normal: the releases store float normals resized from the originals,
# so they are unit only to a few decimals; a wrongly scaled file (e.g. [0, 255] or [0, 1] encoded
# colours) is far outside this.
NORMAL_TOLERANCE = 0.1


@dataclass(frozen=True)
class NpyFormat:
    """One modality of a dense release: its folder and what each ``{i}.npy`` in it must hold."""

    folder: str
    kind: ArrayKind
    channels: int | None  # size of the trailing channel axis; None for an (H, W) label map
    num_classes: int = 0  # labels only: values in 0..num_classes−1 or −1

    def shape(self, size: tuple[int, int]) -> tuple[int, ...]:
        return size if self.channels is None else (*size, self.channels)

    def describe(self) -> str:
        shape = "(H, W)" if self.channels is None else f"(H, W, {self.channels})"
        ranges = {
            "image": "values in [0, 1], channels last (HWC)",
            "label": f"integer values in 0..{self.num_classes - 1} or -1 (ignored)",
            "depth": "finite values >= 0 (0 = invalid)",
            "normal": "unit vectors or the zero vector (invalid)",
        }[self.kind]
        return f"{shape}, {ranges}"


NYUV2_SIZE = (288, 384)
NYUV2_COUNTS = {"train": 795, "val": 654}
NYUV2_FORMATS: dict[str, NpyFormat] = {
    "image": NpyFormat("image", "image", 3),
    "seg": NpyFormat("label", "label", None, num_classes=13),
    "depth": NpyFormat("depth", "depth", 1),
    "normal": NpyFormat("normal", "normal", 3),
}

CITYSCAPES_SIZE = (128, 256)
CITYSCAPES_COUNTS = {"train": 2975, "val": 500}
# the 7-class labels: MTAN's folder name first, then LibMTL's rename
CITYSCAPES_LABEL_FOLDERS = {7: ("label_7", "label"), 19: ("label_19",)}

CELEBA_ATTRIBUTES = (
    "5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald", "Bangs",
    "Big_Lips", "Big_Nose", "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair", "Bushy_Eyebrows",
    "Chubby", "Double_Chin", "Eyeglasses", "Goatee", "Gray_Hair", "Heavy_Makeup", "High_Cheekbones",
    "Male", "Mouth_Slightly_Open", "Mustache", "Narrow_Eyes", "No_Beard", "Oval_Face", "Pale_Skin",
    "Pointy_Nose", "Receding_Hairline", "Rosy_Cheeks", "Sideburns", "Smiling", "Straight_Hair",
    "Wavy_Hair", "Wearing_Earrings", "Wearing_Hat", "Wearing_Lipstick", "Wearing_Necklace",
    "Wearing_Necktie", "Young",
)  # fmt: skip
CELEBA_PARTITION_SIZES = (162770, 19867, 19962)  # train, validation, test
CELEBA_IMAGE_SIZE = (218, 178)  # height, width of img_align_celeba
# relative to the dataset folder, per layout: (images, partition file, attribute file)
CELEBA_LAYOUTS = {
    "torchvision": ("img_align_celeba", "list_eval_partition.txt", "list_attr_celeba.txt"),
    "official": (
        "Img/img_align_celeba",
        "Eval/list_eval_partition.txt",
        "Anno/list_attr_celeba.txt",
    ),
}
CELEBA_OTHER_FILES = {
    "torchvision": (
        "identity_CelebA.txt",
        "list_bbox_celeba.txt",
        "list_landmarks_align_celeba.txt",
    ),
    "official": (
        "Anno/identity_CelebA.txt",
        "Anno/list_bbox_celeba.txt",
        "Anno/list_landmarks_align_celeba.txt",
        "Anno/list_landmarks_celeba.txt",
    ),
}


# --------------------------------------------------------------------------------------------
# dense npy releases (NYUv2, Cityscapes)


def numbered_npy_count(folder: Path) -> int:
    """N for a folder holding exactly ``0.npy`` … ``{N−1}.npy`` (other file types are ignored)."""
    if not folder.is_dir():
        raise DataFormatError(f"{folder}: missing folder (expected files 0.npy, 1.npy, …)")
    numbers = []
    for name in os.listdir(folder):
        if not name.endswith(".npy"):
            continue
        stem = name[: -len(".npy")]
        if not stem.isdigit() or str(int(stem)) != stem:
            raise DataFormatError(
                f"{folder / name}: unexpected file name; expected {{i}}.npy with i = 0..N-1 "
                "written without leading zeros"
            )
        numbers.append(int(stem))
    if not numbers:
        raise DataFormatError(f"{folder}: no .npy files (expected 0.npy, 1.npy, …)")
    numbers.sort()
    for expected, found in enumerate(numbers):
        if found != expected:
            raise DataFormatError(
                f"{folder / f'{expected}.npy'}: missing; the files must be numbered 0..N-1 "
                f"without gaps (found {len(numbers)} files, the highest {numbers[-1]}.npy)"
            )
    return len(numbers)


def open_npy(path: Path) -> np.ndarray:
    """The array memory-mapped (nothing is read until used)."""
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise DataFormatError(f"{path}: missing file") from None
    except (OSError, ValueError) as error:
        raise DataFormatError(f"{path}: not a readable .npy array ({error})") from None


@dataclass(frozen=True)
class NpyHeader:
    """What an ``.npy`` file declares in its header: the array's shape and dtype."""

    shape: tuple[int, ...]
    dtype: np.dtype


def read_npy_header(path: Path) -> NpyHeader:
    """The shape and dtype of an ``.npy`` file from its header alone (no data is read); a file
    holding less data than its header declares (a truncated copy) is refused."""
    try:
        with open(path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
            else:
                shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
            data_start = handle.tell()
    except FileNotFoundError:
        raise DataFormatError(f"{path}: missing file") from None
    except (OSError, ValueError) as error:
        raise DataFormatError(f"{path}: not a readable .npy array ({error})") from None
    if dtype.hasobject:
        raise DataFormatError(f"{path}: expected a numeric array, but found dtype {dtype}")
    declared = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    held = path.stat().st_size - data_start
    if held < declared:
        raise DataFormatError(
            f"{path}: truncated: its header declares a {dtype} array of shape {tuple(shape)} "
            f"({declared:,} bytes), but the file holds {held:,} bytes of data"
        )
    return NpyHeader(tuple(int(n) for n in shape), dtype)


def check_header(
    path: Path, header: NpyHeader, fmt: NpyFormat, size: tuple[int, int], kind: str
) -> None:
    """Shape and dtype of one file of ``fmt``; ``kind``: the dtype kind (``f``, ``i``…) of the
    folder's first file, which every file of the folder must share."""
    check_shape(path, header, fmt, size)
    if not (np.issubdtype(header.dtype, np.number) or header.dtype == np.bool_):
        raise DataFormatError(f"{path}: expected a numeric array, but found dtype {header.dtype}")
    if header.dtype.kind != kind:
        found = DTYPE_KINDS.get(header.dtype.kind, header.dtype.kind)
        raise DataFormatError(
            f"{path}: dtype {header.dtype} ({found}), but {path.parent.name}/0.npy holds "
            f"{DTYPE_KINDS.get(kind, kind)}: every file of a folder must hold the same kind of "
            "values"
        )


DTYPE_KINDS = {
    "f": "floats",
    "i": "integers",
    "u": "unsigned integers",
    "b": "booleans",
    "c": "complex numbers",
}


def check_shape(
    path: Path, array: np.ndarray | NpyHeader, fmt: NpyFormat, size: tuple[int, int]
) -> None:
    expected = fmt.shape(size)
    if array.shape == expected:
        return
    hint = ""
    if fmt.channels and array.shape == (fmt.channels, *size):
        hint = " (channels first; the release stores channels last, HWC)"
    elif fmt.channels == 1 and array.shape == size:
        hint = " (missing the trailing channel axis of size 1)"
    raise DataFormatError(
        f"{path}: expected shape {expected} for {fmt.folder} {fmt.describe()}, but found "
        f"{array.shape}{hint}"
    )


def check_values(path: Path, array: np.ndarray, fmt: NpyFormat) -> None:
    """The value range of one file of ``fmt`` (shape already checked)."""
    if not (np.issubdtype(array.dtype, np.number) or array.dtype == np.bool_):
        raise DataFormatError(f"{path}: expected a numeric array, but found dtype {array.dtype}")
    values = np.asarray(array, dtype=np.float64)
    if not np.isfinite(values).all():
        raise DataFormatError(f"{path}: contains NaN or infinite values ({fmt.describe()})")
    low, high = float(values.min()), float(values.max())
    if fmt.kind == "image" and (low < 0.0 or high > 1.0):
        raise DataFormatError(
            f"{path}: image values must be in [0, 1], but found [{low:g}, {high:g}]"
            + (" (looks like 0..255: divide by 255)" if high > 1.0 else "")
        )
    if fmt.kind == "label":
        if not (values == np.round(values)).all():
            raise DataFormatError(f"{path}: labels must be integer-valued, found fractions")
        if low < -1 or high > fmt.num_classes - 1:
            outside = values[(values < -1) | (values > fmt.num_classes - 1)]
            raise DataFormatError(
                f"{path}: label {outside[0]:g} outside 0..{fmt.num_classes - 1} "
                f"(and -1 = ignored); found values in [{low:g}, {high:g}]"
            )
    if fmt.kind == "depth" and low < 0.0:
        raise DataFormatError(f"{path}: depth must be >= 0 (0 = invalid), but found {low:g}")
    if fmt.kind == "normal":
        norms = np.linalg.norm(values, axis=-1)
        bad = (norms != 0) & (np.abs(norms - 1.0) > NORMAL_TOLERANCE)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise DataFormatError(
                f"{path}: normals must be unit vectors or the zero vector (invalid), but pixel "
                f"({row}, {col}) has length {norms[row, col]:.4g} ({int(bad.sum())} such pixels)"
            )


@dataclass
class DenseLayout:
    """A checked dense release: per split its sample count, and the formats to read."""

    dataset: str
    root: Path
    size: tuple[int, int]
    formats: dict[str, NpyFormat]  # "image" and one entry per task
    counts: dict[str, int]
    summary: list[str] = field(default_factory=list)

    def split_dir(self, split: str) -> Path:
        return self.root / split


def require_root(dataset: str, root: Path | str | None) -> Path:
    if root is None:
        raise DataFormatError(
            f"{dataset}: no data folder given; pass its root (the folder holding train/ and val/)"
        )
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataFormatError(f"{root}: missing folder (the {dataset} data root)")
    return root


def check_dense_release(
    dataset: str,
    root: Path | str | None,
    formats: Mapping[str, NpyFormat | Sequence[NpyFormat]],
    official_counts: Mapping[str, int],
    paper_size: tuple[int, int],
    full: bool = False,
) -> DenseLayout:
    """Check ``root/{train,val}/<folder>/{i}.npy`` for every format (alternatives tried in order).

    ``formats`` maps "image" and each task to its format, or to a sequence of alternative formats
    (Cityscapes' ``label_7`` / ``label``): the first whose folder exists in ``train/`` is used.
    """
    root = require_root(dataset, root)
    resolved: dict[str, NpyFormat] = {}
    for key, options in formats.items():
        alternatives = (options,) if isinstance(options, NpyFormat) else tuple(options)
        present = [f for f in alternatives if (root / "train" / f.folder).is_dir()]
        if not present:
            names = " or ".join(f"train/{f.folder}/" for f in alternatives)
            raise DataFormatError(f"{root}: missing folder {names} (needed for {key!r})")
        resolved[key] = present[0]

    image_format = resolved["image"]
    first_image_path = root / "train" / image_format.folder / "0.npy"
    first_image = open_npy(first_image_path)
    if first_image.ndim != 3 or first_image.shape[-1] != 3:
        raise DataFormatError(
            f"{first_image_path}: expected an (H, W, 3) image, channels last, but found shape "
            f"{first_image.shape}"
        )
    size = (int(first_image.shape[0]), int(first_image.shape[1]))

    counts: dict[str, int] = {}
    for split in official_counts:
        split_counts = {
            fmt.folder: numbered_npy_count(root / split / fmt.folder) for fmt in resolved.values()
        }
        n = split_counts[image_format.folder]
        for folder, count in split_counts.items():
            if count != n:
                raise DataFormatError(
                    f"{root / split / folder}: {count} files, but {split}/{image_format.folder}/ "
                    f"has {n}; every folder of a split needs the same 0..N-1 files"
                )
        counts[split] = n
        sampled = set(range(n)) if full else {0, n - 1}
        for fmt in resolved.values():
            folder = root / split / fmt.folder
            kind = read_npy_header(folder / "0.npy").dtype.kind
            for i in range(n):
                path = folder / f"{i}.npy"
                check_header(path, read_npy_header(path), fmt, size, kind)
                if i in sampled:
                    check_values(path, open_npy(path), fmt)

    summary = [f"{dataset} at {root}"]
    for split, n in counts.items():
        role = "test split" if split == "val" else "training images (validation drawn from these)"
        summary.append(
            f"  {split}/: {n} samples, {role} (official release: {official_counts[split]})"
        )
    for key, fmt in resolved.items():
        summary.append(f"  {key}: {fmt.folder}/ {fmt.describe()}")
    note = "" if size == paper_size else f" (the paper uses {paper_size[0]}×{paper_size[1]})"
    summary.append(f"  resolution {size[0]}×{size[1]}{note}")
    checked = "every file" if full else "first and last file of each folder"
    summary.append(f"  headers checked (shape, dtype, size): every file; values: {checked}")
    return DenseLayout(dataset, root, size, resolved, counts, summary)


def check_task_names(dataset: str, tasks: Iterable[str], known: Sequence[str]) -> tuple[str, ...]:
    """``tasks`` in the dataset's canonical order; unknown or repeated names are refused."""
    tasks = tuple(tasks)
    unknown = [t for t in tasks if t not in known]
    if unknown or not tasks or len(set(tasks)) != len(tasks):
        raise ValueError(
            f"{dataset}: tasks must be distinct names among {', '.join(known)}, but got "
            f"{list(tasks)}."
        )
    return tuple(t for t in known if t in tasks)


def check_nyuv2(
    root: Path | str | None,
    tasks: Iterable[str] = ("seg", "depth", "normal"),
    full: bool = False,
) -> DenseLayout:
    tasks = check_task_names("nyuv2", tasks, ("seg", "depth", "normal"))
    formats = {"image": NYUV2_FORMATS["image"], **{t: NYUV2_FORMATS[t] for t in tasks}}
    return check_dense_release("nyuv2", root, formats, NYUV2_COUNTS, NYUV2_SIZE, full)


def cityscapes_formats(segmentation_classes: int) -> dict[str, tuple[NpyFormat, ...]]:
    if segmentation_classes not in CITYSCAPES_LABEL_FOLDERS:
        raise ValueError(f"segmentation_classes must be 7 or 19, but got {segmentation_classes}.")
    labels = tuple(
        NpyFormat(folder, "label", None, num_classes=segmentation_classes)
        for folder in CITYSCAPES_LABEL_FOLDERS[segmentation_classes]
    )
    return {
        "image": (NpyFormat("image", "image", 3),),
        "seg": labels,
        "depth": (NpyFormat("depth", "depth", 1),),
    }


def check_cityscapes(
    root: Path | str | None,
    tasks: Iterable[str] = ("seg", "depth"),
    segmentation_classes: int = 7,
    full: bool = False,
) -> DenseLayout:
    tasks = check_task_names("cityscapes", tasks, ("seg", "depth"))
    every = cityscapes_formats(segmentation_classes)
    formats = {"image": every["image"], **{t: every[t] for t in tasks}}
    return check_dense_release(
        "cityscapes", root, formats, CITYSCAPES_COUNTS, CITYSCAPES_SIZE, full
    )


# --------------------------------------------------------------------------------------------
# CelebA


@dataclass
class CelebALayout:
    """A checked CelebA folder: every listed image with its partition and 0/1 attributes."""

    folder: Path
    layout: str  # "torchvision" or "official"
    image_dir: Path
    filenames: list[str]
    partition: np.ndarray  # (N,) int8 in {0, 1, 2}
    attributes: np.ndarray  # (N, 40) uint8 in {0, 1}, columns in CELEBA_ATTRIBUTES order
    summary: list[str] = field(default_factory=list)


def find_celeba_folder(root: Path | str | None) -> tuple[Path, str]:
    """The folder holding the CelebA files and its layout; ``root`` may be its parent."""
    if root is None:
        raise DataFormatError("celeba: no data folder given; pass the folder holding celeba/")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DataFormatError(f"{root}: missing folder (the celeba data root)")
    for folder in (root, root / "celeba", root / "CelebA"):
        for layout, (images, partition, attributes) in CELEBA_LAYOUTS.items():
            markers = (folder / images, folder / partition, folder / attributes)
            if any(path.exists() for path in markers):
                return folder, layout
    raise DataFormatError(
        f"{root}: no CelebA files found; expected torchvision's layout "
        "celeba/{img_align_celeba/, list_eval_partition.txt, list_attr_celeba.txt} or the "
        "official one {Img/img_align_celeba/, Eval/list_eval_partition.txt, "
        "Anno/list_attr_celeba.txt}"
    )


def read_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise DataFormatError(f"{path}: missing file")
    with path.open(encoding="utf-8") as handle:
        return [line for line in handle.read().splitlines() if line.strip()]


def read_partition(path: Path) -> tuple[list[str], np.ndarray]:
    """``list_eval_partition.txt``: lines ``<image> <0|1|2>``."""
    filenames, parts = [], []
    for number, line in enumerate(read_lines(path), start=1):
        fields = line.split()
        if len(fields) != 2 or fields[1] not in ("0", "1", "2"):
            raise DataFormatError(
                f"{path}, line {number}: expected '<image>.jpg <0|1|2>', but found {line!r}"
            )
        filenames.append(fields[0])
        parts.append(int(fields[1]))
    if not filenames:
        raise DataFormatError(f"{path}: empty partition file")
    return filenames, np.asarray(parts, dtype=np.int8)


def read_attributes(path: Path) -> tuple[list[str], np.ndarray]:
    """``list_attr_celeba.txt``: a count line, the 40 names, then ``<image> ±1 × 40`` rows."""
    lines = read_lines(path)
    if len(lines) < 2 or not lines[0].strip().isdigit():
        raise DataFormatError(
            f"{path}, line 1: expected the number of images, but found "
            f"{lines[0] if lines else 'an empty file'!r}"
        )
    names = tuple(lines[1].split())
    if names != CELEBA_ATTRIBUTES:
        raise DataFormatError(
            f"{path}, line 2: expected the 40 CelebA attribute names "
            f"({' '.join(CELEBA_ATTRIBUTES[:3])} … {CELEBA_ATTRIBUTES[-1]}), but found "
            f"{len(names)} names starting {' '.join(names[:3])!r}"
        )
    rows = [line.split() for line in lines[2:]]
    for number, fields in enumerate(rows, start=3):
        if len(fields) != 41:
            raise DataFormatError(
                f"{path}, line {number}: expected an image name and 40 values, but found "
                f"{len(fields)} fields"
            )
    declared = int(lines[0])
    if declared != len(rows):
        raise DataFormatError(f"{path}: line 1 declares {declared} images, but {len(rows)} follow")
    values = np.asarray([fields[1:] for fields in rows])
    positive, negative = values == "1", values == "-1"
    invalid = ~(positive | negative)
    if invalid.any():
        row, col = np.argwhere(invalid)[0]
        raise DataFormatError(
            f"{path}, line {row + 3}: attribute {CELEBA_ATTRIBUTES[col]} is "
            f"{str(values[row, col])!r}; expected -1 or 1"
        )
    return [fields[0] for fields in rows], positive.astype(np.uint8)


def check_celeba_image(path: Path) -> tuple[int, int]:
    """Decode one JPEG fully; its (height, width)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            return image.height, image.width
    except FileNotFoundError:
        raise DataFormatError(f"{path}: missing image") from None
    except (UnidentifiedImageError, OSError) as error:
        raise DataFormatError(f"{path}: not a readable image ({error})") from None


def check_celeba(root: Path | str | None, full: bool = False) -> CelebALayout:
    folder, layout = find_celeba_folder(root)
    images, partition_name, attribute_name = CELEBA_LAYOUTS[layout]
    image_dir = folder / images
    if not image_dir.is_dir():
        zipped = image_dir.with_suffix(".zip")
        hint = f" ({zipped.name} is there: unzip it)" if zipped.is_file() else ""
        raise DataFormatError(f"{image_dir}: missing folder of aligned JPEG images{hint}")
    filenames, partition = read_partition(folder / partition_name)
    attribute_files, attributes = read_attributes(folder / attribute_name)
    if attribute_files != filenames:
        rows = {name: i for i, name in enumerate(attribute_files)}
        missing = [name for name in filenames if name not in rows]
        if missing:
            raise DataFormatError(
                f"{folder / attribute_name}: no attributes for {missing[0]} (listed in "
                f"{partition_name}; {len(missing)} images in all)"
            )
        attributes = attributes[[rows[name] for name in filenames]]
    on_disk = set(os.listdir(image_dir))
    absent = [name for name in filenames if name not in on_disk]
    if absent:
        raise DataFormatError(
            f"{image_dir / absent[0]}: missing image listed in {partition_name} "
            f"({len(absent)} listed images missing)"
        )
    for name in filenames if full else filenames[:1]:
        check_celeba_image(image_dir / name)
    sizes = [int((partition == p).sum()) for p in range(3)]
    for p, size in enumerate(sizes):
        if size == 0:
            raise DataFormatError(
                f"{folder / partition_name}: partition {p} ({('train', 'val', 'test')[p]}) is empty"
            )
    present = [name for name in CELEBA_OTHER_FILES[layout] if (folder / name).is_file()]
    summary = [
        f"celeba at {folder} ({layout} layout)",
        f"  partition train/val/test: {sizes[0]}/{sizes[1]}/{sizes[2]} images "
        f"(official release: {'/'.join(str(s) for s in CELEBA_PARTITION_SIZES)})",
        f"  attributes: 40 (-1/1 read as 0/1), positive rate {attributes.mean():.3f}",
        f"  other list files present (not needed): {', '.join(present) or 'none'}",
        f"  images decoded: {'all' if full else 'the first'}",
    ]
    return CelebALayout(folder, layout, image_dir, filenames, partition, attributes, summary)


# --------------------------------------------------------------------------------------------


DatasetCheck = Callable[[Path | str | None, bool], list[str]]
DATASET_CHECKS: Registry[DatasetCheck] = Registry("on-disk dataset check")


@DATASET_CHECKS.register("nyuv2")
def _nyuv2_summary(root: Path | str | None, full: bool) -> list[str]:
    return check_nyuv2(root, full=full).summary


@DATASET_CHECKS.register("cityscapes")
def _cityscapes_summary(root: Path | str | None, full: bool) -> list[str]:
    summary = check_cityscapes(root, full=full).summary
    if root is not None and (Path(root).expanduser() / "train" / "label_19").is_dir():
        labels_19 = check_cityscapes(root, ("seg",), segmentation_classes=19, full=full)
        fmt = labels_19.formats["seg"]
        summary.append(f"  seg, segmentation_classes=19: {fmt.folder}/ {fmt.describe()}")
    return summary


@DATASET_CHECKS.register("celeba")
def _celeba_summary(root: Path | str | None, full: bool) -> list[str]:
    return check_celeba(root, full=full).summary


def check_dataset(name: str, root: Path | str | None, full: bool = False) -> list[str]:
    """Validate the dataset folder ``root`` for ``name``; a human summary, or DataFormatError.

    The error names the file expected or at fault, what it should hold and what was found.
    """
    return DATASET_CHECKS.get(name)(root, full)
