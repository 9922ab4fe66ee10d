"""prefect-zoom: Zoom connections, activities and flows for Prefect."""

from prefect_zoom._version import __version__

__all__ = ["__version__"]
