"""What changed between two versions of a guideline: criteria, principles and word-level text."""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterable, Sequence
from typing import Literal, TypeVar

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup, escape
from pydantic import BaseModel, ConfigDict, Field

from guidelines.documents import (
    CriterionDoc,
    LocalizedText,
    PrincipleDoc,
    RequiredText,
    VersionDoc,
)
from guidelines.models import RiskLevel

Op = Literal["equal", "insert", "delete"]
BlockKind = Literal["paragraph", "heading", "bullet", "ordered", "quote", "code"]

_TOKEN = re.compile(r"\s+|[^\s]+")
_LEADING_SPACE = re.compile(r"^\s+")
_LANGUAGES = ("es", "en")
_CRITERION_TEXTS = ("title", "requirement", "guidance", "evidence")
_PRINCIPLE_TEXTS = ("title", "description")
# Texts written in Markdown: compared as the reader sees them, block by block.
_MARKDOWN_TEXTS = frozenset({"summary", "description", "requirement", "guidance", "evidence"})
_RISK_ORDER = {level: index for index, level in enumerate(RiskLevel)}


class Segment(BaseModel):
    """A run of text that both versions share, or that one of them adds or drops."""

    model_config = ConfigDict(frozen=True)

    op: Op
    text: str


class TextBlock(BaseModel):
    """One block of a text as rendered (a paragraph, a list item...), its words compared."""

    model_config = ConfigDict(frozen=True)

    kind: BlockKind
    depth: int = 0  # how deep a list item is nested, from 0
    segments: list[Segment]


class FieldChange(BaseModel):
    """One field that differs: a text (title.es, requirement.en...), risk_levels or principle.

    `old` and `new` are the texts as written (Markdown); `segments` compare the text as read
    (formatting marks gone, blocks on lines of their own) and `blocks` do so block by block.
    """

    field: str
    old: str | list[str]
    new: str | list[str]
    segments: list[Segment] = Field(default_factory=list)
    blocks: list[TextBlock] = Field(default_factory=list)


class CriterionEntry(BaseModel):
    """A criterion that exists in only one of the versions, with the principle holding it."""

    principle: str
    criterion: CriterionDoc


class CriterionChange(BaseModel):
    """A criterion present in both versions whose text, risk levels or place differ."""

    code: str
    title: RequiredText  # as the newer version has it
    principle: str
    old_principle: str
    fields: list[FieldChange]
    moved: bool = False


class PrincipleHeading(BaseModel):
    """A principle added or removed (its criteria are listed among the criteria)."""

    code: str
    title: LocalizedText
    description: LocalizedText


class PrincipleChange(BaseModel):
    """A principle present in both versions whose title, description or place differ."""

    code: str
    title: RequiredText  # as the newer version has it
    fields: list[FieldChange]
    moved: bool = False


class DiffCounts(BaseModel):
    """How many criteria fall in each kind of change."""

    added: int
    removed: int
    changed: int
    moved: int
    unchanged: int
    principles_added: int
    principles_removed: int
    principles_changed: int


class VersionDiff(BaseModel):
    """The differences from one version (or revision) of a guideline to another."""

    from_number: str
    to_number: str
    summary: list[FieldChange]
    added_principles: list[PrincipleHeading]
    removed_principles: list[PrincipleHeading]
    changed_principles: list[PrincipleChange]
    added: list[CriterionEntry]
    removed: list[CriterionEntry]
    changed: list[CriterionChange]
    unchanged: list[str]
    counts: DiffCounts

    @property
    def is_empty(self) -> bool:
        """Whether the two versions say exactly the same thing in the same order."""
        return not (
            self.summary
            or self.added_principles
            or self.removed_principles
            or self.changed_principles
            or self.added
            or self.removed
            or self.changed
        )


# Word-level text diff ------------------------------------------------------------------------


def _merge(segments: Iterable[Segment]) -> list[Segment]:
    merged: list[Segment] = []
    for segment in segments:
        if not segment.text:
            continue
        if merged and merged[-1].op == segment.op:
            merged[-1] = Segment(op=segment.op, text=merged[-1].text + segment.text)
        else:
            merged.append(segment)
    return merged


