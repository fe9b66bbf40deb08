"""The printable copy of an application's self-assessment: every criterion that applies, with
its answer, justification, evidence and what of it may be published, as an A4 PDF."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from core.accounts import User
from core.i18n import translator
from core.pdf import render_pdf
from core.templating import render_text
from guidelines.service import RISK_LABELS
from quality_marks.applications import (
    ANSWER_LABELS,
    STATUS_LABELS,
    ChecklistItem,
    checklist,
    get_application,
)
from quality_marks.models import Application

TEMPLATE = "quality_marks/self_assessment.pdf.html"


@dataclass(frozen=True)
class SelfAssessment:
    """An application and its checklist, as the printed copy shows them."""

    application: Application
    items: list[ChecklistItem]


def self_assessment(session: Session, user: User, application_id: int) -> SelfAssessment:
    """The self-assessment of an application its organisation's people, its reviewers or the
    secretariat may read; anyone else learns nothing (NotFound)."""
    application = get_application(session, user, application_id)
    return SelfAssessment(application, checklist(session, application))


def render_self_assessment(
    assessment: SelfAssessment, *, reader: User, locale: str, link: str, now: dt.datetime
) -> bytes:
    """The self-assessment as an A4 PDF in the reader's language, marked with who it was
    printed for, since it carries what the applicant kept confidential."""
    tr = translator(locale)
    application = assessment.application
    html = render_text(
        TEMPLATE,
        tr,
        application=application,
        items=assessment.items,
        html_lang=tr.html_lang,
        link=link,
        generated_at=now,
        answer_labels=ANSWER_LABELS,
        status_labels=STATUS_LABELS,
        risk_labels=RISK_LABELS,
        printed_for=reader.full_name,
    )
    return render_pdf(html)
