"""The PDF of a guideline version: cover, contents, criteria, page numbers and draft marks."""

from __future__ import annotations

import datetime as dt
import functools
import io
import re
from typing import Any

import pytest
from pypdf import PdfReader

from guidelines.documents import VersionDoc
from guidelines.exports import render_version_pdf

GENERATED_ON = dt.date(2026, 11, 25)


def criterion(code: str, **overrides: Any) -> dict[str, Any]:
    """A criterion document whose Spanish and English texts name its code."""
    data: dict[str, Any] = {
        "code": code,
        "title": {"es": f"Criterio {code}", "en": f"Criterion {code}"},
        "requirement": {
            "es": f"El proveedor **debe** informar a las personas usuarias ({code}).",
            "en": f"The provider **must** inform users ({code}).",
        },
        "guidance": {"es": "- Aviso visible\n- Lenguaje claro", "en": ""},
        "evidence": {"es": "Capturas de pantalla del aviso.", "en": "Screenshots of the notice."},
        "risk_levels": ["limited", "high"],
    }
    data.update(overrides)
    return data


def document(**overrides: Any) -> VersionDoc:
    """Version 1.1 with two principles and five criteria; the guideline has no English title."""
    data: dict[str, Any] = {
        "guideline": {"slug": "etica-ia", "title": {"es": "Ética en sistemas de IA", "en": ""}},
        "number": "1.1",
        "effective_on": "2027-01-01",
        "summary": {
            "es": "Versión revisada tras la consulta.",
            "en": "Revised after consultation.",
        },
        "principles": [
            {
                "code": "TR",
                "title": {"es": "Transparencia", "en": "Transparency"},
                "description": {"es": "Saber cuándo se trata con una IA.", "en": ""},
                "criteria": [criterion("TR-1"), criterion("TR-2"), criterion("TR-3")],
            },
            {
                "code": "EQ",
                "title": {"es": "Equidad", "en": "Fairness"},
                "criteria": [criterion("EQ-1"), criterion("EQ-2", risk_levels=["high"])],
            },
        ],
    }
    data.update(overrides)
    return VersionDoc.model_validate(data)


@functools.cache
def rendered(locale: str, *, is_draft: bool) -> bytes:
    """The PDF of the sample document, rendered once per language and status for the module."""
    labels = {
        ("es_MX", True): "Borrador",
        ("es_MX", False): "Adoptada",
        ("en", True): "Draft",
        ("en", False): "Adopted",
    }
    return render_version_pdf(
        document(),
        locale=locale,
        status_label=labels[locale, is_draft],
        is_draft=is_draft,
        generated_on=GENERATED_ON,
    )


def pages_text(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def all_text(data: bytes) -> str:
    return "\n".join(pages_text(data))


@pytest.mark.parametrize("locale", ["es_MX", "en"])
@pytest.mark.parametrize("is_draft", [True, False])
def test_pdf_holds_version_number_and_every_criterion(locale: str, is_draft: bool) -> None:
    data = rendered(locale, is_draft=is_draft)
    assert data.startswith(b"%PDF-")
    pages = pages_text(data)
    assert len(pages) >= 2
    text = "\n".join(pages)
    assert "1.1" in pages[0]
    for code in ("TR", "EQ", "TR-1", "TR-2", "TR-3", "EQ-1", "EQ-2"):
        assert code in text


def test_spanish_draft_is_marked_borrador_on_every_page() -> None:
    pages = pages_text(rendered("es_MX", is_draft=True))
    assert all("BORRADOR" in page for page in pages)


def test_spanish_adopted_version_has_no_draft_mark() -> None:
    text = all_text(rendered("es_MX", is_draft=False))
    assert "BORRADOR" not in text
    assert "DRAFT" not in text


def test_english_draft_is_marked_draft_and_adopted_is_not() -> None:
    assert all("DRAFT" in page for page in pages_text(rendered("en", is_draft=True)))
    assert "DRAFT" not in all_text(rendered("en", is_draft=False))


def test_spanish_pages_are_numbered_in_spanish() -> None:
    pages = pages_text(rendered("es_MX", is_draft=False))
    total = len(pages)
    assert f"Página 2 de {total}" in pages[1]
    assert f"Página {total} de {total}" in pages[-1]
    assert "Página" not in pages[0]  # the cover carries no footer


def test_english_pages_are_numbered_in_english() -> None:
    pages = pages_text(rendered("en", is_draft=False))
    assert f"Page 2 of {len(pages)}" in pages[1]


def test_contents_give_the_page_of_each_criterion() -> None:
    pages = pages_text(rendered("es_MX", is_draft=False))
    contents = pages[1]
    for code in ("TR-1", "EQ-2"):
        match = re.search(rf"^{re.escape(code)} .*?(\d+)\s*$", contents, flags=re.MULTILINE)
        assert match is not None, contents
        page = pages[int(match.group(1)) - 1]
        assert f"Criterio {code}" in page


def test_text_follows_the_language_with_spanish_fallback() -> None:
    english = all_text(rendered("en", is_draft=False))
    assert "Transparency" in english
    assert "The provider must inform users (TR-1)." in english
    assert "Ética en sistemas de IA" in english  # no English title: the Spanish one
    spanish = all_text(rendered("es_MX", is_draft=False))
    assert "Transparencia" in spanish
    assert "Transparency" not in spanish


def test_markdown_is_rendered_not_printed() -> None:
    text = all_text(rendered("es_MX", is_draft=False))
    assert "El proveedor debe informar a las personas usuarias (TR-1)." in text
    assert "**" not in text
    assert "Aviso visible" in text
