"""The demo guideline: version 1.0 document, the 1.1 draft changes and consultation comments."""

from __future__ import annotations

from council.demo_guidelines import DEMO_COMMENTS, draft_changes, load_demo_document
from guidelines.documents import CriterionDoc, VersionDoc
from guidelines.models import CommenterType, RiskLevel

PRINCIPLE_CODES = ["TR", "EQ", "PR", "RC", "SH", "SG", "DM"]


def _criteria_by_code(doc: VersionDoc) -> dict[str, CriterionDoc]:
    return {criterion.code: criterion for _, criterion in doc.criteria()}


def _all_codes(doc: VersionDoc) -> set[str]:
    return {p.code for p in doc.principles} | set(_criteria_by_code(doc))


def test_demo_document_validates_with_seven_principles() -> None:
    doc = load_demo_document()
    assert doc.guideline.slug == "etica-ia"
    assert doc.guideline.title.en == "Ethics in artificial intelligence systems"
    assert doc.number == "1.0"
    assert [p.code for p in doc.principles] == PRINCIPLE_CODES
    assert len(doc.criteria()) >= 20
    assert all(3 <= len(p.criteria) <= 4 for p in doc.principles)
    assert doc.summary.es
    assert doc.summary.en
    # Round-tripping through the published form gives the same document.
    assert VersionDoc.model_validate(doc.model_dump(by_alias=True, mode="json")) == doc


def test_every_criterion_is_bilingual_and_codes_are_unique() -> None:
    doc = load_demo_document()
    codes = [code for p in doc.principles for code in (p.code, *(c.code for c in p.criteria))]
    assert len(codes) == len(set(codes))
    for principle, criterion in doc.criteria():
        assert criterion.code.startswith(principle.code + "-")
        for text in (criterion.title, criterion.requirement, criterion.guidance):
            assert text.es.strip(), criterion.code
            assert text.en.strip(), criterion.code
        assert criterion.evidence.es.strip(), criterion.code


def test_risk_levels_are_graded() -> None:
    criteria = _criteria_by_code(load_demo_document())
    assert RiskLevel.minimal in criteria["TR-1"].risk_levels
    assert criteria["RC-3"].risk_levels == [RiskLevel.high]
    assert all(RiskLevel.high in c.risk_levels for c in criteria.values())


def test_draft_changes_make_version_1_1_with_the_intended_edits() -> None:
    original = load_demo_document()
    draft = draft_changes(original)
    before = _criteria_by_code(original)
    after = _criteria_by_code(draft)

    assert draft.number == "1.1"
    assert draft.summary.es.startswith("Versión 1.1 en consulta pública: ")
    assert set(after) - set(before) == {"SG-5"}
    assert set(before) - set(after) == {"RC-4"}
    changed = {code for code in set(before) & set(after) if before[code] != after[code]}
    assert changed == {"TR-2", "SH-1", "PR-3"}


def test_draft_changes_edit_the_expected_fields_and_leave_the_original_alone() -> None:
    original = load_demo_document()
    draft = draft_changes(original)
    before = _criteria_by_code(original)
    after = _criteria_by_code(draft)

    for code in ("TR-2", "SH-1"):
        assert after[code].requirement.es != before[code].requirement.es
        assert after[code].requirement.en != before[code].requirement.en
        assert (
            after[code].model_copy(update={"requirement": before[code].requirement})
            == (before[code])
        )
    assert before["PR-3"].risk_levels == [RiskLevel.high]
    assert after["PR-3"].risk_levels == [RiskLevel.limited, RiskLevel.high]
    assert [c.code for c in draft.principles[5].criteria][-1] == "SG-5"
    assert original == load_demo_document()


def test_demo_comments_target_codes_in_the_draft() -> None:
    codes = _all_codes(draft_changes(load_demo_document()))
    assert 6 <= len(DEMO_COMMENTS) <= 8
    for comment in DEMO_COMMENTS:
        assert comment.target_code == "" or comment.target_code in codes, comment.target_code
        assert comment.email.endswith(
            (".example.mx", ".example.org", "@example.mx", "@example.org")
        )
        assert comment.body.strip()
    assert {c.commenter_type for c in DEMO_COMMENTS} == set(CommenterType)
    assert any(c.author_name == "" for c in DEMO_COMMENTS)
    assert any(c.target_code == "" for c in DEMO_COMMENTS)
