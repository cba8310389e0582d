"""DICOMweb by hand: a STOW-RS request, multipart/related answers split into parts, the UIDs stored."""

import email.parser
import email.policy
import uuid
from email.message import Message

import httpx2 as httpx
from starlette.testclient import TestClient


def multipart(parts: list[bytes]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = b"".join(
        b"--" + boundary.encode() + b"\r\nContent-Type: application/dicom\r\n\r\n" + part + b"\r\n"
        for part in parts
    )
    return (
        body + b"--" + boundary.encode() + b"--\r\n",
        f'multipart/related; type="application/dicom"; boundary={boundary}',
    )


def _payload(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes), "a multipart/related part that is itself multipart"
    return payload


def split_multipart(content_type: str, body: bytes) -> list[bytes]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    return [_payload(part) for part in message.iter_parts()]


def stow(client: TestClient, headers: dict[str, str], parts: list[bytes], case_id: int | None = None):
    body, content_type = multipart(parts)
    query = f"?case={case_id}" if case_id else ""
    return client.post(
        f"/dicomweb/studies{query}", content=body, headers={**headers, "Content-Type": content_type}
    )


def uids(response_json: dict) -> list[str]:
    return [item["00081155"]["Value"][0] for item in response_json.get("00081199", {}).get("Value", [])]


def parts(response: httpx.Response) -> list[bytes]:
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {response.headers['content-type']}\r\n\r\n".encode() + response.content
    )
    return [_payload(part) for part in message.iter_parts()]
