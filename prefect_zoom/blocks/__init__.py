"""prefect-zoom blocks."""
