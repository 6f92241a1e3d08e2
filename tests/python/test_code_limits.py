"""Hostile and oversized code: zips whose entries escape the code directory, zips over 50 MB
zipped or 250 MB unzipped (even when their headers understate it), and request bodies over
70167211 bytes, refused with AWS's status, error type and message, changing nothing.
"""

from __future__ import annotations

import base64
import io
import os
import zipfile

import pytest
from botocore.exceptions import ClientError

from conftest import (
    INVALID_ZIP,
    code_sha256,
    create_active,
    create_kwargs,
    error_of,
    handler_zip,
    make_symlink_zip,
    make_zip,
    send_raw,
    sign_request,
    unique_name,
)

IPV = "InvalidParameterValueException"


# ---- hostile zips ---------------------------------------------------------------------------

HOSTILE_ZIPS = {
    "parent_directory_entry": ("../evil.py", lambda: make_zip({"index.py": "x = 1\n", "../evil.py": "pwned\n"})),
    "nested_parent_directory_entry": (
        "a/../../evil.py",
        lambda: make_zip({"index.py": "x = 1\n", "a/../../evil.py": "pwned\n"}),
    ),
    "absolute_path_entry": ("/etc/evil.py", lambda: make_zip({"index.py": "x = 1\n", "/etc/evil.py": "pwned\n"})),
    "symlink_escaping_upwards": ("link", lambda: make_symlink_zip("link", "../../../etc/passwd", {"index.py": "x\n"})),
    "symlink_to_absolute_path": ("link", lambda: make_symlink_zip("link", "/etc/passwd", {"index.py": "x\n"})),
}


@pytest.mark.parametrize("kind", list(HOSTILE_ZIPS))
def test_zip_with_entries_escaping_the_code_directory_is_rejected(server, kind: str):
    entry, build = HOSTILE_ZIPS[kind]
    client = server.lambda_client()
    name = unique_name("evil")
    with pytest.raises(ClientError) as exc:
        client.create_function(**create_kwargs(name, build()))
    status, code, message = error_of(exc)
    assert (status, code) == (400, IPV), message
    assert "Could not unzip uploaded file" in message or entry in message, message
    assert client.list_functions()["Functions"] == []


def test_zip_with_escaping_entries_is_rejected_on_update_and_keeps_the_old_code(lambda_client):
    name = unique_name()
    good = handler_zip("good")
    create_active(lambda_client, name, good)
    with pytest.raises(ClientError) as exc:
        lambda_client.update_function_code(FunctionName=name, ZipFile=make_zip({"../evil.py": "pwned\n"}))
    assert error_of(exc)[:2] == (400, IPV)
    assert lambda_client.get_function(FunctionName=name)["Configuration"]["CodeSha256"] == code_sha256(good)


# ---- size limits ----------------------------------------------------------------------------

ZIPPED_LIMIT = 52428800
UNZIPPED_LIMIT = 262144000
REQUEST_LIMIT = 70167211


def zeros_zip(sizes: list[int]) -> bytes:
    """A small deflated zip whose entries inflate to `sizes` bytes of zeros."""
    buf = io.BytesIO()
    chunk = bytes(1 << 20)
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for i, size in enumerate(sizes):
            info = zipfile.ZipInfo(f"blob{i}.bin", date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with zf.open(info, "w") as out:
                remaining = size
                while remaining:
                    n = min(remaining, len(chunk))
                    out.write(chunk[:n])
                    remaining -= n
    return buf.getvalue()


def lie_about_uncompressed_size(data: bytes, claimed: int) -> bytes:
    """Patch a one-entry zip so both headers claim `claimed` uncompressed bytes."""
    patched = bytearray(data)
    assert patched[:4] == b"PK\x03\x04"
    patched[22:26] = claimed.to_bytes(4, "little")  # local header: uncompressed size
    central = patched.find(b"PK\x01\x02")
    assert central > 0
    patched[central + 24 : central + 28] = claimed.to_bytes(4, "little")  # central directory
    return bytes(patched)


def test_zip_larger_than_50_mb_is_rejected_with_413(lambda_client):
    big = make_zip({"index.py": "x = 1\n", "blob.bin": os.urandom(ZIPPED_LIMIT)}, compression=zipfile.ZIP_STORED)
    assert ZIPPED_LIMIT < len(big) and len(base64.b64encode(big)) + 500 < REQUEST_LIMIT
    with pytest.raises(ClientError) as exc:
        lambda_client.create_function(**create_kwargs(unique_name("big"), big))
    assert error_of(exc) == (413, "RequestEntityTooLargeException", "Zipped size must be smaller than 52428800 bytes")
    assert lambda_client.list_functions()["Functions"] == []


@pytest.mark.parametrize(
    "sizes", [[UNZIPPED_LIMIT + 1], [100_000_000, 100_000_000, 62_144_001]], ids=["one_entry", "entries_add_up"]
)
def test_zip_inflating_beyond_250_mb_is_rejected(lambda_client, sizes: list[int]):
    bomb = zeros_zip(sizes)
    with pytest.raises(ClientError) as exc:
        lambda_client.create_function(**create_kwargs(unique_name("bomb"), bomb))
    assert error_of(exc) == (400, IPV, "Unzipped size must be smaller than 262144000 bytes")
    assert lambda_client.list_functions()["Functions"] == []


def test_zip_whose_headers_understate_its_size_is_still_stopped_at_250_mb(lambda_client):
    bomb = lie_about_uncompressed_size(zeros_zip([300_000_000]), claimed=1000)
    with pytest.raises(ClientError) as exc:
        lambda_client.create_function(**create_kwargs(unique_name("liar"), bomb))
    status, code, message = error_of(exc)
    assert (status, code) == (400, IPV), message
    assert message in ("Unzipped size must be smaller than 262144000 bytes", INVALID_ZIP)
    assert lambda_client.list_functions()["Functions"] == []


@pytest.mark.parametrize(
    "method,path,operation",
    [
        ("POST", "/2015-03-31/functions", "CreateFunction"),
        ("PUT", "/2015-03-31/functions/{name}/code", "UpdateFunctionCode"),
    ],
)
def test_request_body_over_70167211_bytes_is_rejected_with_413_before_it_is_read(server, method, path, operation):
    """Only the headers are sent: a server that waits for the body times out this test."""
    client = server.lambda_client()
    name = unique_name()
    create_active(client, name)
    declared = REQUEST_LIMIT + 1
    signed = sign_request(
        method,
        server.url(path.format(name=name)),
        body=b"\0" * declared,
        headers={"Content-Type": "application/json"},
        access_key_id=server.access_key_id,
        secret_access_key=server.secret_access_key,
    )
    signed["Content-Length"] = str(declared)
    resp = send_raw(server.endpoint, method, path.format(name=name), signed, b"", timeout=10)
    assert resp.status == 413, resp.describe()
    assert resp.error_type == "RequestEntityTooLargeException", resp.describe()
    if operation == "CreateFunction":
        assert resp.message() == "Request must be smaller than 70167211 bytes for the CreateFunction operation"
        assert "Message" in (resp.json() or {}), "RequestEntityTooLargeException uses the capitalised Message key"
    else:
        assert resp.message().startswith("Request must be smaller than 70167211 bytes"), resp.describe()
    assert [f["FunctionName"] for f in client.list_functions()["Functions"]] == [name]
