"""Certificates before the council: ballots to suspend, reinstate, withdraw; urgent suspension."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from core.accounts import issue_api_token
from core.auth import now_utc
from core.db import make_engine, make_sessionmaker
from core.errors import Conflict, Forbidden, Invalid
from core.mail import OutboxMessage
from core.signing import CouncilKeys, verify_jwt
from core.status_list import bit_is_set
from council import adoption, ballots, cli, demo_certificates
from council import certificate_ballots as cb
from council.models import Ballot, BallotResult, BallotRule, PositionKind, Resolution
from council.schemas import CertificateBallotInput, UrgentSuspensionInput
from guidelines.documents import load_version_tree
from guidelines.models import GuidelineVersion
from guidelines.service import closing_moment, get_guideline, start_new_draft, update_criterion
from quality_marks import certificate_lifecycle as lifecycle
from quality_marks.certificate_history import certificate_history
from quality_marks.certificate_models import (
    Certificate,
    CertificateStatus,
    RegistryEventKind,
    WithdrawalReason,
)
from quality_marks.models import OrganizationMember, OrgRole
from tests.factories import NOW, make_user, sign_in_as
from tests.guidelines.builders import make_criterion_input
from tests.quality_marks.certificate_builders import granted, make_certificate
from tests.quality_marks.decision_builders import URL, Reviewed, declare_tie
from tests.quality_marks.test_certificate_lifecycle import _more
from tests.test_html_valid import parse_errors

S = CertificateStatus
K = PositionKind
CLOSES = NOW + dt.timedelta(days=7)
AFTER = CLOSES + dt.timedelta(hours=1)
REASON = {"es": "El producto discrimina por edad.", "en": "The product discriminates by age."}


def _terms(kind: str, **changes: object) -> CertificateBallotInput:
    return CertificateBallotInput.model_validate(
        {
            "kind": kind,
            "reason_es": REASON["es"],
            "reason_en": REASON["en"],
            "closes_on": CLOSES.date().isoformat(),
            **changes,
        }
    )


def _open(db: Session, case: Reviewed, cert: Certificate, kind: str, **changes: object) -> Ballot:
    return cb.put_certificate_to_ballot(
        db,
        actor=case.staff,
        number=cert.number,
        terms=_terms(kind, **changes),
        base_url=URL,
        now=NOW,
    )


def _vote(db: Session, case: Reviewed, ballot: Ballot, kind: PositionKind) -> None:
    for user, member in case.council:
        voter = next(v for v in ballot.voters if v.member_id == member.id)
        if voter.conflict is None:
            ballots.cast_position(db, actor=user, ballot=ballot, kind=kind, text="x", now=NOW)


def _close(db: Session, case: Reviewed, ballot: Ballot, at: dt.datetime = AFTER) -> Resolution:
    return ballots.close_ballot(db, actor=case.staff, ballot=ballot, now=at)


def _certified(db: Session, **changes: object) -> tuple[Reviewed, Certificate]:
    case = granted(db)
    return case, make_certificate(db, case, **changes)  # type: ignore[arg-type]


def _status(certificate: Certificate) -> S:
    return certificate.status


def test_a_suspension_ballot_suspends_and_a_reinstatement_ballot_reinstates(db: Session) -> None:
    case, certificate = _certified(db)
    tied_user, tied_member = case.council[3]
    declare_tie(db, tied_user, case.organization)
    ballot = _open(db, case, certificate, cb.SUBJECT_SUSPENSION)
    # The holder is the party: a member tied to it is recused.
    assert {v.member_id for v in ballot.voters if v.conflict} == {tied_member.id}
    assert ballot.terms["reason"] == REASON
    assert ballots.describe_subject(db, ballot) == ballots.SubjectLink(
        certificate.number, f"/certificates/{certificate.number}/manage"
    )
    review = ballots.subject_review(db, ballot, NOW)
    assert isinstance(review, cb.CertificateReview)
    _vote(db, case, ballot, K.yes)
    resolution = _close(db, case, ballot)
    assert resolution.result == BallotResult.passed
    assert certificate.status == S.suspended
    (event,) = certificate_history(db, certificate.id)
    assert (event.kind, event.resolution, event.public_reason) == (
        RegistryEventKind.suspended,
        resolution.number,
        REASON,
    )

    back = _open(db, case, certificate, cb.SUBJECT_REINSTATEMENT, reason_en="Fixed.")
    _vote(db, case, back, K.yes)
    second = _close(db, case, back, AFTER + dt.timedelta(hours=1))
    assert _status(certificate) == S.valid
    last = certificate_history(db, certificate.id)[-1]
    assert (last.kind, last.resolution, last.public_reason["en"]) == (
        RegistryEventKind.reinstated,
        second.number,
        "Fixed.",
    )


def test_a_failed_suspension_ballot_changes_nothing(db: Session) -> None:
    case, certificate = _certified(db)
    ballot = _open(db, case, certificate, cb.SUBJECT_SUSPENSION)
    _vote(db, case, ballot, K.abstain)
    assert _close(db, case, ballot).result == BallotResult.failed
    assert certificate.status == S.valid
    assert certificate_history(db, certificate.id) == []


def test_a_withdrawal_ballot_needs_a_reason_code_and_withdraws_with_it(db: Session) -> None:
    case, certificate = _certified(db)
    with pytest.raises(Invalid) as refused:
        _open(db, case, certificate, cb.SUBJECT_WITHDRAWAL)
    assert set(refused.value.fields) == {"reason_code"}
    with pytest.raises(Invalid) as no_reason:
        _open(db, case, certificate, cb.SUBJECT_WITHDRAWAL, reason_es="", reason_code="fraud")
    assert set(no_reason.value.fields) == {"reason_es"}
    ballot = _open(db, case, certificate, cb.SUBJECT_WITHDRAWAL, reason_code="fraud")
    assert ballot.terms["reason_code"] == "fraud"
    _vote(db, case, ballot, K.yes)
    resolution = _close(db, case, ballot)
    assert (certificate.status, certificate.withdrawal_reason) == (
        S.withdrawn,
        WithdrawalReason.fraud,
    )
    (event,) = certificate_history(db, certificate.id)
    assert (event.reason_code, event.resolution) == ("fraud", resolution.number)


def test_ballots_are_refused_where_the_life_cycle_does_not_lead(db: Session) -> None:
    case, certificate = _certified(db)
    with pytest.raises(Conflict):
        _open(db, case, certificate, cb.SUBJECT_REINSTATEMENT)
    member = case.council[2][0]
    with pytest.raises(Forbidden):
        cb.put_certificate_to_ballot(
            db,
            actor=member,
            number=certificate.number,
            terms=_terms(cb.SUBJECT_SUSPENSION),
            base_url=URL,
            now=NOW,
        )


def test_a_ballot_on_a_certificate_changed_meanwhile_is_void(db: Session) -> None:
    case, certificate = _certified(db)
    ballot = _open(db, case, certificate, cb.SUBJECT_SUSPENSION)
    lifecycle.withdraw_certificate(
        db,
        certificate=certificate,
        reason_code=WithdrawalReason.holder_request,
        reason=REASON,
        resolution="CEIA-2026-900",
        actor=None,
        now=NOW,
    )
    _vote(db, case, ballot, K.yes)
    resolution = _close(db, case, ballot)
    assert resolution.result == BallotResult.failed
    assert resolution.record["void_reason"] == cb.NO_LONGER_VALID
    assert certificate.status == S.withdrawn


def _urgent(db: Session, case: Reviewed, certificate: Certificate) -> Ballot:
    chair = case.council[0][0]
    return cb.suspend_urgently(
        db,
        actor=chair,
        number=certificate.number,
        terms=UrgentSuspensionInput(reason_es=REASON["es"], reason_en=REASON["en"]),
        base_url=URL,
        now=NOW,
    )


def test_only_the_chair_suspends_urgently(db: Session) -> None:
    case, certificate = _certified(db)
    for user in (case.staff, case.council[1][0], case.owner):
        with pytest.raises(Forbidden):
            cb.suspend_urgently(
                db,
                actor=user,
                number=certificate.number,
                terms=UrgentSuspensionInput(reason_es="a", reason_en="b"),
                base_url=URL,
                now=NOW,
            )
    assert certificate.status == S.valid


def test_a_chair_with_a_conflict_is_refused_the_urgent_suspension_with_the_reason(
    db: Session,
) -> None:
    case, certificate = _certified(db)
    chair = case.council[0][0]
    declare_tie(db, chair, case.organization)
    with pytest.raises(Conflict) as refused:
        _urgent(db, case, certificate)
    assert refused.value.message == cb.CONFLICTED_CHAIR
    assert refused.value.params["organisation"] == case.organization.legal_name
    assert refused.value.params["kind"] == "Declared interest"
    assert certificate.status == S.valid
    assert certificate_history(db, certificate.id) == []


def test_an_urgent_suspension_confirmed_by_ballot_no_longer_lapses(db: Session) -> None:
    case, certificate = _certified(db)
    ballot = _urgent(db, case, certificate)
    confirm_by = dt.date(2026, 11, 25) + dt.timedelta(
        days=lifecycle.DEFAULT_RULES.suspension_confirm_days
    )
    assert (certificate.status, certificate.confirm_suspension_by) == (S.suspended, confirm_by)
    assert ballot.subject_type == cb.SUBJECT_SUSPENSION
    assert ballot.terms["confirmation"] is True
    assert ballot.opened_by_id == case.council[0][0].id
    _vote(db, case, ballot, K.yes)
    resolution = _close(db, case, ballot)
    assert resolution.result == BallotResult.passed
    assert certificate.status == S.suspended
    assert certificate.confirm_suspension_by is None
    urgent, confirmed = certificate_history(db, certificate.id)
    assert urgent.resolution is None
    assert confirmed.details["confirmed"] is True
    assert confirmed.resolution == resolution.number
    later = NOW + dt.timedelta(days=60)
    assert lifecycle.lapse_unconfirmed_suspensions(db, confirming=(), now=later) == 0


def test_an_urgent_suspension_the_council_rejects_ends_at_once(db: Session) -> None:
    case, certificate = _certified(db)
    ballot = _urgent(db, case, certificate)
    _vote(db, case, ballot, K.abstain)
    resolution = _close(db, case, ballot)
    assert resolution.result == BallotResult.failed
    assert _status(certificate) == S.valid
    last = certificate_history(db, certificate.id)[-1]
    assert last.kind == RegistryEventKind.reinstated
    assert last.resolution == resolution.number
    assert "did not confirm" in last.public_reason["en"]


def test_an_urgent_suspension_confirmed_in_time_holds_past_its_day_until_the_ballot_closes(
    db: Session,
) -> None:
    case, certificate = _certified(db)
    ballot = _urgent(db, case, certificate)
    voters = [
        user
        for user, member in case.council
        if next(v for v in ballot.voters if v.member_id == member.id).conflict is None
    ]
    # A majority votes in time, but one member never does: the ballot waits to be closed.
    for user in voters[:-1]:
        ballots.cast_position(db, actor=user, ballot=ballot, kind=K.yes, text="x", now=NOW)
    assert certificate.confirm_suspension_by is not None
    after_close = closing_moment(certificate.confirm_suspension_by) + dt.timedelta(minutes=5)
    confirming = cb.confirmations_open(db)
    assert confirming == {certificate.id}
    run = lifecycle.run_daily(db, base_url=URL, confirming=confirming, now=after_close)
    assert run.lapsed == 0
    assert certificate.status == S.suspended
    resolution = _close(db, case, ballot, after_close + dt.timedelta(hours=8))
    assert (resolution.result, resolution.record["void_reason"]) == (BallotResult.passed, None)
    assert _status(certificate) == S.suspended
    assert certificate.confirm_suspension_by is None
    assert cb.confirmations_open(db) == set()


def test_an_urgent_suspension_not_voted_in_time_ends_when_its_ballot_closes(
    db: Session,
) -> None:
    case, certificate = _certified(db)
    ballot = _urgent(db, case, certificate)
    past = NOW + dt.timedelta(days=lifecycle.DEFAULT_RULES.suspension_confirm_days + 1)
    confirming = cb.confirmations_open(db)
    assert lifecycle.run_daily(db, base_url=URL, confirming=confirming, now=past).lapsed == 0
    assert certificate.status == S.suspended
    resolution = _close(db, case, ballot, past)
    assert (resolution.result, resolution.record["void_reason"]) == (BallotResult.failed, None)
    assert _status(certificate) == S.valid
    last = certificate_history(db, certificate.id)[-1]
    assert (last.kind, last.resolution) == (RegistryEventKind.reinstated, resolution.number)


def test_an_urgent_suspension_without_an_open_ballot_lapses_the_day_after_its_day(
    db: Session,
) -> None:
    case, certificate = _certified(db)
    ballot = _urgent(db, case, certificate)
    unrelated = _more(db, case)
    past = NOW + dt.timedelta(days=lifecycle.DEFAULT_RULES.suspension_confirm_days + 1)
    # Another certificate's open ballot does not hold this one.
    run = lifecycle.run_daily(db, base_url=URL, confirming={unrelated.id}, now=past)
    assert run.lapsed == 1
    assert _status(certificate) == S.valid
    _vote(db, case, ballot, K.yes)
    resolution = _close(db, case, ballot, past)
    assert resolution.record["void_reason"] == cb.NO_LONGER_AWAITING


def test_the_daily_command_holds_suspensions_whose_confirmation_ballot_is_open(
    fresh_database_url: str,
    council_keys: CouncilKeys,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env file
    for name, value in {
        "DATABASE_URL": fresh_database_url,
        "KEYS_DIR": str(council_keys.directory),
        "STORAGE_DIR": str(tmp_path / "files"),
        "BASE_URL": URL,
    }.items():
        monkeypatch.setenv(name, value)
    past = NOW + dt.timedelta(days=lifecycle.DEFAULT_RULES.suspension_confirm_days + 1)
    monkeypatch.setattr(cli, "utcnow", lambda: past)
    engine = make_engine(fresh_database_url)
    factory = make_sessionmaker(engine)
    with factory() as db:
        case, held = _certified(db)
        _urgent(db, case, held)
        lapsing = _more(db, case)
        lifecycle.suspend_certificate(
            db,
            certificate=lapsing,
            reason=REASON,
            resolution=None,
            actor=None,
            now=NOW,
            urgent=True,
        )
        db.commit()
        held_id, lapsing_id = held.id, lapsing.id

    ran = CliRunner().invoke(cli.app, ["certificates", "expire"])

    assert ran.exit_code == 0, ran.output
    assert "urgent suspensions lapsed 1" in ran.output
    with factory() as db:
        statuses = {
            c.id: c.status for c in db.scalars(select(Certificate).order_by(Certificate.id))
        }
    assert statuses == {held_id: S.suspended, lapsing_id: S.valid}
    engine.dispose()


def test_adopting_a_version_that_changes_assessed_criteria_asks_holders_to_reassess(
    db: Session,
) -> None:
    case, certificate = _certified(db)
    staff = case.staff
    guideline = get_guideline(db, "etica-ia")
    draft = start_new_draft(db, actor=staff, guideline=guideline, number="1.1", now=NOW)
    tree = load_version_tree(db, draft.id)
    criterion = next(c for p in tree.principles for c in p.criteria if c.code == "TR-2")
    update_criterion(
        db,
        actor=staff,
        version=tree,
        criterion_id=criterion.id,
        data=make_criterion_input("TR-2", tree.principles[0].code, "Requisito más estricto."),
        expected_revision=None,
        now=NOW,
    )
    ballot = adoption.open_adoption_ballot(
        db,
        actor=staff,
        version=draft,
        rule=BallotRule.simple_majority,
        quorum_percent=50,
        closes_at=CLOSES,
        effective_on=dt.date(2027, 1, 1),
        consultation_skipped_reason="Corrección urgente.",
        base_url=URL,
        now=NOW,
    )
    _vote(db, case, ballot, K.yes)
    assert _close(db, case, ballot).result == BallotResult.passed
    version = db.get(GuidelineVersion, draft.id)
    assert version is not None
    assert certificate.reassess_version_id == version.id
    assert certificate.reassess_by == dt.date(2026, 12, 2) + dt.timedelta(
        days=lifecycle.DEFAULT_RULES.reassessment_days
    )
    (event,) = certificate_history(db, certificate.id)
    assert event.kind == RegistryEventKind.reassessment_requested
    assert event.details["criteria"] == ["TR-2"]
    assert "1.1" in event.public_reason["en"]
    assert [c.id for c in lifecycle.certificates_to_reassess(db)] == [certificate.id]
    listed = lifecycle.certificates_list(db, viewer=case.staff, filter_by="reassess", page=1)
    assert [c.id for c in listed.items] == [certificate.id]
    mail = db.scalars(
        select(OutboxMessage).where(OutboxMessage.template == "mail/certificate_reassessment.txt")
    ).one()
    assert mail.to_address == case.owner.email
    assert "TR-2" in mail.body_text
    assert f"{URL}/certificates/{certificate.number}/manage" in mail.body_text


def _status_mails(db: Session, since: int = 0) -> list[OutboxMessage]:
    """The status mails queued after the message `since`, by recipient's language (en, es_MX)."""
    return list(
        db.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.template == "mail/certificate_status.txt", OutboxMessage.id > since
            )
            .order_by(OutboxMessage.id)
        )
    )


