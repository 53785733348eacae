"""GradDrop: sign purity and the per-coordinate choice of a sign."""

from __future__ import annotations

import pytest
import torch

from mtlx.methods import GradientSource, aggregate, build_method


def test_agreeing_signs_are_kept_whole() -> None:
    jacobian = torch.tensor([[1.0, -2.0, 0.0], [3.0, -1.0, 0.0]])
    torch.testing.assert_close(aggregate("graddrop", jacobian), jacobian.sum(dim=0))


def test_each_coordinate_keeps_one_sign_only() -> None:
    generator = torch.Generator().manual_seed(0)
    jacobian = torch.randn(3, 1000, generator=generator)
    direction = aggregate("graddrop", jacobian)
    positive = jacobian.clamp_min(0).sum(dim=0)
    negative = jacobian.clamp_max(0).sum(dim=0)
    kept_positive = torch.isclose(direction, positive)
    kept_negative = torch.isclose(direction, negative)
    assert (kept_positive | kept_negative).all()


def test_positive_sign_is_kept_with_probability_the_purity() -> None:
    # per coordinate g = (3, −1): P = ½(1 + 2/4) = ¾
    jacobian = torch.tensor([[3.0], [-1.0]]).expand(2, 20000).contiguous()
    torch.manual_seed(0)
    direction = aggregate("graddrop", jacobian)
    share_positive = float((direction == 3.0).double().mean())
    assert share_positive == pytest.approx(0.75, abs=0.02)
    assert set(direction.unique().tolist()) == {-1.0, 3.0}


def test_full_leak_is_the_plain_sum() -> None:
    jacobian = torch.randn(3, 50, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(aggregate("graddrop", jacobian, leak=1.0), jacobian.sum(dim=0))


def test_source_option() -> None:
    assert build_method("graddrop", 2).source is GradientSource.REPRESENTATION
    method = build_method("graddrop", 2, source="shared_parameters")
    assert method.source is GradientSource.SHARED_PARAMETERS
    with pytest.raises(ValueError, match="source must be one of representation, shared_param"):
        build_method("graddrop", 2, source="losses")
    with pytest.raises(ValueError, match=r"^leak must be in \[0, 1\], but got 2\.0\.$"):
        build_method("graddrop", 2, leak=2.0)