def _slide_leading_space(segments: list[Segment]) -> list[Segment]:
    """Write "informar claramente a" as +"claramente " rather than +" claramente"."""
    result = [Segment(op="equal", text=""), *segments]
    for index in range(1, len(result) - 1):
        before, change, after = result[index - 1], result[index], result[index + 1]
        if before.op != "equal" or change.op == "equal" or after.op != "equal":
            continue
        space = _LEADING_SPACE.match(change.text)
        if space is None or not after.text.startswith(space.group()):
            continue
        width = len(space.group())
        result[index - 1] = Segment(op="equal", text=before.text + space.group())
        result[index] = Segment(op=change.op, text=change.text[width:] + space.group())
        result[index + 1] = Segment(op="equal", text=after.text[width:])
    return _merge(result)


def word_diff(old: str, new: str) -> list[Segment]:
    """The words kept, inserted and deleted from `old` to `new`, whitespace included."""
    old_tokens = _TOKEN.findall(old)
    new_tokens = _TOKEN.findall(new)
    opcodes = difflib.SequenceMatcher(None, old_tokens, new_tokens, autojunk=False).get_opcodes()
    segments: list[Segment] = []
    deleted: list[str] = []
    inserted: list[str] = []
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        kept = "".join(old_tokens[i1:i2]) if tag == "equal" else ""
        # A lone space kept between two changes reads better inside one replaced phrase.
        if tag != "equal" or (kept.isspace() and 0 < index < len(opcodes) - 1):
            deleted.extend(old_tokens[i1:i2])
            inserted.extend(new_tokens[j1:j2])
            continue
        segments.append(Segment(op="delete", text="".join(deleted)))
        segments.append(Segment(op="insert", text="".join(inserted)))
        segments.append(Segment(op="equal", text=kept))
        deleted, inserted = [], []
    segments.append(Segment(op="delete", text="".join(deleted)))
    segments.append(Segment(op="insert", text="".join(inserted)))
    return _slide_leading_space(_merge(segments))


def render_segments_html(segments: Sequence[Segment]) -> Markup:
    """Segments as HTML: kept text as is, insertions in <ins>, deletions in <del>, all escaped."""
    parts: list[Markup] = []
    for segment in segments:
        text = escape(segment.text)
        if segment.op == "insert":
            parts.append(Markup('<ins class="diff-ins">{}</ins>').format(text))
        elif segment.op == "delete":
            parts.append(Markup('<del class="diff-del">{}</del>').format(text))
        else:
            parts.append(text)
    return Markup("").join(parts)


# Rendered text -------------------------------------------------------------------------------

_CONTAINERS = {"bullet_list_open": "bullet", "ordered_list_open": "ordered"}


@functools.lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False, "linkify": False})


def _inline_text(token: Token) -> str:
    """The words of an inline run as read: emphasis, links and code marks dropped."""
    parts = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)
    return "".join(parts)


def text_blocks(markdown: str) -> list[tuple[BlockKind, int, str]]:
    """A Markdown text as its reader sees it: (kind, list depth, words) for every block."""
    blocks: list[tuple[BlockKind, int, str]] = []
    containers: list[str] = []
    heading = False
    for token in _parser().parse(markdown or ""):
        if token.type in _CONTAINERS or token.type == "blockquote_open":
            containers.append(_CONTAINERS.get(token.type, "quote"))
        elif token.type in ("bullet_list_close", "ordered_list_close", "blockquote_close"):
            containers.pop()
        elif token.type == "heading_open":
            heading = True
        elif token.type == "heading_close":
            heading = False
        elif token.type in ("code_block", "fence"):
            blocks.append(("code", 0, token.content.rstrip("\n")))
        elif token.type == "inline":
            lists = [c for c in containers if c != "quote"]
            kind: BlockKind
            if lists:
                kind = "bullet" if lists[-1] == "bullet" else "ordered"
            elif containers:
                kind = "quote"
            else:
                kind = "heading" if heading else "paragraph"
            blocks.append((kind, max(len(lists) - 1, 0), _inline_text(token)))
    return blocks


def read_text(name: str, text: str) -> list[tuple[BlockKind, int, str]]:
    """The blocks of a field's text: Markdown fields parsed, plain ones (titles) as one line."""
    if name in _MARKDOWN_TEXTS:
        return text_blocks(text)
    return [("paragraph", 0, text)] if text else []


