import pytest

from server.api.multipart_related import MultipartError, split_related

HEADER = 'multipart/related; type="application/dicom"; boundary="b0undary"'


def body(*parts: bytes, preamble: bytes = b"", close: bool = True) -> bytes:
    text = preamble + b"".join(
        b"--b0undary\r\nContent-Type: application/dicom\r\n\r\n" + p + b"\r\n" for p in parts
    )
    return text + (b"--b0undary--\r\n" if close else b"")


def test_parts_keep_binary_content_with_crlf_and_dashes() -> None:
    tricky = b"\r\n--b0undar\r\n\r\n--" + bytes(range(256))
    parts = split_related(HEADER, body(tricky, b"second", preamble=b"ignored preamble\r\n"))
    assert [bytes(p.data) for p in parts] == [tricky, b"second"]
    assert {p.content_type for p in parts} == {"application/dicom"}


@pytest.mark.parametrize(
    ("header", "payload", "message"),
    [
        ("application/dicom", body(b"x"), "multipart/related"),
        ("multipart/related; type=application/dicom", body(b"x"), "boundary"),
        (HEADER, b"no boundary here", "no part boundary"),
        (HEADER, body(b"x", close=False), "closing boundary"),
        (HEADER, b"--b0undary\r\nContent-Type: application/dicom", "not terminated"),
    ],
)
def test_malformed_bodies_are_named(header: str, payload: bytes, message: str) -> None:
    with pytest.raises(MultipartError, match=message):
        split_related(header, payload)
