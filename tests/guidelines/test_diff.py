"""Comparing two guideline versions: criteria added, removed, changed, moved; word diffs."""

from __future__ import annotations

import itertools
import json
from typing import Any

from guidelines.diff import (
    CriterionChange,
    FieldChange,
    Segment,
    VersionDiff,
    diff_versions,
    render_segments_html,
    word_diff,
)
from guidelines.documents import VersionDoc
from guidelines.models import RiskLevel


def criterion(code: str, **overrides: Any) -> dict[str, Any]:
    """A criterion document with plausible text, any field overridable."""
    data: dict[str, Any] = {
        "code": code,
        "title": {"es": f"Título de {code}", "en": f"Title of {code}"},
        "requirement": {
            "es": f"Debe informar a las personas ({code}).",
            "en": f"It must inform people ({code}).",
        },
        "guidance": {"es": "", "en": ""},
        "evidence": {"es": "Documentación técnica.", "en": "Technical documentation."},
        "risk_levels": ["limited", "high"],
    }
    data.update(overrides)
    return data


def principle(code: str, *criteria: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """A principle document holding the given criteria."""
    data: dict[str, Any] = {
        "code": code,
        "title": {"es": f"Principio {code}", "en": f"Principle {code}"},
        "description": {"es": "", "en": ""},
        "criteria": list(criteria),
    }
    data.update(overrides)
    return data


def version(number: str, *principles: dict[str, Any], **overrides: Any) -> VersionDoc:
    """A validated version document."""
    data: dict[str, Any] = {
        "guideline": {"slug": "etica-ia", "title": {"es": "Ética en sistemas de IA", "en": ""}},
        "number": number,
        "summary": {"es": "Primera versión.", "en": "First version."},
        "principles": list(principles),
    }
    data.update(overrides)
    return VersionDoc.model_validate(data)


def base(number: str = "1.0") -> VersionDoc:
    """Two principles, four criteria."""
    return version(
        number,
        principle("TR", criterion("TR-1"), criterion("TR-2"), criterion("TR-3")),
        principle("EQ", criterion("EQ-1")),
    )


def only_change(diff: VersionDiff) -> CriterionChange:
    assert len(diff.changed) == 1
    return diff.changed[0]


def field(change: CriterionChange, name: str) -> FieldChange:
    (found,) = [f for f in change.fields if f.field == name]
    return found


def test_inserted_word_is_one_insert_between_equals() -> None:
    segments = word_diff("Debe informar a las personas", "Debe informar claramente a las personas")
    assert segments == [
        Segment(op="equal", text="Debe informar "),
        Segment(op="insert", text="claramente "),
        Segment(op="equal", text="a las personas"),
    ]


def test_replaced_word_is_a_delete_then_an_insert() -> None:
    assert word_diff("uso de datos personales", "uso de datos sensibles") == [
        Segment(op="equal", text="uso de datos "),
        Segment(op="delete", text="personales"),
        Segment(op="insert", text="sensibles"),
    ]


def test_segments_rebuild_both_texts() -> None:
    old = "Los sistemas  de alto riesgo deben ser auditados\nuna vez al año."
    new = "Los sistemas de riesgo alto deben ser auditados por terceros\ncada año."
    segments = word_diff(old, new)
    assert "".join(s.text for s in segments if s.op != "insert") == old
    assert "".join(s.text for s in segments if s.op != "delete") == new
    assert all(a.op != b.op for a, b in itertools.pairwise(segments))


def test_segments_html_escapes_and_marks_changes() -> None:
    html = render_segments_html(word_diff("a <b> c", "a <i> c"))
    assert str(html) == (
        'a <del class="diff-del">&lt;b&gt;</del><ins class="diff-ins">&lt;i&gt;</ins> c'
    )


def test_identical_versions_have_no_changes() -> None:
    diff = diff_versions(base("1.0"), base("1.1"))
    assert diff.added == []
    assert diff.removed == []
    assert diff.changed == []
    assert diff.summary == []
    assert diff.unchanged == ["TR-1", "TR-2", "TR-3", "EQ-1"]
    assert diff.is_empty
    assert (diff.from_number, diff.to_number) == ("1.0", "1.1")


def test_new_criterion_is_added_with_its_document() -> None:
    new = version(
        "1.1",
        principle("TR", criterion("TR-1"), criterion("TR-2"), criterion("TR-3"), criterion("TR-4")),
        principle("EQ", criterion("EQ-1")),
    )
    diff = diff_versions(base(), new)
    assert [(a.principle, a.criterion.code) for a in diff.added] == [("TR", "TR-4")]
    assert diff.added[0].criterion.title.es == "Título de TR-4"
    assert diff.changed == []
    assert diff.counts.added == 1
    assert diff.counts.unchanged == 4


def test_dropped_criterion_is_removed() -> None:
    new = version(
        "1.1",
        principle("TR", criterion("TR-1"), criterion("TR-3")),
        principle("EQ", criterion("EQ-1")),
    )
    diff = diff_versions(base(), new)
    assert [(r.principle, r.criterion.code) for r in diff.removed] == [("TR", "TR-2")]
    assert diff.added == []
    assert diff.changed == []
    assert diff.unchanged == ["TR-1", "TR-3", "EQ-1"]


def test_changed_requirement_gives_word_segments() -> None:
    new = version(
        "1.1",
        principle(
            "TR",
            criterion("TR-1"),
            criterion(
                "TR-2",
                requirement={
                    "es": "Debe informar claramente a las personas (TR-2).",
                    "en": "It must inform people (TR-2).",
                },
            ),
            criterion("TR-3"),
        ),
        principle("EQ", criterion("EQ-1")),
    )
    change = only_change(diff_versions(base(), new))
    assert change.code == "TR-2"
    assert not change.moved
    assert [f.field for f in change.fields] == ["requirement.es"]
    requirement = field(change, "requirement.es")
    assert requirement.old == "Debe informar a las personas (TR-2)."
    assert requirement.new == "Debe informar claramente a las personas (TR-2)."
    assert requirement.segments == [
        Segment(op="equal", text="Debe informar "),
        Segment(op="insert", text="claramente "),
        Segment(op="equal", text="a las personas (TR-2)."),
    ]


def test_changed_english_title_and_guidance_are_listed_separately() -> None:
    new = version(
        "1.1",
        principle(
            "TR",
            criterion("TR-1", title={"es": "Título de TR-1", "en": "Inform users"}),
            criterion("TR-2", guidance={"es": "Use lenguaje claro.", "en": ""}),
            criterion("TR-3"),
        ),
        principle("EQ", criterion("EQ-1")),
    )
    diff = diff_versions(base(), new)
    assert [(c.code, [f.field for f in c.fields]) for c in diff.changed] == [
        ("TR-1", ["title.en"]),
        ("TR-2", ["guidance.es"]),
    ]
    guidance = field(diff.changed[1], "guidance.es")
    assert guidance.segments == [Segment(op="insert", text="Use lenguaje claro.")]


def test_risk_level_change_is_a_field_change_without_segments() -> None:
    new = version(
        "1.1",
        principle("TR", criterion("TR-1"), criterion("TR-2"), criterion("TR-3")),
        principle("EQ", criterion("EQ-1", risk_levels=["minimal", "limited", "high"])),
    )
    change = only_change(diff_versions(base(), new))
    assert change.code == "EQ-1"
    assert change.fields == [
        FieldChange(
            field="risk_levels",
            old=["limited", "high"],
            new=["minimal", "limited", "high"],
            segments=[],
        )
    ]


def test_risk_levels_in_another_order_are_not_a_change() -> None:
    new = version(
        "1.1",
        principle("TR", criterion("TR-1"), criterion("TR-2"), criterion("TR-3")),
        principle("EQ", criterion("EQ-1", risk_levels=[RiskLevel.high, RiskLevel.limited])),
    )
    assert diff_versions(base(), new).is_empty


def test_criterion_moved_to_another_principle() -> None:
    new = version(
        "1.1",
        principle("TR", criterion("TR-1"), criterion("TR-3")),
        principle("EQ", criterion("EQ-1"), criterion("TR-2")),
    )
    diff = diff_versions(base(), new)
    change = only_change(diff)
    assert (change.code, change.old_principle, change.principle) == ("TR-2", "TR", "EQ")
    assert change.moved
    assert change.fields == [FieldChange(field="principle", old="TR", new="EQ")]
    assert diff.added == []
    assert diff.removed == []
    assert diff.counts.moved == 1


def test_reordered_criterion_is_moved_without_field_changes() -> None:
    new = version(
        "1.1",
        principle("TR", criterion("TR-1"), criterion("TR-3"), criterion("TR-2")),
        principle("EQ", criterion("EQ-1")),
    )
    diff = diff_versions(base(), new)
    change = only_change(diff)
    assert change.moved
    assert change.fields == []
    assert change.code in {"TR-2", "TR-3"}
    assert sorted(diff.unchanged) == sorted({"TR-1", "TR-2", "TR-3", "EQ-1"} - {change.code})


def test_inserting_a_criterion_does_not_mark_the_following_ones_moved() -> None:
    new = version(
        "1.1",
        principle("TR", criterion("TR-0"), criterion("TR-1"), criterion("TR-2"), criterion("TR-3")),
        principle("EQ", criterion("EQ-1")),
    )
    diff = diff_versions(base(), new)
    assert [a.criterion.code for a in diff.added] == ["TR-0"]
    assert diff.changed == []


def test_principle_title_change_and_new_principle() -> None:
    new = version(
        "1.1",
        principle(
            "TR",
            criterion("TR-1"),
            criterion("TR-2"),
            criterion("TR-3"),
            title={"es": "Transparencia y explicabilidad", "en": "Principle TR"},
        ),
        principle("EQ", criterion("EQ-1")),
        principle("PR", criterion("PR-1"), title={"es": "Privacidad", "en": "Privacy"}),
    )
    diff = diff_versions(base(), new)
    assert [(p.code, p.title.es) for p in diff.added_principles] == [("PR", "Privacidad")]
    assert diff.removed_principles == []
    (changed,) = diff.changed_principles
    assert changed.code == "TR"
    assert not changed.moved
    (title,) = changed.fields
    assert title.field == "title.es"
    assert title.segments == [
        Segment(op="delete", text="Principio TR"),
        Segment(op="insert", text="Transparencia y explicabilidad"),
    ]
    assert [a.criterion.code for a in diff.added] == ["PR-1"]
    assert diff.counts.principles_added == 1
    assert diff.counts.principles_changed == 1


def test_removed_principle_and_summary_change() -> None:
    new = version(
        "2.0",
        principle("TR", criterion("TR-1"), criterion("TR-2"), criterion("TR-3")),
        summary={"es": "Segunda versión.", "en": "First version."},
    )
    diff = diff_versions(base(), new)
    assert [p.code for p in diff.removed_principles] == ["EQ"]
    assert [r.criterion.code for r in diff.removed] == ["EQ-1"]
    (summary,) = diff.summary
    assert summary.field == "summary.es"
    assert summary.segments == [
        Segment(op="delete", text="Primera"),
        Segment(op="insert", text="Segunda"),
        Segment(op="equal", text=" versión."),
    ]


def test_diff_serialises_to_json() -> None:
    new = version(
        "1.1",
        principle("TR", criterion("TR-1"), criterion("TR-3", risk_levels=["high"])),
        principle("EQ", criterion("EQ-1"), criterion("TR-2")),
    )
    data = diff_versions(base(), new).model_dump(mode="json")
    assert json.loads(json.dumps(data)) == data
    assert data["from_number"] == "1.0"
    assert data["to_number"] == "1.1"
    assert data["counts"]["changed"] == 2
    by_code = {change["code"]: change for change in data["changed"]}
    assert by_code["TR-3"]["fields"] == [
        {
            "field": "risk_levels",
            "old": ["limited", "high"],
            "new": ["high"],
            "segments": [],
            "blocks": [],
        }
    ]
    assert by_code["TR-2"]["moved"] is True
    assert VersionDiff.model_validate(data) == diff_versions(base(), new)