def block_diff(
    old: Sequence[tuple[BlockKind, int, str]], new: Sequence[tuple[BlockKind, int, str]]
) -> list[TextBlock]:
    """Blocks of the newer text (and those the older one dropped), their words compared."""
    old_texts, new_texts = [b[2] for b in old], [b[2] for b in new]
    matcher = difflib.SequenceMatcher(None, old_texts, new_texts, autojunk=False)
    blocks: list[TextBlock] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            blocks.extend(
                TextBlock(kind=k, depth=d, segments=[Segment(op="equal", text=t)] if t else [])
                for k, d, t in new[j1:j2]
            )
            continue
        before, after = old[i1:i2], new[j1:j2]
        for index in range(max(len(before), len(after))):
            if index < len(before) and index < len(after):
                kind, depth, text = after[index]
                blocks.append(
                    TextBlock(kind=kind, depth=depth, segments=word_diff(before[index][2], text))
                )
            elif index < len(before):
                kind, depth, text = before[index]
                blocks.append(
                    TextBlock(kind=kind, depth=depth, segments=[Segment(op="delete", text=text)])
                )
            else:
                kind, depth, text = after[index]
                blocks.append(
                    TextBlock(kind=kind, depth=depth, segments=[Segment(op="insert", text=text)])
                )
    return blocks


_BLOCK_TAGS = {"paragraph": "p", "heading": "p", "quote": "blockquote", "code": "pre"}
_LIST_TAGS = {"bullet": "ul", "ordered": "ol"}


def _block_op(block: TextBlock) -> str:
    ops = {segment.op for segment in block.segments}
    return ops.pop() if len(ops) == 1 else "changed"


def render_blocks_html(blocks: Sequence[TextBlock]) -> Markup:
    """Blocks as HTML: paragraphs, lists (nested ones indented) and quotes, words marked."""
    parts: list[Markup] = []
    open_list = ""
    for block in blocks:
        list_tag = _LIST_TAGS.get(block.kind, "")
        if open_list and list_tag != open_list:
            parts.append(Markup("</{}>").format(open_list))
            open_list = ""
        if list_tag and not open_list:
            parts.append(Markup('<{} class="diff-list">').format(list_tag))
            open_list = list_tag
        tag = "li" if list_tag else _BLOCK_TAGS[block.kind]
        classes = f"inline-diff diff-block-{_block_op(block)} diff-{block.kind}"
        if block.depth:
            classes += f" diff-depth-{min(block.depth, 3)}"
        parts.append(
            Markup('<{tag} class="{classes}">{body}</{tag}>').format(
                tag=tag, classes=classes, body=render_segments_html(block.segments)
            )
        )
    if open_list:
        parts.append(Markup("</{}>").format(open_list))
    return Markup("").join(parts)


def render_change_html(change: FieldChange) -> Markup:
    """A text field's change as HTML: by blocks when it has them, else its word segments."""
    if change.blocks:
        return render_blocks_html(change.blocks)
    return Markup('<p class="inline-diff">{}</p>').format(render_segments_html(change.segments))


# Documents -----------------------------------------------------------------------------------


def _text_changes(prefix: str, old: LocalizedText, new: LocalizedText) -> list[FieldChange]:
    changes = []
    for language in _LANGUAGES:
        before, after = getattr(old, language), getattr(new, language)
        if before != after:
            old_blocks, new_blocks = read_text(prefix, before), read_text(prefix, after)
            changes.append(
                FieldChange(
                    field=f"{prefix}.{language}",
                    old=before,
                    new=after,
                    segments=word_diff(
                        "\n".join(b[2] for b in old_blocks), "\n".join(b[2] for b in new_blocks)
                    ),
                    blocks=block_diff(old_blocks, new_blocks),
                )
            )
    return changes


def _risk_levels(levels: Iterable[RiskLevel]) -> list[str]:
    return [level.value for level in sorted(set(levels), key=_RISK_ORDER.__getitem__)]


