"""Diff rules at their edges: moves beyond adjacent swaps, every text field, what makes a change."""

from __future__ import annotations

from typing import Any

import pytest

from guidelines.diff import VersionDiff, diff_versions, word_diff
from guidelines.documents import VersionDoc
from tests.guidelines.test_diff import criterion, principle, version


def _principle_of(numbers: str, code: str = "TR") -> dict[str, Any]:
    """A principle holding criteria CODE-n for the numbers given, in that order."""
    return principle(code, *(criterion(f"{code}-{n}") for n in numbers.split()))


def _moves(old: str, new: str) -> tuple[set[str], int]:
    diff = diff_versions(version("1.0", _principle_of(old)), version("1.1", _principle_of(new)))
    moved = {change.code.removeprefix("TR-") for change in diff.changed if change.moved}
    assert all(change.fields == [] for change in diff.changed)
    assert diff.counts.moved == len(moved)
    return moved, diff.counts.unchanged


@pytest.mark.parametrize(
    ("old", "new", "moved"),
    [
        ("1 2 3 4 5", "5 1 2 3 4", {"5"}),
        ("1 2 3 4 5", "2 3 4 5 1", {"1"}),
        ("1 2 3 4 5 6", "1 5 3 4 2 6", {"5", "2"}),
        ("1 2 3 4 5 6 7", "1 2 6 3 4 5 7", {"6"}),
        ("1 2 3 4", "1 2 3 4", set()),
        # When more than one set of moves explains the new order, the criteria that came
        # first in the old order are the ones marked moved: a fixed rule, so a diff never
        # changes from one run to the next.
        ("1 2", "2 1", {"1"}),
        ("1 2 3", "2 1 3", {"1"}),
        ("1 2 3 4", "3 1 4 2", {"1", "2"}),
    ],
)
def test_a_criterion_moved_far_is_the_only_one_marked_moved(
    old: str, new: str, moved: set[str]
) -> None:
    found, unchanged = _moves(old, new)
    assert found == moved
    assert unchanged == len(old.split()) - len(moved)


def test_moves_are_found_among_added_and_removed_criteria() -> None:
    old = version("1.0", _principle_of("1 2 8 3 4"))
    new = version("1.1", _principle_of("4 1 9 2 3"))
    diff = diff_versions(old, new)
    assert [c.code for c in diff.changed] == ["TR-4"]
    assert diff.changed[0].moved
    assert [e.criterion.code for e in diff.added] == ["TR-9"]
    assert [e.criterion.code for e in diff.removed] == ["TR-8"]
    assert diff.unchanged == ["TR-1", "TR-2", "TR-3"]


def test_a_new_principle_does_not_hide_changes_to_the_ones_after_it() -> None:
    old = version("1.0", _principle_of("1"), _principle_of("1", "EQ"))
    changed_eq = principle("EQ", criterion("EQ-1"), title={"es": "Equidad", "en": "Principle EQ"})
    new = version("1.1", _principle_of("1"), principle("NUEVO"), changed_eq)
    diff = diff_versions(old, new)
    assert [p.code for p in diff.added_principles] == ["NUEVO"]
    assert [(p.code, p.moved) for p in diff.changed_principles] == [("EQ", False)]


def test_a_principle_moved_from_last_to_first_is_the_only_one_moved() -> None:
    codes = ["TR", "EQ", "PR", "RS"]
    old = version("1.0", *(_principle_of("1", c) for c in codes))
    new = version("1.1", *(_principle_of("1", c) for c in ["RS", *codes[:3]]))
    diff = diff_versions(old, new)
    assert [(p.code, p.moved, p.fields) for p in diff.changed_principles] == [("RS", True, [])]
    assert diff.counts.principles_changed == 1
    assert diff.changed == []


@pytest.mark.parametrize("name", ["title", "requirement", "guidance", "evidence"])
@pytest.mark.parametrize("language", ["es", "en"])
def test_every_criterion_text_in_every_language_is_compared(name: str, language: str) -> None:
    old_c = criterion("TR-1")
    texts = dict(old_c[name])
    texts[language] = texts[language] + " Nuevo texto."
    old = version("1.0", principle("TR", old_c))
    new = version("1.1", principle("TR", criterion("TR-1", **{name: texts})))
    diff = diff_versions(old, new)
    assert [f.field for f in diff.changed[0].fields] == [f"{name}.{language}"]
    assert not diff.is_empty


