"""prefect-zoom tasks."""
