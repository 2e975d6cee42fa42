"""The dashboard at /_mock/ui/: server-rendered pages over the control API."""

from .dashboard import install

__all__ = ["install"]
