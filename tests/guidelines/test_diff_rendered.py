"""Diffs of texts as their readers see them: Markdown marks gone, lists kept, words marked."""

from __future__ import annotations

from typing import Any

from bs4 import BeautifulSoup

from guidelines.diff import (
    FieldChange,
    Segment,
    TextBlock,
    VersionDiff,
    block_diff,
    diff_versions,
    render_blocks_html,
    render_change_html,
    text_blocks,
)
from tests.guidelines.test_diff import base, criterion, principle, version

OLD_LIST = (
    "Debe entregar, **sin costo**, una explicación que indique:\n\n"
    "- los factores;\n- cómo pedir revisión."
)
NEW_LIST = (
    "Debe entregar, **sin costo** y por escrito, una explicación que indique:\n\n"
    "- los factores y su peso;\n- los datos usados;\n- cómo pedir revisión."
)


def reworded(**texts: Any) -> VersionDiff:
    """The diff of the base document to one whose TR-2 has the given texts."""
    new = version(
        "1.1",
        principle("TR", criterion("TR-1"), criterion("TR-2", **texts), criterion("TR-3")),
        principle("EQ", criterion("EQ-1")),
    )
    return diff_versions(base(), new)


def requirement_change(old: str, new: str) -> FieldChange:
    diff = diff_versions(
        version("1.0", principle("TR", criterion("TR-1", requirement={"es": old, "en": ""}))),
        version("1.1", principle("TR", criterion("TR-1", requirement={"es": new, "en": ""}))),
    )
    (change,) = diff.changed
    (field,) = change.fields
    return field


def test_markdown_marks_are_not_compared_as_words() -> None:
    field = requirement_change(
        "Entregar **sin costo** la explicación.",
        "Entregar **sin costo** y por escrito la explicación.",
    )
    assert field.old == "Entregar **sin costo** la explicación."  # the source, as written
    assert field.segments == [
        Segment(op="equal", text="Entregar sin costo "),
        Segment(op="insert", text="y por escrito "),
        Segment(op="equal", text="la explicación."),
    ]
    assert all("*" not in segment.text for block in field.blocks for segment in block.segments)


def test_a_list_keeps_its_items_each_compared_word_by_word() -> None:
    field = requirement_change(OLD_LIST, NEW_LIST)
    assert [(b.kind, b.depth) for b in field.blocks] == [
        ("paragraph", 0),
        ("bullet", 0),
        ("bullet", 0),
        ("bullet", 0),
    ]
    factors, data, review = field.blocks[1:]
    assert factors.segments == [
        Segment(op="equal", text="los "),
        Segment(op="delete", text="factores;"),
        Segment(op="insert", text="factores y su peso;"),
    ]
    assert data.segments == [Segment(op="insert", text="los datos usados;")]
    assert review.segments == [Segment(op="equal", text="cómo pedir revisión.")]


def test_a_list_renders_as_a_list_with_insertions_and_deletions_marked() -> None:
    html = BeautifulSoup(
        str(render_change_html(requirement_change(OLD_LIST, NEW_LIST))), "html.parser"
    )
    (paragraph,) = html.select("p.inline-diff")
    # Words are compared with the punctuation they carry: "costo," became "costo y por escrito,".
    assert [d.get_text() for d in paragraph.select("del")] == ["costo,"]
    assert [i.get_text() for i in paragraph.select("ins")] == ["costo y por escrito,"]
    (listing,) = html.select("ul.diff-list")
    items = listing.select("li")
    assert len(items) == 3
    assert [d.get_text() for d in items[0].select("del")] == ["factores;"]
    assert "diff-block-insert" in items[1]["class"]
    assert "**" not in html.get_text()


def test_segments_rebuild_the_texts_as_read() -> None:
    field = requirement_change(OLD_LIST, NEW_LIST)
    old_read = "\n".join(text for _kind, _depth, text in text_blocks(OLD_LIST))
    new_read = "\n".join(text for _kind, _depth, text in text_blocks(NEW_LIST))
    assert "".join(s.text for s in field.segments if s.op != "insert") == old_read
    assert "".join(s.text for s in field.segments if s.op != "delete") == new_read


def test_html_and_json_say_the_same_words() -> None:
    field = requirement_change(OLD_LIST, NEW_LIST)
    html = BeautifulSoup(str(render_blocks_html(field.blocks)), "html.parser")
    for tag in html.select("del"):
        tag.decompose()
    shown = [" ".join(block.get_text().split()) for block in html.select("p, li")]
    assert shown == [" ".join(text.split()) for _k, _d, text in text_blocks(NEW_LIST)]
    again = FieldChange.model_validate(field.model_dump(mode="json"))
    assert again.blocks == field.blocks


def test_nested_items_and_quotes_keep_their_kind() -> None:
    blocks = text_blocks("1. uno\n   - a\n   - b\n2. dos\n\n> cita *breve*\n\n    código")
    assert blocks == [
        ("ordered", 0, "uno"),
        ("bullet", 1, "a"),
        ("bullet", 1, "b"),
        ("ordered", 0, "dos"),
        ("quote", 0, "cita breve"),
        ("code", 0, "código"),
    ]
    html = str(render_blocks_html(block_diff(blocks, blocks)))
    assert html.count("<ol") == 2  # the nested bullets close the ordered list and reopen it
    assert 'class="inline-diff diff-block-equal diff-bullet diff-depth-1"' in html
    assert "<blockquote" in html
    assert "<pre" in html


def test_text_in_the_source_is_escaped() -> None:
    field = requirement_change("Texto <b>uno</b>.", "Texto <script>dos</script>.")
    html = str(render_change_html(field))
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_titles_are_plain_text_not_markdown() -> None:
    diff = reworded(title={"es": "1. Aviso", "en": "Title of TR-2"})
    (change,) = diff.changed
    (title,) = change.fields
    assert title.blocks == [
        TextBlock(
            kind="paragraph",
            segments=[
                Segment(op="delete", text="Título de TR-2"),
                Segment(op="insert", text="1. Aviso"),
            ],
        )
    ]


def test_a_changed_criterion_carries_its_title() -> None:
    diff = reworded(requirement={"es": "Otro requisito.", "en": "It must inform people (TR-2)."})
    (change,) = diff.changed
    assert (change.title.es, change.title.en) == ("Título de TR-2", "Title of TR-2")
    assert diff.model_dump(mode="json")["changed"][0]["title"] == {
        "es": "Título de TR-2",
        "en": "Title of TR-2",
    }
