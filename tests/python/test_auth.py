"""SigV4 authentication: unsigned, mis-signed, unknown-key, expired and tampered requests get 403
with an AWS error type, and never change anything. Download URLs are presigned (query form)."""

from __future__ import annotations

import base64
import json
import re
import stat
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest
from botocore.exceptions import ClientError

from conftest import (
    UUID4_RE,
    create_active,
    create_kwargs,
    download,
    error_of,
    function_arn,
    handler_zip,
    http_get,
    presign_url,
    send_raw,
    snapshot_functions,
    unique_name,
    utcnow,
)

WRONG_SIGNATURE = "The request signature we calculated does not match the signature you provided"
INVALID_TOKEN = "The security token included in the request is invalid"


def assert_forbidden(status: int, code: str, expected_code: str, message: str) -> None:
    assert (status, code) == (403, expected_code), f"HTTP {status} {code}: {message!r}"


# --------------------------------------------------------------------------------------
# unsigned
# --------------------------------------------------------------------------------------


def test_unsigned_request_is_rejected_with_missing_authentication_token(server):
    resp = http_get(server.url("/2015-03-31/functions"))
    assert resp.status == 403, resp.describe()
    assert resp.error_type == "MissingAuthenticationTokenException", resp.describe()
    assert UUID4_RE.match(resp.request_id or ""), resp.headers
    assert "missing authentication token" in resp.message().lower(), resp.describe()


def test_unsigned_create_function_is_rejected_and_creates_nothing(server, lambda_client):
    body = json.dumps(
        {
            "FunctionName": "sneaky",
            "Role": "arn:aws:iam::123456789012:role/r",
            "Runtime": "python3.12",
            "Handler": "index.handler",
            "Code": {"ZipFile": base64.b64encode(handler_zip()).decode()},
        }
    ).encode()
    resp = send_raw(server.endpoint, "POST", "/2015-03-31/functions", {"Content-Type": "application/json"}, body)
    assert resp.status == 403, resp.describe()
    assert resp.error_type == "MissingAuthenticationTokenException", resp.describe()
    assert lambda_client.list_functions()["Functions"] == []


def test_unsigned_delete_is_rejected_and_the_function_survives(server, lambda_client):
    name = unique_name()
    create_active(lambda_client, name)
    resp = http_get(server.url(f"/2015-03-31/functions/{name}"), method="DELETE")
    assert resp.status == 403, resp.describe()
    assert resp.error_type == "MissingAuthenticationTokenException", resp.describe()
    assert lambda_client.get_function(FunctionName=name)["Configuration"]["FunctionName"] == name


# --------------------------------------------------------------------------------------
# wrong secret / unknown key
# --------------------------------------------------------------------------------------


def test_wrong_secret_is_rejected_with_invalid_signature(server):
    bad = server.lambda_client(secret_access_key="definitely-not-the-secret")
    with pytest.raises(ClientError) as exc:
        bad.list_functions()
    status, code, message = error_of(exc)
    assert_forbidden(status, code, "InvalidSignatureException", message)
    assert WRONG_SIGNATURE in message, message
    assert UUID4_RE.match(exc.value.response["ResponseMetadata"]["RequestId"])


def test_unknown_access_key_is_rejected_as_unrecognized_client(server):
    stranger = server.lambda_client(access_key_id="AKIAUNKNOWNKEY000000", secret_access_key="whatever")
    with pytest.raises(ClientError) as exc:
        stranger.list_functions()
    status, code, message = error_of(exc)
    assert_forbidden(status, code, "UnrecognizedClientException", message)
    assert INVALID_TOKEN in message, message