@pytest.mark.parametrize("name", ["title", "description"])
@pytest.mark.parametrize("language", ["es", "en"])
def test_every_principle_text_in_every_language_is_compared(name: str, language: str) -> None:
    before = principle("TR", criterion("TR-1"))
    texts = dict(before[name])
    texts[language] = texts[language] + " Nuevo."
    after = principle("TR", criterion("TR-1"), **{name: texts})
    diff = diff_versions(version("1.0", before), version("1.1", after))
    assert [f.field for p in diff.changed_principles for f in p.fields] == [f"{name}.{language}"]
    assert not diff.is_empty


def _base() -> VersionDoc:
    return version("1.0", _principle_of("1 2"), _principle_of("1", "EQ"))


CHANGES: dict[str, VersionDoc] = {
    "summary": version(
        "1.1",
        _principle_of("1 2"),
        _principle_of("1", "EQ"),
        summary={"es": "Segunda versión.", "en": "First version."},
    ),
    "added principle": version(
        "1.1", _principle_of("1 2"), _principle_of("1", "EQ"), principle("NUEVO")
    ),
    "removed principle": version(
        "1.1", principle("TR", criterion("TR-1"), criterion("TR-2"), criterion("EQ-1"))
    ),
    "changed principle": version(
        "1.1",
        _principle_of("1 2"),
        principle("EQ", criterion("EQ-1"), title={"es": "Equidad", "en": "Principle EQ"}),
    ),
    "added criterion": version("1.1", _principle_of("1 2 3"), _principle_of("1", "EQ")),
    "removed criterion": version("1.1", _principle_of("1"), _principle_of("1", "EQ")),
    "changed criterion": version("1.1", _principle_of("2 1"), _principle_of("1", "EQ")),
}


@pytest.mark.parametrize("kind", list(CHANGES))
def test_any_single_kind_of_change_makes_the_diff_non_empty(kind: str) -> None:
    diff = diff_versions(_base(), CHANGES[kind])
    assert not diff.is_empty


def test_the_same_text_in_a_new_number_is_an_empty_diff() -> None:
    diff: VersionDiff = diff_versions(_base(), version("1.1", *_base().model_dump()["principles"]))
    assert diff.is_empty
    assert (diff.from_number, diff.to_number) == ("1.0", "1.1")


def _ops(old: str, new: str) -> list[tuple[str, str]]:
    return [(segment.op, segment.text) for segment in word_diff(old, new)]


@pytest.mark.parametrize(
    ("old", "new", "segments"),
    [
        # A lone space kept between two changes joins them into one replaced phrase...
        ("a b c", "a x y", [("equal", "a "), ("delete", "b c"), ("insert", "x y")]),
        # ...but a kept word does not, nor does a space at either end.
        (
            "a b c",
            "x b y",
            [("delete", "a"), ("insert", "x"), ("equal", " b "), ("delete", "c"), ("insert", "y")],
        ),
        (" a", " b", [("equal", " "), ("delete", "a"), ("insert", "b")]),
        ("a ", "b ", [("delete", "a"), ("insert", "b"), ("equal", " ")]),
        ("a  b", "a b", [("equal", "a"), ("delete", "  "), ("insert", " "), ("equal", "b")]),
        ("a b", "a b c d", [("equal", "a b"), ("insert", " c d")]),
        ("x", "", [("delete", "x")]),
        ("", "", []),
        # Spaces around a change: an insertion's leading space slides to its end when the text
        # after it starts with the same space, at the start of the text too; a change at the
        # very start keeps its spaces; a space kept only at the end stays kept.
        (
            "  b   a",
            " ca  b",
            [("equal", " "), ("insert", "ca "), ("equal", " b"), ("delete", "   a")],
        ),
        ("  b", "      c a", [("delete", "  b"), ("insert", "      c a")]),
        (
            " a bb  ",
            "a a  ",
            [("insert", "a"), ("equal", " a "), ("delete", "bb "), ("equal", " ")],
        ),
        (" ac  ", "a  ", [("delete", " ac"), ("insert", "a"), ("equal", "  ")]),
        (" a  a", " bcc ", [("equal", " "), ("delete", "a  a"), ("insert", "bcc ")]),
    ],
)
def test_word_diff_segments(old: str, new: str, segments: list[tuple[str, str]]) -> None:
    assert _ops(old, new) == segments


def test_one_word_changed_in_a_long_text_is_one_replacement() -> None:
    # Long texts repeat the same words and spaces; none of them may be skipped as noise.
    words = ["el", "modelo", "debe", "informar", "a", "las", "personas", "usuarias"] * 25
    changed = [*words[:100], "claramente", *words[101:]]
    old, new = " ".join(words), " ".join(changed)
    assert _ops(old, new) == [
        ("equal", " ".join(words[:100]) + " "),
        ("delete", words[100]),
        ("insert", "claramente"),
        ("equal", " " + " ".join(words[101:])),
    ]
