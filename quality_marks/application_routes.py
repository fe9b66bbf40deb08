"""Pages for applications: checklist, evidence, submission, screening and messages."""

from __future__ import annotations

from fastapi import APIRouter

pages = APIRouter(include_in_schema=False)
