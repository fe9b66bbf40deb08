"""Markdown written by the council or the public, rendered to sanitised HTML once, when written.

A model holding Markdown mixes in `RenderedMarkdown` and names its Markdown fields in
`markdown_fields`. Whenever such a row is written (the unit of work, or a bulk insert of
dictionaries), the changed fields are rendered and sanitised into the row's `rendered` column
beside the source, stamped with `RENDERER_REVISION`. Pages read the stored HTML (`html()`,
`pick_html()`); they never render. When the parser or the sanitiser's rules change, bump
`RENDERER_REVISION`: `council markdown render` (also run by `council db upgrade` and
`council demo`) re-renders every row stamped with an older revision. A bulk UPDATE statement
(`session.execute(update(Model)...)`) of a Markdown field is not seen here: change such rows
through the unit of work (none does so today).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy import JSON, Integer, event, or_, select
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Mapper,
    ORMExecuteState,
    Session,
    UOWTransaction,
    attributes,
    mapped_column,
)

ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "code",
    "pre",
    "ul",
    "ol",
    "li",
    "blockquote",
    "a",
    "h3",
    "h4",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}

# Bump whenever the parser, its options or the sanitiser's rules change what a text renders to:
# rows stamped with an older revision are re-rendered by `council markdown render`.
RENDERER_REVISION = 1

# Rows re-rendered per batch by the command: bounded memory on tables of any size.
RENDER_BATCH = 500


@functools.lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # Raw HTML in the source is not passed through; nh3 cleans what the parser produces.
    return MarkdownIt("commonmark", {"html": False, "linkify": False})


def render_markdown(text: str) -> Markup:
    """Markdown to HTML that is safe to embed: no scripts, styles, handlers or foreign tags."""
    html = _parser().render(text or "")
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(cleaned)  # safe: sanitised by nh3 just above


class RenderedMarkdown:
    """A row with Markdown fields whose sanitised HTML is stored beside them when written."""

    # The Markdown source columns of the model, rendered into `rendered` under their own names.
    markdown_fields: ClassVar[tuple[str, ...]] = ()

    # One JSON object per row, {field: html}, rather than a column per field: a model gains a
    # Markdown field without a migration, and one revision stamp covers the whole row.
    rendered: Mapped[dict[str, str] | None] = mapped_column(JSON, nullable=True, default=None)
    # The renderer revision the HTML was made with; NULL: never rendered (rows from before).
    rendered_revision: Mapped[int | None] = mapped_column(Integer, nullable=True, default=None)

    def html(self, name: str) -> Markup:
        """The stored HTML of one Markdown field (rendered now only if it was never stored)."""
        stored = self.rendered
        if self.rendered_revision == RENDERER_REVISION and stored is not None and name in stored:
            return Markup(stored[name])  # safe: sanitised when it was written
        # A row not yet written, or from before its HTML was stored: correct, if slower.
        return render_markdown(getattr(self, name) or "")

    def pick_html(self, pick: Callable[[str, str], str], base: str) -> Markup:
        """The HTML of `<base>_es` or `<base>_en`, whichever `pick` chooses from the sources."""
        es, en = getattr(self, f"{base}_es") or "", getattr(self, f"{base}_en") or ""
        chosen = pick(es, en)
        return self.html(f"{base}_en" if chosen == en and en != es else f"{base}_es")


def render_fields(row: RenderedMarkdown, names: Iterable[str] | None = None) -> None:
    """Render the named Markdown fields of a row (all when None) into its stored HTML."""
    current = row.rendered if row.rendered_revision == RENDERER_REVISION else None
    if current is None:
        names = row.markdown_fields  # a row stamped with one revision is rendered wholly by it
    html = dict(current or {})
    for name in names if names is not None else row.markdown_fields:
        html[name] = str(render_markdown(getattr(row, name) or ""))
    row.rendered = html
    row.rendered_revision = RENDERER_REVISION


def _changed_fields(row: RenderedMarkdown) -> list[str]:
    return [name for name in row.markdown_fields if attributes.get_history(row, name).has_changes()]


@event.listens_for(Session, "before_flush")
def _render_written(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    """Render the Markdown of every new row, and of every changed field of an existing one."""
    for row in session.new:
        if isinstance(row, RenderedMarkdown):
            render_fields(row)
    for row in session.dirty:
        if isinstance(row, RenderedMarkdown):
            changed = _changed_fields(row)
            if changed or row.rendered_revision != RENDERER_REVISION:
                render_fields(row, changed)


def _rendered_values(cls: type[RenderedMarkdown], values: dict[str, Any]) -> dict[str, Any]:
    html = {name: str(render_markdown(values.get(name) or "")) for name in cls.markdown_fields}
    return {"rendered": html, "rendered_revision": RENDERER_REVISION}


@event.listens_for(Session, "do_orm_execute")
def _render_bulk_inserts(state: ORMExecuteState) -> Any:
    """Bulk inserts of dictionaries (`session.execute(insert(Model), rows)`) are rendered too."""
    mapper = state.bind_mapper
    if not state.is_insert or mapper is None or not issubclass(mapper.class_, RenderedMarkdown):
        return None
    cls = mapper.class_
    parameters = state.parameters
    if isinstance(parameters, list):
        return state.invoke_statement(params=[_rendered_values(cls, row) for row in parameters])
    if isinstance(parameters, dict) and parameters:
        return state.invoke_statement(params=_rendered_values(cls, parameters))
    return None


def markdown_models(base: type[DeclarativeBase]) -> list[type[RenderedMarkdown]]:
    """Every mapped model of `base` that stores rendered Markdown."""
    mappers: Iterable[Mapper[Any]] = base.registry.mappers
    found = [m.class_ for m in mappers if issubclass(m.class_, RenderedMarkdown)]
    return sorted(found, key=lambda cls: cls.__name__)


def render_stale(
    session: Session, base: type[DeclarativeBase], *, batch: int = RENDER_BATCH
) -> dict[str, int]:
    """(Re)render every row never rendered or rendered by an older revision; counts per model."""
    counts: dict[str, int] = {}
    for model in markdown_models(base):
        column = model.rendered_revision
        stale = or_(column.is_(None), column != RENDERER_REVISION)
        key = model.__mapper__.primary_key[0]  # type: ignore[attr-defined]
        done, last = 0, None
        while True:
            query = select(model).where(stale).order_by(key).limit(batch)
            if last is not None:
                query = query.where(key > last)
            rows = list(session.scalars(query))
            if not rows:
                break
            for row in rows:
                render_fields(row)
            session.flush()
            last = getattr(rows[-1], key.key)
            done += len(rows)
        counts[model.__name__] = done
    return counts