def _criterion_fields(
    old: CriterionDoc, new: CriterionDoc, old_principle: str, new_principle: str
) -> list[FieldChange]:
    changes: list[FieldChange] = []
    for name in _CRITERION_TEXTS:
        changes.extend(_text_changes(name, getattr(old, name), getattr(new, name)))
    old_levels, new_levels = _risk_levels(old.risk_levels), _risk_levels(new.risk_levels)
    if old_levels != new_levels:
        changes.append(FieldChange(field="risk_levels", old=old_levels, new=new_levels))
    if old_principle != new_principle:
        changes.append(FieldChange(field="principle", old=old_principle, new=new_principle))
    return changes


def _out_of_order(old: Sequence[str], new: Sequence[str]) -> set[str]:
    """Codes of `new` outside a longest run kept in the same relative order as in `old`."""
    old_set, new_set = set(old), set(new)
    common_old = [code for code in old if code in new_set]
    common_new = [code for code in new if code in old_set]
    rows, cols = len(common_old), len(common_new)
    lengths = [[0] * (cols + 1) for _ in range(rows + 1)]
    for i in range(rows - 1, -1, -1):
        for j in range(cols - 1, -1, -1):
            if common_old[i] == common_new[j]:
                lengths[i][j] = lengths[i + 1][j + 1] + 1
            else:
                lengths[i][j] = max(lengths[i + 1][j], lengths[i][j + 1])
    kept: set[str] = set()
    i = j = 0
    while i < rows and j < cols:
        if common_old[i] == common_new[j]:
            kept.add(common_old[i])
            i, j = i + 1, j + 1
        elif lengths[i + 1][j] >= lengths[i][j + 1]:
            i += 1
        else:
            j += 1
    return set(common_new) - kept


def _heading(principle: PrincipleDoc) -> PrincipleHeading:
    return PrincipleHeading(
        code=principle.code, title=principle.title, description=principle.description
    )


def _principle_diff(
    old: VersionDoc, new: VersionDoc
) -> tuple[list[PrincipleHeading], list[PrincipleHeading], list[PrincipleChange]]:
    old_by_code = {p.code: p for p in old.principles}
    new_codes = {p.code for p in new.principles}
    moved = _out_of_order([p.code for p in old.principles], [p.code for p in new.principles])
    added = [_heading(p) for p in new.principles if p.code not in old_by_code]
    removed = [_heading(p) for p in old.principles if p.code not in new_codes]
    changed = []
    for principle in new.principles:
        before = old_by_code.get(principle.code)
        if before is None:
            continue
        fields = [
            change
            for name in _PRINCIPLE_TEXTS
            for change in _text_changes(name, getattr(before, name), getattr(principle, name))
        ]
        if fields or principle.code in moved:
            changed.append(
                PrincipleChange(
                    code=principle.code,
                    title=principle.title,
                    fields=fields,
                    moved=principle.code in moved,
                )
            )
    return added, removed, changed


def _moved_criteria(old: VersionDoc, new: VersionDoc) -> set[str]:
    """Criteria placed differently: in another principle, or reordered within theirs."""
    old_principle = {c.code: p.code for p, c in old.criteria()}
    old_orders = {p.code: [c.code for c in p.criteria] for p in old.principles}
    moved: set[str] = set()
    for principle in new.principles:
        old_order = old_orders.get(principle.code, [])
        new_order = [c.code for c in principle.criteria]
        moved |= _out_of_order(old_order, new_order)
        moved |= {
            code
            for code in new_order
            if code in old_principle and old_principle[code] != principle.code
        }
    return moved


