"""The file store: every accepted type built here and a look-alike of each refused; size limits."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from core import storage
from core.errors import Invalid
from core.storage import CHUNK, FileStore, FileTooLarge, clean_filename, sniff_content_type

LIMIT = 10 * 1024 * 1024


def _zip(entries: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in entries.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def _zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _ooxml(part: str) -> bytes:
    return _zip(
        {"[Content_Types].xml": "<Types/>", "_rels/.rels": "<Relationships/>", part: "<x/>"}
    )


def _odf(mimetype: str) -> bytes:
    return _zip({"mimetype": mimetype, "content.xml": "<office:document-content/>"})


BINARY_TAIL = bytes(range(256)) * 4
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

ACCEPTED: dict[str, tuple[bytes, str]] = {
    "pdf": (b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n" + BINARY_TAIL, storage.PDF),
    "png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + BINARY_TAIL, storage.PNG),
    "jpeg": (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + BINARY_TAIL, storage.JPEG),
    "text": ("Política de datos.\nRevisión anual, sin excepción.\n".encode(), storage.TEXT),
    "latin-1 text": ("Señal de aviso, revisión\r\ncon acentos\r\n".encode("latin-1"), storage.TEXT),
    "text with tabs and form feeds": (b"Page one\tend\n\x0cPage two\n", storage.TEXT),
    "one-line text with commas": (b"uno, dos, tres\n", storage.TEXT),
    "csv": (b"criterio,cumple,notas\nTR-1,si,ninguna\nTR-2,no,pendiente\n", storage.CSV),
    "csv with semicolons": ("año;valor\n2025;1,5\n2026;2,0\n".encode(), storage.CSV),
    "csv with tabs": (b"codigo\tvalor\nA\t1\nB\t2\n", storage.CSV),
    "latin-1 csv": ("región,año\nBajío,2026\n".encode("latin-1"), storage.CSV),
    "docx": (_ooxml("word/document.xml"), storage.DOCX),
    "xlsx": (_ooxml("xl/workbook.xml"), storage.XLSX),
    "pptx": (_ooxml("ppt/presentation.xml"), storage.PPTX),
    "odt": (_odf(storage.ODT), storage.ODT),
    "ods": (_odf(storage.ODS + "\n"), storage.ODS),
    "legacy office": (OLE_MAGIC + b"\x00" * 504 + BINARY_TAIL, storage.OLE),
}

REFUSED: dict[str, bytes] = {
    "pdf look-alike": b"%PDF 1.7\n" + BINARY_TAIL,
    "png look-alike": b"\x89PNG\r\n\x1a\x00" + BINARY_TAIL,
    "jpeg look-alike": b"\xff\xd8\xfe\xe0" + BINARY_TAIL,
    "text with a NUL": b"Texto normal\x00 con un nulo\n",
    "text with an escape code": b"Texto \x1b[31mrojo\x1b[0m\n",
    "text with one control character": b"Texto con campana\x07\n",
    "html": b"Hola\n<!DOCTYPE html><p>hola</p>\n",
    "script": b"nota\n< script >alert(1)</script>\n",
    "svg": b"dibujo\n<svg xmlns='http://www.w3.org/2000/svg'/>\n",
    "xml": b"<?xml version='1.0'?><a/>\n",
    "docx look-alike without content types": _zip({"word/document.xml": "<x/>"}),
    "office zip of an unknown kind": _zip(
        {"[Content_Types].xml": "<Types/>", "misc/a.xml": "<x/>"}
    ),
    "odf look-alike (an EPUB)": _odf("application/epub+zip"),
    "odf presentation": _odf("application/vnd.oasis.opendocument.presentation"),
    "plain zip": _zip({"notes.txt": "hola"}),
    "broken zip": b"PK\x03\x04" + BINARY_TAIL,
    "legacy office look-alike": OLE_MAGIC[:7] + b"\x00" + BINARY_TAIL,
}


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    return FileStore(tmp_path / "store")


def _stored_files(store: FileStore) -> list[Path]:
    return [p for p in store.root.rglob("*") if p.is_file()] if store.root.exists() else []


@pytest.mark.parametrize("kind", list(ACCEPTED))
def test_each_accepted_type_is_typed_by_its_content(store: FileStore, kind: str) -> None:
    data, content_type = ACCEPTED[kind]
    stored = store.save(io.BytesIO(data), original_name=f"evidencia.{kind}", max_bytes=LIMIT)
    assert stored.content_type == content_type
    assert stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert store.path_of(stored.key).read_bytes() == data


@pytest.mark.parametrize("kind", list(REFUSED))
def test_each_look_alike_is_refused_and_nothing_is_kept(store: FileStore, kind: str) -> None:
    with pytest.raises(Invalid) as refused:
        store.save(io.BytesIO(REFUSED[kind]), original_name="evidencia.pdf", max_bytes=LIMIT)
    assert refused.value.message == (
        "This kind of file is not accepted. Send PDF, PNG, JPEG, plain text, "
        "CSV or office documents."
    )
    assert _stored_files(store) == []


def test_type_is_judged_from_the_bytes_not_the_name(tmp_path: Path) -> None:
    path = tmp_path / "informe.pdf"
    path.write_bytes(ACCEPTED["csv"][0])
    assert sniff_content_type(path) == storage.CSV


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (b"a,b,c\n1,2\n3,4,5\n", storage.TEXT),
        (b"solo\nuna\ncolumna\n", storage.TEXT),
        # Quoted commas: the sniffer finds a delimiter, but the rows do not agree...
        (b'a,b\n"c,d"\ne,f\n', storage.TEXT),
        # ...or every row is one quoted column.
        (b'"a,b"\n"c,d"\n"e,f"\n', storage.TEXT),
        (b'x,y\nz,"w,v"\nu,t\n', storage.CSV),
        # Only commas, semicolons and tabs separate columns.
        (b"AXB\nCXD\nEXF\n", storage.TEXT),
        # The first 20 non-blank lines decide.
        (b"a,b\n" * 20 + b"c\n", storage.CSV),
        (b"a,b\n" * 19 + b"c\n", storage.TEXT),
    ],
)
def test_csv_needs_two_or_more_columns_on_every_line(
    tmp_path: Path, data: bytes, content_type: str
) -> None:
    path = tmp_path / "tabla.csv"
    path.write_bytes(data)
    assert sniff_content_type(path) == content_type


def test_odf_type_ignores_stray_bytes_in_its_mimetype(store: FileStore) -> None:
    data = _zip_bytes({"mimetype": storage.ODT.encode() + b"\xff", "content.xml": b"<x/>"})
    stored = store.save(io.BytesIO(data), original_name="a.odt", max_bytes=LIMIT)
    assert stored.content_type == storage.ODT


def test_a_store_whose_folders_already_exist_takes_new_files(store: FileStore) -> None:
    for prefix in range(256):
        (store.root / f"{prefix:02x}").mkdir(parents=True)
    stored = store.save(io.BytesIO(b"hola\n"), original_name="a.txt", max_bytes=LIMIT)
    assert store.path_of(stored.key).read_bytes() == b"hola\n"


def test_deleting_twice_is_harmless(store: FileStore) -> None:
    stored = store.save(io.BytesIO(b"hola\n"), original_name="a.txt", max_bytes=LIMIT)
    store.delete(stored.key)
    store.delete(stored.key)
    assert not store.path_of(stored.key).exists()


def test_markup_after_the_first_kilobytes_is_still_found(tmp_path: Path) -> None:
    path = tmp_path / "nota.txt"
    path.write_bytes(b"linea de texto\n" * 1000 + b"<script>alert(1)</script>\n")
    assert sniff_content_type(path) is None


def test_file_exactly_at_the_limit_is_accepted(store: FileStore) -> None:
    data = b"x" * (CHUNK - 1) + b"\n"
    stored = store.save(io.BytesIO(data), original_name="a.txt", max_bytes=len(data))
    assert stored.size == CHUNK


def test_file_one_byte_over_the_limit_is_refused(store: FileStore) -> None:
    data = b"x" * CHUNK + b"\n"
    with pytest.raises(FileTooLarge) as refused:
        store.save(io.BytesIO(data), original_name="a.txt", max_bytes=CHUNK)
    assert refused.value.params == {"limit": "0.0625"}
    assert _stored_files(store) == []


def test_size_adds_up_across_chunks(store: FileStore) -> None:
    data = (b"linea de evidencia\n" * (3 * CHUNK // 19 + 2))[: 3 * CHUNK + 7]
    stored = store.save(io.BytesIO(data), original_name="a.txt", max_bytes=len(data))
    assert stored.size == len(data) == 3 * CHUNK + 7
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert store.path_of(stored.key).read_bytes() == data
    with pytest.raises(FileTooLarge) as refused:
        store.save(io.BytesIO(data), original_name="a.txt", max_bytes=CHUNK + 1)
    assert refused.value.params == {"limit": f"{(CHUNK + 1) / 1024 / 1024:g}"}
    assert len(_stored_files(store)) == 1


def test_limit_is_shown_in_megabytes(store: FileStore) -> None:
    with pytest.raises(FileTooLarge) as refused:
        store.save(io.BytesIO(b"x" * 100), original_name="a.txt", max_bytes=50)
    assert refused.value.message == "The file is larger than the limit of %(limit)s MB."
    two_mb = 2 * 1024 * 1024
    with pytest.raises(FileTooLarge) as refused:
        store.save(io.BytesIO(b"x" * (two_mb + 1)), original_name="a.txt", max_bytes=two_mb)
    assert refused.value.params == {"limit": "2"}


def test_empty_file_is_refused(store: FileStore) -> None:
    with pytest.raises(Invalid) as refused:
        store.save(io.BytesIO(b""), original_name="vacio.txt", max_bytes=LIMIT)
    assert refused.value.message == "The file is empty."
    assert _stored_files(store) == []


def test_stored_file_lives_under_a_random_key(store: FileStore) -> None:
    first = store.save(io.BytesIO(b"hola\n"), original_name="a.txt", max_bytes=LIMIT)
    second = store.save(io.BytesIO(b"hola\n"), original_name="a.txt", max_bytes=LIMIT)
    assert first.key != second.key
    assert store.path_of(first.key).parent.name == first.key.split("/")[0]
    assert store.path_of(first.key).is_relative_to(store.root)
    store.delete(first.key)
    assert not store.path_of(first.key).exists()
    assert store.path_of(second.key).exists()


@pytest.mark.parametrize(
    "key", ["../x/abcdefghijklmnopqrstuvwxyz", "ab/short", "zz/" + "a" * 30, ""]
)
def test_keys_not_made_by_the_store_are_refused(store: FileStore, key: str) -> None:
    with pytest.raises(ValueError, match=r"^not a store key$"):
        store.path_of(key)


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\ana\\informe.pdf", "informe.pdf"),
        ("..oculto.txt", "oculto.txt"),
        ("  nota\x00\x1b.txt  ", "nota.txt"),
        ("", "archivo"),
        ("...", "archivo"),
        ("a" * 250 + ".pdf", "a" * 200),
        ("Cafe\u0301.pdf", "Café.pdf"),
        ("Xochimilco.pdf", "Xochimilco.pdf"),
    ],
)
def test_display_names_lose_paths_and_control_characters(given: str, shown: str) -> None:
    assert clean_filename(given) == shown


def test_saved_file_keeps_a_clean_display_name(store: FileStore) -> None:
    stored = store.save(io.BytesIO(b"hola\n"), original_name="../secreto/nota.txt", max_bytes=LIMIT)
    assert stored.original_name == "nota.txt"
