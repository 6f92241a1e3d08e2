"""Restart persistence and encryption at rest.

The server is stopped with SIGTERM (exit 0 required) and started again on the same data dir;
everything a client saw before must be there after. No file under the data dir may hold the
plaintext zip or an environment variable value.
"""

from __future__ import annotations

import base64
import io
import os
import stat
import zipfile

import pytest
from botocore.exceptions import ClientError

from conftest import (
    code_sha256,
    create_active,
    create_kwargs,
    download,
    error_of,
    function_arn,
    handler_zip,
    make_zip,
    snapshot_functions,
    unique_name,
    wait_updated,
)


def full_get(client, name: str) -> dict:
    resp = client.get_function(FunctionName=name)
    resp.pop("ResponseMetadata")
    return resp


def test_function_survives_a_restart_with_identical_configuration_and_downloadable_code(server):
    client = server.lambda_client()
    name = unique_name("persist")
    zip_bytes = handler_zip(name)
    create_active(
        client,
        name,
        zip_bytes,
        Description="kept across restarts",
        MemorySize=256,
        Timeout=60,
        Environment={"Variables": {"KEEP": "me"}},
        Tags={"team": "lamina"},
    )
    before = full_get(client, name)
    old_endpoint = server.endpoint

    server.restart()
    client = server.lambda_client()
    after = full_get(client, name)

    assert after["Configuration"] == before["Configuration"]
    assert after["Tags"] == {"team": "lamina"}
    assert after["Configuration"]["CodeSha256"] == code_sha256(zip_bytes)
    location = after["Code"]["Location"]
    if server.endpoint != old_endpoint:
        assert old_endpoint not in location, "the download URL points at the running server"
    assert download(location) == zip_bytes
    assert [f["FunctionName"] for f in client.list_functions()["Functions"]] == [name]


def test_updated_code_and_configuration_survive_a_restart(server):
    client = server.lambda_client()
    name = unique_name()
    create_active(client, name, handler_zip("v1"))
    new_zip = handler_zip("v2")
    client.update_function_code(FunctionName=name, ZipFile=new_zip)
    wait_updated(client, name)
    client.update_function_configuration(FunctionName=name, Timeout=33, Environment={"Variables": {"VERSION": "2"}})
    wait_updated(client, name)
    before = full_get(client, name)

    server.restart()
    client = server.lambda_client()
    after = full_get(client, name)
    assert after["Configuration"] == before["Configuration"]
    assert after["Configuration"]["Timeout"] == 33
    assert download(after["Code"]["Location"]) == new_zip


def test_deleted_function_stays_deleted_after_a_restart(server):
    client = server.lambda_client()
    keep, gone = unique_name("keep"), unique_name("gone")
    create_active(client, keep)
    create_active(client, gone)
    client.delete_function(FunctionName=gone)

    server.restart()
    client = server.lambda_client()
    assert [f["FunctionName"] for f in client.list_functions()["Functions"]] == [keep]
    with pytest.raises(ClientError) as exc:
        client.get_function(FunctionName=gone)
    assert error_of(exc) == (404, "ResourceNotFoundException", f"Function not found: {function_arn(gone)}")


def test_many_functions_and_account_usage_survive_a_restart(server):
    client = server.lambda_client()
    zips = {unique_name(f"many{i}"): handler_zip(f"many{i}") for i in range(6)}
    for name, zip_bytes in zips.items():
        client.create_function(**create_kwargs(name, zip_bytes))
    for name in zips:
        client.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    before = snapshot_functions(client)
    usage = client.get_account_settings()["AccountUsage"]

    server.restart()
    client = server.lambda_client()
    assert snapshot_functions(client) == before
    assert (
        client.get_account_settings()["AccountUsage"]
        == usage
        == {
            "FunctionCount": 6,
            "TotalCodeSize": sum(len(z) for z in zips.values()),
        }
    )


