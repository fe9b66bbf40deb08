"""Jinja2 rendering of pages and mail, with the caller's language bound into the context."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
import jinja2.runtime

from core.i18n import LOCALE_NAMES, Translator
from core.markdown import render_markdown
from core.submissions import new_key as new_submission_key

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"


@jinja2.pass_context
def _when(context: jinja2.runtime.Context, value: dt.datetime | None, year: bool = False) -> str:
    """`{{ ballot.closes_at|when }}`: a moment as people write it, in the page's language.

    `|when(year=true)` always writes the year (documents kept for good). A page that knows
    the request's clock passes `today` (its Mexico City date); others read the system clock.
    """
    format_when: Callable[..., str] = context["format_when"]
    return format_when(value, year=year, today=context.get("today"))


@functools.lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The one Jinja2 environment; templates are autoescaped and strict about undefined names."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=jinja2.select_autoescape(["html", "xml"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
        # Templates are read once per process, as the stored documents' revision assumes
        # (core.documents.template_revision): no stat of every file on every page.
        auto_reload=False,
    )
    env.globals["locale_names"] = LOCALE_NAMES
    env.globals["new_submission_key"] = new_submission_key
    env.filters["markdown"] = render_markdown
    env.filters["when"] = _when
    return env


def render_text(template: str, translator: Translator, **context: Any) -> str:
    """Render a template to a string in the given language (mail, PDF sources)."""
    return environment().get_template(template).render(**translator.as_dict(), **context)


def render_blocks(template: str, translator: Translator, **context: Any) -> dict[str, str]:
    """Render each top-level block of a template separately (a mail's subject, text and HTML)."""
    tmpl = environment().get_template(template)
    ctx = tmpl.new_context({**translator.as_dict(), **context})
    return {name: "".join(block(ctx)).strip() for name, block in tmpl.blocks.items()}
