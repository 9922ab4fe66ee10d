"""Emulator routes: recordings."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