def test_a_restarted_server_accepts_new_functions_and_updates(server):
    client = server.lambda_client()
    old = unique_name("old")
    create_active(client, old)
    server.restart()
    client = server.lambda_client()
    new = unique_name("new")
    create_active(client, new)
    resp = client.update_function_configuration(FunctionName=old, Description="after restart")
    assert resp["Description"] == "after restart"
    assert sorted(f["FunctionName"] for f in client.list_functions()["Functions"]) == sorted([old, new])


# --------------------------------------------------------------------------------------
# encryption at rest
# --------------------------------------------------------------------------------------


def _needles_for_zip(zip_bytes: bytes, entry_name: str) -> dict[str, bytes]:
    """Byte strings that only a plaintext copy of this zip (raw or base64) would contain.

    Windows of the zip container itself (headers with the random entry name, the central
    directory), not the extracted file contents: an extracted-code cache is a separate concern.
    """
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as zf:
        info = zf.getinfo(entry_name)
    header_end = info.header_offset + 30 + len(entry_name.encode())
    central = zip_bytes.rfind(b"PK\x01\x02")
    return {
        "the whole zip": zip_bytes,
        "the zip's local header for the random entry": zip_bytes[info.header_offset : header_end + 16],
        "the zip's central directory": zip_bytes[central:],
        "the zip as base64 (as uploaded)": base64.b64encode(zip_bytes)[:96],
    }


def _files_containing(server, needles: dict[str, bytes]) -> list[str]:
    hits = []
    for path in server.data_files():
        data = path.read_bytes()
        for what, needle in needles.items():
            if needle in data:
                hits.append(f"{path.relative_to(server.data_dir)} contains {what}")
    return hits


def test_code_and_environment_values_are_not_stored_in_plaintext(server):
    client = server.lambda_client()
    name = unique_name("secret")
    entry = f"payload_{os.urandom(8).hex()}.bin"
    # Stored (not deflated), so the zip's own bytes contain the random payload verbatim.
    zip_bytes = make_zip(
        {"index.py": "def handler(e, c):\n    return 1\n", entry: os.urandom(4096)}, compression=zipfile.ZIP_STORED
    )
    env_value = f"lamina-env-secret-{os.urandom(16).hex()}"
    env_name_value = f"second-secret-{os.urandom(16).hex()}"
    create_active(
        client, name, zip_bytes, Environment={"Variables": {"DB_PASSWORD": env_value, "API_TOKEN": env_name_value}}
    )
    update_value = f"updated-secret-{os.urandom(16).hex()}"
    client.update_function_configuration(FunctionName=name, Environment={"Variables": {"DB_PASSWORD": update_value}})
    wait_updated(client, name)

    needles = _needles_for_zip(zip_bytes, entry)
    for i, value in enumerate((env_value, env_name_value, update_value)):
        needles[f"environment value #{i + 1}"] = value.encode()

    assert server.data_files(), "the data dir holds the store"
    hits = _files_containing(server, needles)
    assert not hits, "plaintext at rest while running:\n" + "\n".join(hits)

    # Again after a clean shutdown (WAL checkpointed, caches flushed) and a restart.
    server.restart()
    hits = _files_containing(server, needles)
    assert not hits, "plaintext at rest after restart:\n" + "\n".join(hits)

    # ...and the server can still decrypt both.
    client = server.lambda_client()
    got = client.get_function(FunctionName=name)
    assert got["Configuration"]["Environment"] == {"Variables": {"DB_PASSWORD": update_value}}
    assert download(got["Code"]["Location"]) == zip_bytes


def test_key_files_in_the_data_dir_are_readable_by_the_owner_only(server):
    client = server.lambda_client()
    create_active(client, unique_name())
    key_files = [p for p in server.data_files() if "key" in p.name.lower()]
    if not key_files:
        pytest.skip(
            "no file named like a key in the data dir: "
            + ", ".join(str(p.relative_to(server.data_dir)) for p in server.data_files())
        )
    for path in key_files:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == 0o600, f"{path.relative_to(server.data_dir)} has mode {oct(mode)}"