@pytest.mark.parametrize("who", ["wrong_secret", "unknown_key"])
def test_rejected_mutations_change_nothing(server, lambda_client, who):
    name = unique_name()
    zip_bytes = handler_zip(name)
    create_active(lambda_client, name, zip_bytes)
    before = snapshot_functions(lambda_client)
    expected = "InvalidSignatureException" if who == "wrong_secret" else "UnrecognizedClientException"
    creds = (
        {"secret_access_key": "definitely-not-the-secret"}
        if who == "wrong_secret"
        else {"access_key_id": "AKIAUNKNOWNKEY000000", "secret_access_key": "whatever"}
    )
    bad = server.lambda_client(**creds)

    attempts = [
        lambda: bad.create_function(**create_kwargs(unique_name("intruder"))),
        lambda: bad.update_function_configuration(FunctionName=name, Timeout=900, Description="hacked"),
        lambda: bad.update_function_code(FunctionName=name, ZipFile=handler_zip("hacked")),
        lambda: bad.delete_function(FunctionName=name),
        lambda: bad.get_function(FunctionName=name),
    ]
    for attempt in attempts:
        with pytest.raises(ClientError) as exc:
            attempt()
        status, code, message = error_of(exc)
        assert_forbidden(status, code, expected, message)

    assert snapshot_functions(lambda_client) == before
    assert download(lambda_client.get_function(FunctionName=name)["Code"]["Location"]) == zip_bytes


# --------------------------------------------------------------------------------------
# tampering, scope and clock
# --------------------------------------------------------------------------------------


def test_body_changed_after_signing_is_rejected_and_changes_nothing(server, lambda_client):
    name = unique_name()
    create_active(lambda_client, name)
    before = snapshot_functions(lambda_client)
    path = f"/2015-03-31/functions/{name}/configuration"

    resp = server.signed("PUT", path, body={"Timeout": 5}, send_body=json.dumps({"Timeout": 900}).encode())
    assert resp.status == 403, resp.describe()
    assert resp.error_type == "InvalidSignatureException", resp.describe()
    assert snapshot_functions(lambda_client) == before


def test_hand_signed_request_is_accepted(server, lambda_client):
    """Baseline for the raw-request tests below: the same signer, untampered, works."""
    name = unique_name()
    create_active(lambda_client, name)
    resp = server.signed("GET", f"/2015-03-31/functions/{name}/configuration")
    assert resp.status == 200, resp.describe()
    assert resp.json()["FunctionArn"] == function_arn(name)


@pytest.mark.parametrize(
    "scope", [{"service": "iam"}, {"service": "s3"}, {"region": "eu-west-1"}], ids=["iam", "s3", "other_region"]
)
def test_signature_scoped_to_another_service_or_region_is_rejected(server, lambda_client, scope):
    name = unique_name()
    create_active(lambda_client, name)
    before = snapshot_functions(lambda_client)
    for method, path in (("GET", "/2015-03-31/functions"), ("DELETE", f"/2015-03-31/functions/{name}")):
        resp = server.signed(method, path, **scope)
        assert resp.status == 403, f"{method} {path} signed with {scope}: {resp.describe()}"
        assert resp.error_type == "InvalidSignatureException", resp.describe()
        assert "Credential should be scoped to" in resp.message(), resp.describe()
    assert snapshot_functions(lambda_client) == before


@pytest.mark.parametrize(
    "offset,expected",
    [(timedelta(minutes=-20), "Signature expired"), (timedelta(minutes=20), "Signature not yet current")],
    ids=["expired", "from_the_future"],
)
def test_request_signed_outside_the_five_minute_window_is_rejected(server, lambda_client, offset, expected):
    name = unique_name()
    create_active(lambda_client, name)
    before = snapshot_functions(lambda_client)

    resp = server.signed("DELETE", f"/2015-03-31/functions/{name}", at=utcnow() + offset)
    assert resp.status == 403, resp.describe()
    assert resp.error_type == "InvalidSignatureException", resp.describe()
    assert expected in resp.message(), resp.describe()
    assert snapshot_functions(lambda_client) == before


def test_request_signed_within_the_allowed_clock_skew_is_accepted(server):
    resp = server.signed("GET", "/2015-03-31/functions", at=utcnow() - timedelta(minutes=4))
    assert resp.status == 200, resp.describe()


# --------------------------------------------------------------------------------------
# presigned download URLs
# --------------------------------------------------------------------------------------


def _location_and_zip(lambda_client):
    name = unique_name()
    zip_bytes = handler_zip(name)
    create_active(lambda_client, name, zip_bytes)
    return lambda_client.get_function(FunctionName=name)["Code"]["Location"], zip_bytes


