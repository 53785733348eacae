"""Networks with hard parameter sharing, registered by name."""

from mtlx.models import lenet  # noqa: F401  (registers its networks)
from mtlx.models.base import NETWORKS, MultiTaskNetwork, build_network

__all__ = ["NETWORKS", "MultiTaskNetwork", "build_network"]