def _told(db: Session, since: int, certificate: Certificate, subject: str, reason: str) -> int:
    """Each owner got one mail, in their language, with the reason and the links; the last id."""
    english, spanish = sorted(_status_mails(db, since), key=lambda m: m.locale)
    assert (english.locale, spanish.locale) == ("en", "es_MX")
    assert subject in english.subject
    for mail in (english, spanish):
        assert certificate.number in mail.subject
        assert f"{URL}/verify/{certificate.number}\n" in mail.body_text
        assert f"{URL}/certificates/{certificate.number}/manage" in mail.body_text
    assert reason in english.body_text
    return max(english.id, spanish.id)


def test_the_owners_are_told_of_each_change_of_status_in_their_own_language(
    db: Session,
) -> None:
    case, certificate = _certified(db, valid_until=dt.date(2027, 1, 31))
    spanish_owner = make_user(db, locale="es_MX")
    db.add(
        OrganizationMember(
            organization_id=case.organization.id,
            user_id=spanish_owner.id,
            role=OrgRole.owner,
            created_at=NOW,
        )
    )
    case.owner.locale = "en"
    db.flush()
    # The chair suspends urgently; the council does not confirm it.
    ballot = _urgent(db, case, certificate)
    seen = _told(db, 0, certificate, "is suspended", REASON["en"])
    (spanish,) = [m for m in _status_mails(db) if m.to_address == spanish_owner.email]
    assert REASON["es"] in spanish.body_text
    _vote(db, case, ballot, K.abstain)
    _close(db, case, ballot)
    seen = _told(db, seen, certificate, "is valid again", "did not confirm")
    # A ballot withdraws another certificate.
    withdrawn = _more(db, case)
    withdrawal = _open(db, case, withdrawn, cb.SUBJECT_WITHDRAWAL, reason_code="fraud")
    _vote(db, case, withdrawal, K.yes)
    _close(db, case, withdrawal, AFTER + dt.timedelta(hours=1))
    seen = _told(db, seen, withdrawn, "is withdrawn", REASON["en"])
    # An urgent suspension whose ballot is gone lapses in the daily job.
    lifecycle.suspend_certificate(
        db,
        certificate=certificate,
        reason=REASON,
        resolution=None,
        actor=None,
        now=AFTER,
        urgent=True,
    )
    seen = _told(db, seen, certificate, "is suspended", REASON["en"])
    lapse_day = AFTER + dt.timedelta(days=lifecycle.DEFAULT_RULES.suspension_confirm_days + 1)
    run = lifecycle.run_daily(db, base_url=URL, confirming=(), now=lapse_day)
    assert (run.lapsed, run.expired) == (1, 0)
    seen = _told(db, seen, certificate, "is valid again", "did not confirm it by")
    # Its renewal supersedes it; another one expires.
    renewal = _more(db, case)
    lifecycle.supersede_certificate(db, certificate=certificate, by=renewal, now=lapse_day)
    seen = _told(db, seen, certificate, "is superseded", renewal.number)
    old = _more(db, case, valid_until=dt.date(2026, 11, 1))
    assert lifecycle.expire_certificates(db, now=NOW) == 1
    _told(db, seen, old, "has expired", "end of its validity")


