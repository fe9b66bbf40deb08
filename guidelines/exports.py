"""Print exports of a guideline version: the A4 PDF in Spanish or English."""

from __future__ import annotations

import datetime as dt
import re

from markupsafe import Markup

from core.i18n import Translator, translator
from core.pdf import render_pdf
from core.templating import render_text
from guidelines.documents import VersionDoc
from guidelines.service import RISK_LABELS

TEMPLATE = "guidelines/version.pdf.html"

_PLACEHOLDER = re.compile(r"\{(page|pages)\}")
_CSS_UNSAFE = re.compile(r'[\\"<>\n\r\f]')


def _css_string(text: str) -> Markup:
    """A CSS string literal that cannot close the string or the <style> element holding it."""
    # Markup because HTML escaping would corrupt the CSS: quotes and <> are CSS-escaped instead.
    return Markup('"' + _CSS_UNSAFE.sub(lambda m: f"\\{ord(m.group()):x} ", text) + '"')


def _css_counter_content(tr: Translator) -> Markup:
    """The footer's `content` value: "Página " counter(page) " de " counter(pages), translated."""
    words = tr.gettext("Page %(page)s of %(pages)s", page="{page}", pages="{pages}")
    parts: list[Markup] = []
    for index, piece in enumerate(_PLACEHOLDER.split(words)):
        if index % 2:  # the split keeps each placeholder's name at the odd positions
            parts.append(Markup(f"counter({piece})"))
        elif piece:
            parts.append(_css_string(piece))
    return Markup(" ").join(parts)


def render_version_pdf(
    version_doc: VersionDoc,
    *,
    locale: str,
    status_label: str,
    is_draft: bool,
    generated_on: dt.date,
) -> bytes:
    """The version as an A4 PDF (cover, contents, criteria); drafts are marked on every page."""
    tr = translator(locale)
    title = tr.pick(version_doc.guideline.title.es, version_doc.guideline.title.en)
    version_label = tr.gettext("Version %(number)s", number=version_doc.number)
    html = render_text(
        TEMPLATE,
        tr,
        doc=version_doc,
        html_lang=tr.html_lang,
        title=title,
        version_label=version_label,
        status_label=status_label,
        is_draft=is_draft,
        generated_on=generated_on,
        risk_labels=RISK_LABELS,
        css_page_counter=_css_counter_content(tr),
        css_running_title=_css_string(title),
        css_running_version=_css_string(version_label),
    )
    return render_pdf(html)
