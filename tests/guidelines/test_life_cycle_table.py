"""What the pages used to decide, now asked of the service: next actions, lists, revisions."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from core.accounts import Role, User
from core.errors import Conflict, NotFound
from guidelines import consultation, service
from guidelines.models import GuidelineVersion, VersionStatus
from tests.factories import NOW, make_user
from tests.guidelines.builders import make_draft, make_staff
from tests.guidelines.test_lifecycle import LATER, _to_status

S = VersionStatus
# The buttons each person sees, written out: (status, consultation over) -> actions in order.
STAFF_ACTIONS: dict[tuple[S, bool], list[str]] = {
    (S.draft, False): ["revisions", "edit", "open_consultation", "withdraw", "put_to_vote"],
    (S.consultation, False): ["revisions"],
    (S.consultation, True): ["revisions", "return_to_draft", "put_to_vote"],
    (S.adopted, False): ["revisions", "new_draft"],
    (S.superseded, False): ["revisions", "new_draft"],
    (S.withdrawn, False): ["revisions"],
}
COUNCIL_ACTIONS: dict[tuple[S, bool], list[str]] = {
    (S.draft, False): ["put_to_vote"],
    (S.consultation, False): [],
    (S.consultation, True): ["put_to_vote"],
    (S.adopted, False): [],
    (S.superseded, False): [],
    (S.withdrawn, False): [],
}


@pytest.mark.parametrize(("status", "closed"), list(STAFF_ACTIONS))
def test_each_person_is_offered_the_steps_the_table_allows(
    db: Session, status: S, closed: bool
) -> None:
    staff = make_staff(db)
    council = make_user(db, role=Role.council_member)
    version = _to_status(db, staff, status)
    # The consultation opened at NOW closes 30 days later, before LATER.
    now = LATER if closed else NOW
    assert service.available_actions(version, staff, now=now) == STAFF_ACTIONS[status, closed]
    assert service.available_actions(version, council, now=now) == COUNCIL_ACTIONS[status, closed]
    assert service.available_actions(version, None, now=now) == []
    applicant = make_user(db)
    assert service.available_actions(version, applicant, now=now) == []


def test_the_transition_table_is_read_from_the_life_cycle() -> None:
    assert service.LIFE_CYCLE.transitions(S) == service.TRANSITIONS
    assert service.LIFE_CYCLE.actions(S.adopted, _nobody()) == []


def _nobody() -> service.VersionViewer:
    version = GuidelineVersion(number="1.0", status=S.adopted)
    return service.VersionViewer(version=version, viewer=None, now=NOW)


def _two_guidelines(db: Session) -> User:
    """`borrador` holds only a draft; `etica-ia` a version in consultation."""
    staff = make_staff(db)
    make_draft(db, staff, slug="borrador")
    _to_status(db, staff, S.consultation)
    return staff


def test_guideline_lists_hold_only_guidelines_with_a_version_the_viewer_may_read(
    db: Session,
) -> None:
    staff = _two_guidelines(db)
    council = make_user(db, role=Role.council_member)
    slugs = [g.slug for g in service.list_visible_guidelines(db, viewer=None)]
    assert slugs == ["etica-ia"]
    assert [g.slug for g in service.list_visible_guidelines(db, viewer=council)] == [
        "borrador",
        "etica-ia",
    ]
    assert [g.slug for g in service.list_visible_guidelines(db, viewer=staff)] == [
        "borrador",
        "etica-ia",
    ]
    with pytest.raises(NotFound):
        service.get_visible_guideline(db, "borrador", viewer=None)
    assert service.get_visible_guideline(db, "borrador", viewer=staff).slug == "borrador"


def test_a_page_of_guidelines_is_cut_in_the_database_and_counts_them_all(db: Session) -> None:
    staff = _two_guidelines(db)
    first, total = service.page_of_visible_guidelines(db, viewer=staff, page=1, page_size=1)
    second, _ = service.page_of_visible_guidelines(db, viewer=staff, page=2, page_size=1)
    beyond, _ = service.page_of_visible_guidelines(db, viewer=staff, page=3, page_size=1)
    assert ([g.slug for g in first], [g.slug for g in second], beyond, total) == (
        ["borrador"],
        ["etica-ia"],
        [],
        2,
    )
    public, public_total = service.page_of_visible_guidelines(db, viewer=None, page=1, page_size=50)
    assert ([g.slug for g in public], public_total) == (["etica-ia"], 1)


def test_only_the_secretariat_reads_a_saved_revision(db: Session) -> None:
    staff = make_staff(db)
    make_draft(db, staff)
    council = make_user(db, role=Role.council_member)
    document = service.document_at(db, slug="etica-ia", number="1.0", revision=1, viewer=staff)
    assert document.number == "1.0"
    assert not service.may_read_revisions(council)
    with pytest.raises(NotFound):
        service.document_at(db, slug="etica-ia", number="1.0", revision=1, viewer=council)
    whole = service.document_at(db, slug="etica-ia", number="1.0", revision=None, viewer=council)
    assert whole.number == "1.0"


def test_the_secretariat_manages_the_period_only_while_the_consultation_is_open(
    db: Session,
) -> None:
    staff = make_staff(db)
    version = _to_status(db, staff, S.consultation)
    assert consultation.can_manage_period(version, staff, NOW)
    assert not consultation.can_manage_period(version, staff, LATER)
    assert not consultation.can_manage_period(version, None, NOW)
    assert not consultation.can_manage_period(version, make_user(db), NOW + dt.timedelta(days=1))


def test_an_editable_draft_is_refused_once_it_left_the_draft_status(db: Session) -> None:
    staff = make_staff(db)
    _to_status(db, staff, S.consultation)
    with pytest.raises(Conflict):
        service.get_editable_draft(db, slug="etica-ia", number="1.0", editor=staff)


def test_a_version_stored_as_superseded_offers_its_history_and_a_new_draft(db: Session) -> None:
    # Rows written before standings were computed from dates still store "superseded".
    staff = make_staff(db)
    council = make_user(db, role=Role.council_member)
    version = _to_status(db, staff, S.adopted)
    version.status = S.superseded
    db.flush()
    assert service.available_actions(version, staff, now=NOW) == ["revisions", "new_draft"]
    assert service.available_actions(version, council, now=NOW) == []
