"""``python -m prefect_zoom.cli``."""

from prefect_zoom.cli import main

main()
