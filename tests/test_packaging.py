"""The distributions hold what they should: the wheel exactly the ``prefect_zoom`` and
``zoom_emulator`` packages (the local Zoom, its OpenAPI spec included).

The wheel is built offline from this checkout with the installed hatchling
(``--no-build-isolation --no-index``), so the test needs no download.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import prefect_zoom

ROOT = Path(__file__).resolve().parents[1]


PACKAGES = ("prefect_zoom", "zoom_emulator")


def _package_files() -> set[str]:
    """Every file of the source packages, as it should appear in the wheel."""
    return {
        path.relative_to(ROOT).as_posix()
        for package in PACKAGES
        for path in (ROOT / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


def test_wheel_holds_exactly_the_package_its_license_and_one_version(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--wheel-dir",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("*.whl")
    dist_info = f"prefect_zoom-{prefect_zoom.__version__}.dist-info"
    assert wheel.name == f"prefect_zoom-{prefect_zoom.__version__}-py3-none-any.whl"

    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = Parser().parsestr(archive.read(f"{dist_info}/METADATA").decode())
        license_text = archive.read(f"{dist_info}/licenses/LICENSE").decode()
        entry_points = archive.read(f"{dist_info}/entry_points.txt").decode()

    package = {name for name in names if not name.startswith(f"{dist_info}/")}
    assert package == _package_files()
    assert {"prefect_zoom/py.typed", "zoom_emulator/py.typed"} <= package
    assert "zoom_emulator/spec/zoom-meeting-api.openapi.json" in package
    assert not {name for name in names if name.split("/")[0] in {"tests", "benchmarks", "docs"}}
    assert {name for name in names if name.startswith(f"{dist_info}/")} == {
        f"{dist_info}/{leaf}"
        for leaf in ("METADATA", "WHEEL", "RECORD", "entry_points.txt", "licenses/LICENSE")
    }

    assert metadata["Name"] == "prefect-zoom"
    assert metadata["Version"] == prefect_zoom.__version__
    assert metadata["License-Expression"] == "Apache-2.0"
    assert "emulator" in (metadata.get_all("Provides-Extra") or [])
    requirements = metadata.get_all("Requires-Dist") or []
    emulator_needs = [r for r in requirements if "extra == 'emulator'" in r]
    assert {r.split(";")[0].split(">")[0].strip() for r in emulator_needs} >= {"fastapi", "uvicorn"}
    assert "zoom-emulator = zoom_emulator.cli:main" in entry_points
    assert "[pytest11]\nzoom_emulator = zoom_emulator.pytest_plugin" in entry_points
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text


def test_sdist_holds_the_sources_tests_and_license_but_no_local_state(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "hatchling",
            "build",
            "--target",
            "sdist",
            "--directory",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (sdist,) = tmp_path.glob("*.tar.gz")
    top = f"prefect_zoom-{prefect_zoom.__version__}"
    with tarfile.open(sdist) as archive:
        names = {name.removeprefix(f"{top}/") for name in archive.getnames()}

    for needed in ("pyproject.toml", "LICENSE", "README.md", "prefect_zoom/py.typed"):
        assert needed in names
    assert _package_files() <= names
    assert any(name.startswith("tests/") for name in names)
    assert not [
        n for n in names if n.startswith(".venv") or "__pycache__" in n or n.endswith(".pyc")
    ]


def test_testing_module_imports_without_pytest() -> None:
    """``prefect_zoom.testing`` works where pytest is not installed (it is no runtime dependency)."""
    script = (
        "import sys\n"
        "sys.modules['pytest'] = None  # makes `import pytest` fail as if it were not installed\n"
        "import prefect_zoom.testing as testing\n"
        "assert testing.running_emulator and testing.ZoomEmulator\n"
        "try:\n"
        "    from prefect_zoom.testing import zoom_emulator\n"
        "except ImportError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "pip install pytest" in result.stdout
