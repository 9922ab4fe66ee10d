"""Steps for ``deployments/prefect.yaml``: refuse to deploy with a missing setting.

``prefect deploy`` fills ``{{ $VAR }}`` with an empty string (and a mere warning) when ``VAR`` is
not set, so a forgotten ``export`` would deploy flows whose connection block is ``""``. The
build step :func:`require_environment` runs before anything is deployed and stops the deploy
with the variable's name and the fix instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from prefect_zoom.exceptions import MissingDeploySettingError


def require_environment(
    variables: Iterable[str], absolute_paths: Iterable[str] = ()
) -> dict[str, str]:
    """A ``prefect.yaml`` build step: every name in ``variables`` must be set and not blank, and
    those in ``absolute_paths`` must hold absolute paths; else raise, naming each and the fix."""
    values = {name: os.environ.get(name, "").strip() for name in (*variables, *absolute_paths)}
    problems = [f"{name} is not set" for name, value in values.items() if not value]
    problems += [
        f"{name} must be an absolute path as the workers see it, not {values[name]!r}"
        for name in absolute_paths
        if values[name] and not os.path.isabs(values[name])
    ]
    if problems:
        raise MissingDeploySettingError(
            "; ".join(problems) + ". Nothing was deployed. Set them and deploy again, from the "
            "deployments/ folder: `export ZOOM_CREDENTIALS_BLOCK=zoom` (the name of a saved Zoom "
            "connection block), `export ZOOM_ARCHIVE_DIR=/srv/zoom-archive`, then "
            "`prefect --no-prompt deploy --all`."
        )
    return {}
