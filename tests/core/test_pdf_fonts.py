"""WeasyPrint subsets fonts with HarfBuzz: without libharfbuzz-subset PDFs are ten times slower."""

from __future__ import annotations

import io
import logging

import pytest
from pypdf import PdfReader
from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

from core.pdf import render_pdf

MISSING = (
    "WeasyPrint did not find libharfbuzz-subset (>= 4.1): install libharfbuzz-subset0 "
    "(bin/install does), or every PDF is rendered about ten times slower"
)


def test_weasyprint_loaded_harfbuzz_subset() -> None:
    assert harfbuzz_subset is not None, MISSING
    assert harfbuzz.hb_version_atleast(4, 1, 0), MISSING


def test_rendering_subsets_fonts_with_harfbuzz_not_fonttools(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        pdf = render_pdf("<html lang='es'><body><p>Ética, señal, corazón</p></body></html>")

    fonts = PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]["/Font"]
    assert fonts  # a font was embedded, so it was subset by one library or the other
    assert not [r for r in caplog.records if "fontTools instead of HarfBuzz" in r.getMessage()]