# Through the web ---------------------------------------------------------------------------


def _pinned(app: FastAPI) -> None:
    app.dependency_overrides[now_utc] = lambda: NOW


def _list_bit(client: TestClient, keys: CouncilKeys, purpose: str, index: int) -> bool:
    response = client.get(f"/credentials/status/{purpose}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vc+jwt"
    claims = verify_jwt(keys, response.text)
    assert claims["credentialSubject"]["statusPurpose"] == purpose
    return bit_is_set(claims["credentialSubject"]["encodedList"], index)


def test_status_list_bits_flip_on_suspension_and_back_on_reinstatement(
    app: FastAPI, client: TestClient, db: Session, council_keys: CouncilKeys
) -> None:
    _case, certificate = _certified(db)
    index = certificate.status_list_index
    assert not _list_bit(client, council_keys, "suspension", index)
    first = client.get("/credentials/status/suspension")
    etag = first.headers["etag"]
    assert etag.startswith('"')
    assert "public" in first.headers["cache-control"]
    again = client.get("/credentials/status/suspension", headers={"If-None-Match": etag})
    assert again.status_code == 304

    lifecycle.suspend_certificate(
        db, certificate=certificate, reason=REASON, resolution="R-1", actor=None, now=NOW
    )
    db.commit()
    assert _list_bit(client, council_keys, "suspension", index)
    assert not _list_bit(client, council_keys, "revocation", index)
    changed = client.get("/credentials/status/suspension", headers={"If-None-Match": etag})
    assert changed.status_code == 200

    later = NOW + dt.timedelta(days=1)
    lifecycle.reinstate_certificate(
        db, certificate=certificate, reason=REASON, resolution="R-2", actor=None, now=later
    )
    db.commit()
    assert not _list_bit(client, council_keys, "suspension", index)
    lifecycle.withdraw_certificate(
        db,
        certificate=certificate,
        reason_code=WithdrawalReason.fraud,
        reason=REASON,
        resolution="R-3",
        actor=None,
        now=later,
    )
    db.commit()
    assert _list_bit(client, council_keys, "revocation", index)
    assert not _list_bit(client, council_keys, "suspension", index)


def test_a_superseded_certificate_sets_its_revocation_bit_and_clears_its_suspension(
    app: FastAPI, client: TestClient, db: Session, council_keys: CouncilKeys
) -> None:
    case, certificate = _certified(db)
    renewal = _more(db, case)
    index = certificate.status_list_index
    lifecycle.suspend_certificate(
        db, certificate=certificate, reason=REASON, resolution="R-1", actor=None, now=NOW
    )
    db.commit()
    assert _list_bit(client, council_keys, "suspension", index)
    lifecycle.supersede_certificate(
        db, certificate=certificate, by=renewal, now=NOW + dt.timedelta(days=1)
    )
    db.commit()
    assert _list_bit(client, council_keys, "revocation", index)
    assert not _list_bit(client, council_keys, "suspension", index)
    assert not _list_bit(client, council_keys, "revocation", renewal.status_list_index)


def test_the_secretariat_opens_a_ballot_from_the_certificates_page(
    app: FastAPI, client: TestClient, db: Session
) -> None:
    _pinned(app)
    case, certificate = _certified(db)
    db.commit()
    sign_in_as(client, case.staff)
    listing = client.get("/certificates?status=valid")
    assert listing.status_code == 200
    assert certificate.number in listing.text
    assert parse_errors(listing.text) == []
    page = client.get(f"/certificates/{certificate.number}/manage")
    assert page.status_code == 200
    assert parse_errors(page.text) == []
    assert 'action="/certificates/' in page.text
    assert "urgent-suspension" not in page.text
    assert "/renewal" not in page.text
    csrf = client.get(f"/certificates/{certificate.number}/manage").text
    token = csrf.split('name="csrf_token" value="')[1].split('"')[0]
    refused = client.post(
        f"/certificates/{certificate.number}/ballots",
        data={
            "csrf_token": token,
            "kind": cb.SUBJECT_WITHDRAWAL,
            "reason_es": "Fraude.",
            "reason_en": "Fraud.",
            "rule": "simple_majority",
            "quorum_percent": "50",
            "closes_on": CLOSES.date().isoformat(),
        },
    )
    assert refused.status_code == 422
    assert "Fraude." in refused.text  # what was typed comes back
    assert parse_errors(refused.text) == []
    sent = client.post(
        f"/certificates/{certificate.number}/ballots",
        data={
            "csrf_token": token,
            "kind": cb.SUBJECT_WITHDRAWAL,
            "reason_code": "fraud",
            "reason_es": "Fraude.",
            "reason_en": "Fraud.",
            "rule": "simple_majority",
            "quorum_percent": "50",
            "closes_on": CLOSES.date().isoformat(),
        },
    )
    assert sent.status_code == 303
    assert sent.headers["location"].startswith("/council/ballots/")
    ballot_page = client.get(sent.headers["location"])
    assert "Fraud" in ballot_page.text


@pytest.mark.parametrize("closes_on", ["9999-12-31", "2027-02-24", "2026-11-24"])
def test_a_ballot_closing_out_of_bounds_is_refused_on_the_page_and_in_the_api(
    app: FastAPI, client: TestClient, db: Session, closes_on: str
) -> None:
    _pinned(app)
    case, certificate = _certified(db)
    token = issue_api_token(db, user=case.staff, name="pruebas", now=NOW)[1]
    db.commit()
    sign_in_as(client, case.staff)
    url = f"/certificates/{certificate.number}/ballots"
    csrf = client.get(f"/certificates/{certificate.number}/manage").text
    typed = {
        "kind": cb.SUBJECT_SUSPENSION,
        "reason_es": "Riesgo grave.",
        "reason_en": "Serious risk.",
        "rule": "simple_majority",
        "quorum_percent": "50",
        "closes_on": closes_on,
    }
    refused = client.post(
        url,
        data={"csrf_token": csrf.split('name="csrf_token" value="')[1].split('"')[0], **typed},
        headers={"Accept-Language": "en"},
    )
    assert refused.status_code == 422
    page = BeautifulSoup(refused.text, "html.parser")
    error = page.select_one("#f-b-closes_on-error")
    assert error is not None
    assert error.get_text(strip=True) == cb.CLOSES_WITHIN
    assert page.select_one("input[name=closes_on]")["value"] == closes_on  # type: ignore[index]
    reason = page.select_one("#f-b-reason_es")
    assert reason is not None
    assert reason.get_text(strip=True) == "Riesgo grave."

    api = client.post(
        f"/api{url.replace('/certificates', '/v1/certificates', 1)}",
        json={k: v for k, v in typed.items() if k != "quorum_percent"},
        headers={"Authorization": f"Bearer {token}", "Accept-Language": "en"},
    )
    assert api.status_code == 422
    assert api.json()["fields"] == {"closes_on": cb.CLOSES_WITHIN}
    assert db.scalars(select(Ballot).where(Ballot.subject_type.in_(cb.OPENING_ACTIONS))).all() == []


def test_a_ballot_may_close_ninety_days_ahead(db: Session) -> None:
    case, certificate = _certified(db)
    last = NOW.date() + dt.timedelta(days=cb.MAX_BALLOT_DAYS)
    ballot = _open(db, case, certificate, cb.SUBJECT_SUSPENSION, closes_on=last.isoformat())
    assert ballot.closes_at == closing_moment(last)


def test_the_chair_suspends_urgently_and_the_holder_renews_from_the_page(
    app: FastAPI, client: TestClient, db: Session
) -> None:
    _pinned(app)
    case, certificate = _certified(db)
    db.commit()
    chair = case.council[0][0]
    sign_in_as(client, chair)
    page = client.get(f"/certificates/{certificate.number}/manage")
    assert "urgent-suspension" in page.text
    assert parse_errors(page.text) == []
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    sent = client.post(
        f"/certificates/{certificate.number}/urgent-suspension",
        data={"csrf_token": token, "reason_es": "Riesgo inmediato.", "reason_en": "Immediate."},
    )
    assert sent.status_code == 303
    db.expire_all()
    assert db.get(Certificate, certificate.id).status == S.suspended  # type: ignore[union-attr]
    client.post("/signout", data={"csrf_token": token})

    api = client.get(
        f"/api/v1/certificates/{certificate.number}/actions",
    )
    assert api.status_code == 401
    sign_in_as(client, case.owner)
    page = client.get(f"/certificates/{certificate.number}/manage")
    assert page.status_code == 200
    assert "Riesgo inmediato." in page.text
    # A suspended certificate is not renewed until it is valid again.
    assert "/renewal" not in page.text
    other = client.get("/certificates")
    assert other.status_code == 403


def test_the_demo_takes_certificates_to_each_status(db: Session) -> None:
    case, valid = _certified(db)
    secretary, chair = case.council[1][0], case.council[0][0]
    demo_certificates.bring_certificate_to(
        db, certificate=valid, status="valid", secretary=secretary, now=NOW
    )
    assert valid.status == S.valid
    for status in (S.suspended, S.withdrawn):
        certificate = _more(db, case)
        demo_certificates.bring_certificate_to(
            db, certificate=certificate, status=status, secretary=secretary, now=NOW
        )
        assert certificate.status == status
        assert certificate_history(db, certificate.id)[-1].resolution is not None
    urgent = _more(db, case)
    demo_certificates.bring_certificate_to(
        db, certificate=urgent, status=S.suspended, secretary=secretary, chair=chair, now=NOW
    )
    assert urgent.confirm_suspension_by is not None
    old = _more(db, case, valid_until=dt.date(2026, 11, 1))
    demo_certificates.bring_certificate_to(
        db, certificate=old, status=S.expired, secretary=secretary, now=NOW
    )
    assert old.status == S.expired
    young = _more(db, case)
    with pytest.raises(Conflict):
        demo_certificates.bring_certificate_to(
            db, certificate=young, status=S.expired, secretary=secretary, now=NOW
        )
