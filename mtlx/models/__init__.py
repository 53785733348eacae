"""Networks with hard parameter sharing, registered by name."""

from mtlx.models import deeplab, lenet, resnet, segnet  # noqa: F401  (registers them)
from mtlx.models.base import NETWORKS, MultiTaskNetwork, build_network

__all__ = ["NETWORKS", "MultiTaskNetwork", "build_network"]
