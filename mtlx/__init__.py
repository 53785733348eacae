"""mtlx: experiment runner and results database for multi-task optimization research."""

__version__ = "0.1.0"
