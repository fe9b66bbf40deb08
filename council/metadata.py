"""Every table of the service, gathered for Alembic (the council package sees all the others)."""

from __future__ import annotations

from sqlalchemy import MetaData

import core.accounts
import core.audit
import core.documents
import core.mail
import core.ratelimit
import core.submissions
import core.transparency
import council.models
import guidelines.models
import quality_marks.certificate_models
import quality_marks.complaint_models
import quality_marks.models
import quality_marks.registry_models
from core.db import Base

MODEL_MODULES = (
    core.accounts,
    core.audit,
    core.documents,
    core.mail,
    core.ratelimit,
    core.submissions,
    core.transparency,
    guidelines.models,
    quality_marks.models,
    quality_marks.certificate_models,
    quality_marks.complaint_models,
    quality_marks.registry_models,
    council.models,
)

target_metadata: MetaData = Base.metadata