def _replace_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_code_location_is_refused_when_its_signature_is_tampered_with(lambda_client):
    location, _ = _location_and_zip(lambda_client)
    signature = dict(parse_qsl(urlsplit(location).query))["X-Amz-Signature"]
    flipped = "0" if signature[-1] != "0" else "1"
    resp = http_get(_replace_query(location, **{"X-Amz-Signature": signature[:-1] + flipped}))
    assert resp.status == 403, resp.describe()


def test_code_location_is_refused_for_a_different_path(lambda_client):
    location, _ = _location_and_zip(lambda_client)
    parts = urlsplit(location)
    path = parts.path
    tampered_path = path[:-1] + ("x" if path[-1] != "x" else "y")
    resp = http_get(urlunsplit(parts._replace(path=tampered_path)))
    assert resp.status == 403, resp.describe()


def test_code_location_without_its_signature_is_refused(lambda_client):
    location, _ = _location_and_zip(lambda_client)
    resp = http_get(urlunsplit(urlsplit(location)._replace(query="")))
    assert resp.status == 403, resp.describe()


def test_code_location_with_a_longer_expiry_than_signed_is_refused(lambda_client):
    location, _ = _location_and_zip(lambda_client)
    resp = http_get(_replace_query(location, **{"X-Amz-Expires": "604800"}))
    assert resp.status == 403, resp.describe()


def _resign(location: str, server, **presign_args) -> str:
    """Presign the Location's path again ourselves, with the server's own scope."""
    parts = urlsplit(location)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    access_key, _date, region, service, _ = query["X-Amz-Credential"].split("/")
    if access_key != server.access_key_id:
        pytest.skip("the server presigns download URLs with an internal key; cannot re-sign them here")
    rest = {k: v for k, v in query.items() if not k.startswith("X-Amz-")}
    base = urlunsplit(parts._replace(query=urlencode(rest)))
    return presign_url(
        base,
        access_key_id=server.access_key_id,
        secret_access_key=server.secret_access_key,
        region=region,
        service=service,
        **presign_args,
    )


def test_expired_presigned_code_url_is_refused_while_a_fresh_one_works(server, lambda_client):
    location, zip_bytes = _location_and_zip(lambda_client)
    fresh = _resign(location, server, expires=600)
    assert download(fresh) == zip_bytes, "baseline: a freshly presigned URL for the same path works"

    expired = _resign(location, server, expires=60, at=utcnow() - timedelta(hours=2))
    resp = http_get(expired)
    assert resp.status == 403, resp.describe()
    assert resp.body != zip_bytes


# --------------------------------------------------------------------------------------
# generated root credentials
# --------------------------------------------------------------------------------------

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _exported(server, variable: str) -> str:
    line = server.wait_for_stderr(re.compile(rf"export {variable}="))
    value = ANSI.sub("", line).split(f"export {variable}=", 1)[1].strip()
    return value.strip("'\"")


def test_server_without_configured_credentials_generates_a_private_key_pair_and_prints_exports(server_factory):
    srv = server_factory(credentials=None)
    access_key = _exported(srv, "AWS_ACCESS_KEY_ID")
    secret_key = _exported(srv, "AWS_SECRET_ACCESS_KEY")
    endpoint = _exported(srv, "AWS_ENDPOINT_URL")
    assert access_key and secret_key
    assert endpoint == srv.endpoint

    client = srv.lambda_client(access_key_id=access_key, secret_access_key=secret_key)
    client.create_function(**create_kwargs(unique_name()))
    assert len(client.list_functions()["Functions"]) == 1

    holders = [p for p in srv.data_files() if secret_key.encode() in p.read_bytes()]
    assert holders, "the generated secret is stored in the data dir"
    for path in holders:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == 0o600, f"{path} holds the root secret with mode {oct(mode)}"

    srv.restart()
    again = srv.lambda_client(access_key_id=access_key, secret_access_key=secret_key)
    assert len(again.list_functions()["Functions"]) == 1, "generated credentials survive a restart"
