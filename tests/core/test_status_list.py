"""The Bitstring Status List: bits in, the same bits out, signed as the council's credential."""

from __future__ import annotations

import base64
import datetime as dt
import gzip

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.signing import CouncilKeys, verify_jwt
from core.status_list import (
    DEFAULT_SIZE,
    bit_is_set,
    credential_status,
    decode_status_list,
    encode_status_list,
    status_list_credential,
)

NOW = dt.datetime(2026, 3, 2, 17, 0, 30, 123456, tzinfo=dt.UTC)
SMALL = 1024


@given(st.sets(st.integers(min_value=0, max_value=SMALL - 1)))
def test_decoding_gives_back_exactly_the_bits_set(bits: set[int]) -> None:
    decoded = decode_status_list(encode_status_list(bits, size=SMALL))

    found = {i for i in range(SMALL) if decoded[i // 8] & (0x80 >> (i % 8))}
    assert found == bits
    assert len(decoded) == SMALL // 8


@given(st.sets(st.integers(min_value=0, max_value=DEFAULT_SIZE - 1), max_size=50))
def test_bit_is_set_reads_the_default_size_list(bits: set[int]) -> None:
    encoded = encode_status_list(bits)

    for index in bits:
        assert bit_is_set(encoded, index)
    for index in {0, 1, 7, 8, DEFAULT_SIZE - 1} - bits:
        assert not bit_is_set(encoded, index)


def test_bit_zero_is_the_most_significant_bit_of_the_first_byte() -> None:
    encoded = encode_status_list({0, 9}, size=16)

    assert encoded.startswith("u")
    assert "=" not in encoded
    raw = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=="))
    assert raw == bytes([0b1000_0000, 0b0100_0000])


def test_the_default_list_has_the_specifications_minimum_size() -> None:
    assert len(decode_status_list(encode_status_list(set()))) * 8 == 131072


def test_the_same_bits_always_encode_the_same() -> None:
    assert encode_status_list({3, 5}) == encode_status_list([5, 3])


@pytest.mark.parametrize("index", [-1, SMALL])
def test_an_index_outside_the_list_is_refused(index: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        encode_status_list({index}, size=SMALL)
    with pytest.raises(IndexError):
        bit_is_set(encode_status_list(set(), size=SMALL), index)


@pytest.mark.parametrize("encoded", ["u!!!!", "uAAAA", "u" + "A" * 10])
def test_a_list_that_is_not_one_is_a_value_error(encoded: str) -> None:
    with pytest.raises(ValueError, match="status list"):
        decode_status_list(encoded)


def test_a_list_that_expands_beyond_the_limit_is_refused() -> None:
    bomb = gzip.compress(b"\0" * (17 * 1024 * 1024))
    encoded = "u" + base64.urlsafe_b64encode(bomb).rstrip(b"=").decode()

    with pytest.raises(ValueError, match="too large"):
        decode_status_list(encoded)


def test_the_status_list_credential_is_signed_by_the_council(council_keys: CouncilKeys) -> None:
    encoded = encode_status_list({42})

    token = status_list_credential(
        council_keys,
        base_url="https://ceia.example.mx",
        purpose="suspension",
        encoded=encoded,
        now=NOW,
    )
    claims = verify_jwt(council_keys, token)

    assert claims["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert claims["@context"] == ["https://www.w3.org/ns/credentials/v2"]
    assert claims["id"] == "https://ceia.example.mx/credentials/status/suspension"
    assert claims["issuer"] == "https://ceia.example.mx/issuer"
    assert claims["validFrom"] == "2026-03-02T17:00:30Z"
    assert claims["credentialSubject"] == {
        "id": "https://ceia.example.mx/credentials/status/suspension#list",
        "type": "BitstringStatusList",
        "statusPurpose": "suspension",
        "encodedList": encoded,
    }
    assert bit_is_set(claims["credentialSubject"]["encodedList"], 42)


def test_a_credential_points_at_its_bit() -> None:
    entry = credential_status(base_url="https://ceia.example.mx/", purpose="revocation", index=7)

    assert entry == {
        "id": "https://ceia.example.mx/credentials/status/revocation#7",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "7",
        "statusListCredential": "https://ceia.example.mx/credentials/status/revocation",
    }


def test_an_unknown_purpose_is_refused(council_keys: CouncilKeys) -> None:
    with pytest.raises(ValueError, match="purpose"):
        status_list_credential(
            council_keys, base_url="https://x", purpose="message", encoded="u", now=NOW
        )
