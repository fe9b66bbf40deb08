"""The life cycle of a guideline version: transitions, immutability, revisions, one in force."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.accounts import Role, User
from core.audit import AuditEvent
from core.errors import Conflict, Forbidden, Invalid
from guidelines import service
from guidelines.documents import load_version_tree, version_document
from guidelines.models import GuidelineVersion, VersionStatus
from guidelines.schemas import PrincipleInput, SummaryInput
from tests.factories import NOW, make_user
from tests.guidelines.builders import adopt, make_criterion_input, make_draft, make_staff

LATER = NOW + dt.timedelta(days=40)
S = VersionStatus


def _to_status(db: Session, staff: User, status: VersionStatus) -> GuidelineVersion:
    """A version brought to `status` through the verbs."""
    version = make_draft(db, staff)
    if status == S.consultation:
        service.open_consultation(
            db,
            actor=staff,
            version=version,
            closes_on=(NOW + dt.timedelta(days=30)).date(),
            min_days=30,
            now=NOW,
        )
    elif status == S.adopted:
        version = adopt(db, version)
    elif status == S.superseded:
        version = adopt(db, version)
        newer = service.start_new_draft(
            db, actor=staff, guideline=service.get_guideline(db, "etica-ia"), number="1.1", now=NOW
        )
        adopt(db, newer, now=LATER)
        version = load_version_tree(db, version.id)
    elif status == S.withdrawn:
        service.withdraw_version(db, actor=staff, version=version, reason="Duplicado", now=NOW)
    assert service.standing_of(db, version, LATER).status == status
    return version


def _attempt(db: Session, staff: User, version: GuidelineVersion, target: VersionStatus) -> None:
    """Ask for the transition to `target` through the verb that makes it."""
    if target == S.consultation:
        service.open_consultation(
            db,
            actor=staff,
            version=version,
            closes_on=(LATER + dt.timedelta(days=30)).date(),
            min_days=30,
            now=LATER,
        )
    elif target == S.draft:
        service.return_to_draft(db, actor=staff, version=version, now=LATER)
    elif target == S.adopted:
        service.adopt_version(
            db,
            version=version,
            resolution="CEIA-2026-009",
            effective_on=LATER.date(),
            consultation_skipped_reason="Versión de prueba sin consulta.",
            actor=None,
            now=LATER,
        )
    elif target == S.withdrawn:
        service.withdraw_version(db, actor=staff, version=version, reason="Ya no aplica", now=LATER)
    else:
        pytest.fail(f"no verb leads to {target}")


VERB_TARGETS = [S.consultation, S.draft, S.adopted, S.withdrawn]


@pytest.mark.parametrize("start", list(VersionStatus))
@pytest.mark.parametrize("target", VERB_TARGETS)
def test_transitions_follow_the_table(
    db: Session, start: VersionStatus, target: VersionStatus
) -> None:
    staff = make_staff(db)
    version = _to_status(db, staff, start)
    allowed = target in service.TRANSITIONS[start]
    if allowed:
        _attempt(db, staff, version, target)
        assert version.status == target
    else:
        with pytest.raises(Conflict):
            _attempt(db, staff, version, target)
        assert service.standing_of(db, load_version_tree(db, version.id), LATER).status == start


def test_transition_table_covers_every_status() -> None:
    assert set(service.TRANSITIONS) == set(VersionStatus)
    reachable = {target for targets in service.TRANSITIONS.values() for target in targets}
    # Nobody supersedes a version: it is superseded when its successor takes effect.
    assert reachable == set(VersionStatus) - {S.superseded}


def test_supersede_happens_only_through_adoption_of_a_newer_version(db: Session) -> None:
    staff = make_staff(db)
    adopt(db, make_draft(db, staff))
    second = service.start_new_draft(
        db, actor=staff, guideline=service.get_guideline(db, "etica-ia"), number="1.1", now=NOW
    )
    adopt(db, second, now=LATER, resolution="CEIA-2026-010")
    guideline = service.get_guideline(db, "etica-ia")
    standing = service.standings(guideline.versions, LATER)
    statuses = {v.number: standing[v.id].status for v in guideline.versions}
    assert statuses == {"1.0": S.superseded, "1.1": S.adopted}
    in_force = service.version_in_force(guideline, LATER)
    assert in_force is not None
    assert in_force.number == "1.1"
    (first,) = [v for v in guideline.versions if v.number == "1.0"]
    assert standing[first.id].superseded_on == LATER.date()


def _edits(db: Session, staff: User, version: GuidelineVersion) -> list[Callable[[], object]]:
    criterion = version.principles[0].criteria[0]
    principle = version.principles[0]
    return [
        lambda: service.update_summary(
            db,
            actor=staff,
            version=version,
            data=SummaryInput(summary_es="x"),
            expected_revision=None,
            now=LATER,
        ),
        lambda: service.add_principle(
            db,
            actor=staff,
            version=version,
            data=PrincipleInput(code="ZZ", title_es="Z"),
            expected_revision=None,
            now=LATER,
        ),
        lambda: service.update_criterion(
            db,
            actor=staff,
            version=version,
            criterion_id=criterion.id,
            data=make_criterion_input(criterion.code, principle.code, "Texto cambiado."),
            expected_revision=None,
            now=LATER,
        ),
        lambda: service.delete_criterion(
            db,
            actor=staff,
            version=version,
            criterion_id=criterion.id,
            expected_revision=None,
            now=LATER,
        ),
        lambda: service.move_principle(
            db,
            actor=staff,
            version=version,
            principle_id=principle.id,
            direction="down",
            expected_revision=None,
            now=LATER,
        ),
        lambda: service.replace_draft(
            db,
            actor=staff,
            version=version,
            document=version_document(version),
            expected_revision=None,
            now=LATER,
        ),
    ]


@pytest.mark.parametrize("status", [S.consultation, S.adopted, S.superseded, S.withdrawn])
def test_only_drafts_can_be_edited(db: Session, status: VersionStatus) -> None:
    staff = make_staff(db)
    version = _to_status(db, staff, status)
    before = version_document(load_version_tree(db, version.id))
    revisions_before = len(service.list_revisions(db, version))
    for edit in _edits(db, staff, version):
        with pytest.raises(Conflict):
            edit()
    after = version_document(load_version_tree(db, version.id))
    assert after == before
    assert len(service.list_revisions(db, version)) == revisions_before


def test_every_draft_save_is_a_revision_with_author_and_document(db: Session) -> None:
    staff = make_staff(db)
    version = make_draft(db, staff, criteria={"TR": ["TR-1"]})
    revisions = service.list_revisions(db, version)
    # created, + TR, + TR-1
    assert [r.number for r in revisions] == [3, 2, 1]
    assert {r.author_label for r in revisions} == {staff.full_name}
    assert revisions[0].document["principles"][0]["criteria"][0]["code"] == "TR-1"
    assert revisions[-1].document["principles"] == []
    events = db.scalars(
        select(AuditEvent.action).where(AuditEvent.object_id == str(version.id))
    ).all()
    assert events.count("guideline_version.revise") == 3


def test_stale_edit_is_refused_with_what_changed(db: Session) -> None:
    staff = make_staff(db)
    other = make_user(db, role=Role.secretariat, full_name="Laura Editora")
    version = make_draft(db, staff)
    opened_at = version.revision_number
    criterion = version.principles[0].criteria[0]
    service.update_criterion(
        db,
        actor=other,
        version=version,
        criterion_id=criterion.id,
        data=make_criterion_input(criterion.code, "TR", "Cambio de Laura."),
        expected_revision=opened_at,
        now=LATER,
    )
    with pytest.raises(Conflict) as caught:
        service.update_summary(
            db,
            actor=staff,
            version=version,
            data=SummaryInput(summary_es="Mi cambio"),
            expected_revision=opened_at,
            now=LATER,
        )
    assert caught.value.params["author"] == "Laura Editora"
    assert caught.value.params["revision"] == opened_at + 1
    assert caught.value.params["note"] == f"~ {criterion.code}"
    assert load_version_tree(db, version.id).summary_es == ""


def test_adoption_needs_a_resolution(db: Session) -> None:
    staff = make_staff(db)
    version = make_draft(db, staff)
    with pytest.raises(Invalid):
        service.adopt_version(
            db, version=version, resolution="  ", effective_on=NOW.date(), actor=None, now=NOW
        )
    assert version.status == S.draft


def test_adoption_waits_for_the_consultation_to_close(db: Session) -> None:
    staff = make_staff(db)
    version = _to_status(db, staff, S.consultation)
    with pytest.raises(Conflict):
        service.adopt_version(
            db, version=version, resolution="CEIA-1", effective_on=NOW.date(), actor=None, now=NOW
        )
    service.adopt_version(
        db, version=version, resolution="CEIA-1", effective_on=LATER.date(), actor=None, now=LATER
    )
    assert version.status == S.adopted
    assert version.adoption_resolution == "CEIA-1"


def test_empty_version_cannot_go_to_consultation_or_adoption(db: Session) -> None:
    staff = make_staff(db)
    version = make_draft(db, staff, criteria={"TR": []})
    with pytest.raises(Conflict):
        service.open_consultation(
            db,
            actor=staff,
            version=version,
            closes_on=(NOW + dt.timedelta(days=9)).date(),
            min_days=1,
            now=NOW,
        )
    with pytest.raises(Conflict):
        adopt(db, version)


def test_consultation_needs_a_future_closing_date(db: Session) -> None:
    staff = make_staff(db)
    version = make_draft(db, staff)
    with pytest.raises(Invalid) as caught:
        service.open_consultation(
            db, actor=staff, version=version, closes_on=NOW.date(), min_days=1, now=NOW
        )
    assert "closes_on" in caught.value.fields
    assert version.status == S.draft


def test_days_left_counts_whole_days_to_the_end_of_the_closing_day(db: Session) -> None:
    staff = make_staff(db)
    version = make_draft(db, staff)
    # NOW is 12:00 in Mexico City on 25 November; closing on 5 December ends at midnight after it.
    service.open_consultation(
        db, actor=staff, version=version, closes_on=dt.date(2026, 12, 5), min_days=1, now=NOW
    )
    assert service.closes_on(version) == dt.date(2026, 12, 5)
    assert service.days_left(version, NOW) == 11
    assert service.days_left(version, dt.datetime(2026, 12, 6, 6, 0, tzinfo=dt.UTC)) == 0


@pytest.mark.parametrize("role", [Role.applicant, Role.council_member, Role.expert])
def test_only_the_secretariat_authors(db: Session, role: Role) -> None:
    staff = make_staff(db)
    version = make_draft(db, staff)
    outsider = make_user(db, role=role)
    with pytest.raises(Forbidden):
        service.update_summary(
            db,
            actor=outsider,
            version=version,
            data=SummaryInput(summary_es="x"),
            expected_revision=None,
            now=NOW,
        )
    with pytest.raises(Forbidden):
        service.withdraw_version(db, actor=outsider, version=version, reason="x", now=NOW)


def test_new_draft_copies_the_version_in_force(db: Session) -> None:
    staff = make_staff(db)
    adopted = adopt(db, make_draft(db, staff))
    draft = service.start_new_draft(
        db, actor=staff, guideline=service.get_guideline(db, "etica-ia"), number="2.0", now=LATER
    )
    copy = version_document(load_version_tree(db, draft.id))
    original = version_document(load_version_tree(db, adopted.id))
    assert copy.principles == original.principles
    assert copy.number == "2.0"
    assert draft.based_on_id == adopted.id
    with pytest.raises(Invalid):
        service.start_new_draft(
            db,
            actor=staff,
            guideline=service.get_guideline(db, "etica-ia"),
            number="1.5",
            now=LATER,
        )


def test_visibility_of_versions(db: Session) -> None:
    staff = make_staff(db)
    draft = make_draft(db, staff)
    applicant = make_user(db, role=Role.applicant)
    assert service.can_view(draft, staff)
    assert not service.can_view(draft, applicant)
    assert not service.can_view(draft, None)
    adopted = adopt(db, draft)
    assert service.can_view(adopted, None)