def diff_versions(old: VersionDoc, new: VersionDoc) -> VersionDiff:
    """Compare two version documents, matching criteria and principles by code."""
    old_criteria = {c.code: (p.code, c) for p, c in old.criteria()}
    new_codes = {c.code for _, c in new.criteria()}
    moved = _moved_criteria(old, new)
    added: list[CriterionEntry] = []
    changed: list[CriterionChange] = []
    unchanged: list[str] = []
    for principle, criterion in new.criteria():
        if criterion.code not in old_criteria:
            added.append(CriterionEntry(principle=principle.code, criterion=criterion))
            continue
        old_principle, before = old_criteria[criterion.code]
        fields = _criterion_fields(before, criterion, old_principle, principle.code)
        if fields or criterion.code in moved:
            changed.append(
                CriterionChange(
                    code=criterion.code,
                    title=criterion.title,
                    principle=principle.code,
                    old_principle=old_principle,
                    fields=fields,
                    moved=criterion.code in moved,
                )
            )
        else:
            unchanged.append(criterion.code)
    removed = [
        CriterionEntry(principle=p.code, criterion=c)
        for p, c in old.criteria()
        if c.code not in new_codes
    ]
    added_p, removed_p, changed_p = _principle_diff(old, new)
    return VersionDiff(
        from_number=old.number,
        to_number=new.number,
        summary=_text_changes("summary", old.summary, new.summary),
        added_principles=added_p,
        removed_principles=removed_p,
        changed_principles=changed_p,
        added=added,
        removed=removed,
        changed=changed,
        unchanged=unchanged,
        counts=DiffCounts(
            added=len(added),
            removed=len(removed),
            changed=len(changed),
            moved=sum(change.moved for change in changed),
            unchanged=len(unchanged),
            principles_added=len(added_p),
            principles_removed=len(removed_p),
            principles_changed=len(changed_p),
        ),
    )


# Three-way merge -----------------------------------------------------------------------------

_Item = TypeVar("_Item")
Heading = tuple[LocalizedText, LocalizedText]
Placed = tuple[str, CriterionDoc]


def _merge_item(
    code: str, base: _Item | None, ours: _Item | None, theirs: _Item | None, conflicts: list[str]
) -> _Item | None:
    """One item of a three-way merge; None stands for an item that side does not have."""
    if ours == base:
        return theirs  # the draft left it alone: the newer version's text, or its removal
    if theirs in (base, ours):
        return ours  # only the draft changed it, or both changed it alike
    if code not in conflicts:
        conflicts.append(code)
    return ours


def merge_versions(
    base: VersionDoc, ours: VersionDoc, theirs: VersionDoc
) -> tuple[VersionDoc, list[str]]:
    """Merge a newer version's changes into a draft, from the text both started from.

    Principles and criteria are matched by code. Returns the draft's merged document and the
    codes (or "summary") that both changed differently, where the draft's text was kept.
    """
    common = base
    conflicts: list[str] = []
    summary = _merge_item("summary", common.summary, ours.summary, theirs.summary, conflicts)

    def placed(doc: VersionDoc) -> dict[str, Placed]:
        return {c.code: (p.code, c) for p, c in doc.criteria()}

    base_c, ours_c, theirs_c = placed(common), placed(ours), placed(theirs)
    criteria: dict[str, list[CriterionDoc]] = {}
    for code in [*ours_c, *(code for code in theirs_c if code not in ours_c)]:
        item = _merge_item(code, base_c.get(code), ours_c.get(code), theirs_c.get(code), conflicts)
        if item is not None:
            criteria.setdefault(item[0], []).append(item[1])

    def headings(doc: VersionDoc) -> dict[str, Heading]:
        return {p.code: (p.title, p.description) for p in doc.principles}

    base_h, ours_h, theirs_h = headings(common), headings(ours), headings(theirs)
    principles: list[PrincipleDoc] = []
    for code in [*ours_h, *(code for code in theirs_h if code not in ours_h)]:
        heading = _merge_item(
            code, base_h.get(code), ours_h.get(code), theirs_h.get(code), conflicts
        )
        held = criteria.pop(code, [])
        if heading is None and held:
            # One side removed the principle while criteria still sit under it: keep it.
            heading = ours_h.get(code) or theirs_h[code]
            if code not in conflicts:
                conflicts.append(code)
        if heading is not None:
            title, description = heading
            principles.append(
                PrincipleDoc(code=code, title=title, description=description, criteria=held)
            )
    merged = ours.model_copy(
        update={"summary": summary or LocalizedText(), "principles": principles}
    )
    return merged, conflicts


def changed_codes(diff: VersionDiff) -> list[str]:
    """The codes a diff touches (principles and criteria), with "summary" first when it changed."""
    codes = ["summary"] if diff.summary else []
    codes += [p.code for p in (*diff.added_principles, *diff.removed_principles)]
    codes += [p.code for p in diff.changed_principles]
    codes += [e.criterion.code for e in (*diff.added, *diff.removed)]
    codes += [c.code for c in diff.changed]
    return list(dict.fromkeys(codes))
