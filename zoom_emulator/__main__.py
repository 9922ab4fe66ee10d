"""``python -m zoom_emulator``: the ``zoom-emulator`` command."""

from zoom_emulator.cli import main

main()
