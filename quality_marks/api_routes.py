"""The quality-marks API under /api/v1: organisations, products and applications."""

from __future__ import annotations

from fastapi import APIRouter

from core.api import ERROR_RESPONSES

api = APIRouter(prefix="/api/v1", tags=["quality_marks"], responses=ERROR_RESPONSES)
