"""prefect-zoom flows."""
