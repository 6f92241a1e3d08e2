"""Function control-plane lifecycle through boto3 and the AWS CLI, against the real binary.

Shapes follow ../shared/spec/lambda-api.md section 4 (LocalStack snapshots recorded against AWS).
"""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from botocore.exceptions import ClientError

from conftest import (
    ACCOUNT_ID,
    HANDLER,
    LISTENING_RE,
    PYTHON_HANDLER,
    REGION,
    ROLE_ARN,
    RUNTIME,
    UUID4_RE,
    AwsCliError,
    code_sha256,
    create_active,
    create_kwargs,
    download,
    error_of,
    function_arn,
    handler_zip,
    make_zip,
    unique_name,
    wait_active,
    wait_updated,
)

# Keys of the FunctionConfiguration that CreateFunction returns for a function created with only
# name/role/zip/runtime/handler (spec section 4).
CREATE_KEYS = {
    "Architectures",
    "CodeSha256",
    "CodeSize",
    "Description",
    "EphemeralStorage",
    "FunctionArn",
    "FunctionName",
    "Handler",
    "LastModified",
    "LoggingConfig",
    "MemorySize",
    "PackageType",
    "RevisionId",
    "Role",
    "Runtime",
    "RuntimeVersionConfig",
    "SnapStart",
    "State",
    "StateReason",
    "StateReasonCode",
    "Timeout",
    "TracingConfig",
    "Version",
}
# Once Active, the state reason disappears and LastUpdateStatus appears.
ACTIVE_KEYS = (CREATE_KEYS - {"StateReason", "StateReasonCode"}) | {"LastUpdateStatus"}
# An update response is Active with the update in progress (and its reason).
UPDATE_RESPONSE_KEYS = ACTIVE_KEYS | {"LastUpdateStatusReason", "LastUpdateStatusReasonCode"}
# Default ListFunctions omits State*, LastUpdateStatus* and RuntimeVersionConfig.
LIST_KEYS = CREATE_KEYS - {"State", "StateReason", "StateReasonCode", "RuntimeVersionConfig"}

LAST_MODIFIED_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0000$")
RUNTIME_VERSION_ARN_RE = re.compile(rf"^arn:aws:lambda:{REGION}::runtime:[0-9a-f]{{64}}$")


def body_keys(response: dict) -> set[str]:
    return set(response) - {"ResponseMetadata"}


def status_of(response: dict) -> int:
    return response["ResponseMetadata"]["HTTPStatusCode"]


# --------------------------------------------------------------------------------------
# server process contract
# --------------------------------------------------------------------------------------


def test_server_prints_exactly_one_listening_line_on_stdout_and_exits_zero_on_sigterm(server):
    server.lambda_client().list_functions()
    server.stop_cleanly()
    assert len(server.stdout_lines) == 1, server.stdout_lines
    assert LISTENING_RE.match(server.stdout_lines[0]), server.stdout_lines
    assert server.stdout_lines[0] == f"listening on http://127.0.0.1:{server.port}"


def test_every_response_carries_a_lowercase_uuid4_request_id(server, lambda_client):
    ok = lambda_client.list_functions()
    assert UUID4_RE.match(ok["ResponseMetadata"]["RequestId"]), ok["ResponseMetadata"]
    with pytest.raises(ClientError) as exc:
        lambda_client.get_function(FunctionName="does-not-exist")
    rid = exc.value.response["ResponseMetadata"]["RequestId"]
    assert UUID4_RE.match(rid), exc.value.response["ResponseMetadata"]
    assert rid != ok["ResponseMetadata"]["RequestId"]


def test_region_and_account_flags_appear_in_every_arn(server_factory):
    srv = server_factory(region="eu-central-1", account_id="111122223333")
    client = srv.lambda_client()
    name = unique_name()
    resp = client.create_function(**create_kwargs(name))
    assert resp["FunctionArn"] == f"arn:aws:lambda:eu-central-1:111122223333:function:{name}"
    assert resp["RuntimeVersionConfig"]["RuntimeVersionArn"].startswith("arn:aws:lambda:eu-central-1::runtime:")
    wait_active(client, name)
    got = client.get_function(FunctionName=f"arn:aws:lambda:eu-central-1:111122223333:function:{name}")
    assert got["Configuration"]["FunctionName"] == name
    with pytest.raises(ClientError) as exc:
        client.get_function(FunctionName=f"arn:aws:lambda:us-east-1:111122223333:function:{name}")
    assert error_of(exc) == (
        404,
        "ResourceNotFoundException",
        "Functions from 'us-east-1' are not reachable in this region ('eu-central-1')",
    )
    with pytest.raises(ClientError) as exc:
        client.get_function(FunctionName="nope")
    assert error_of(exc)[2] == "Function not found: arn:aws:lambda:eu-central-1:111122223333:function:nope"


# --------------------------------------------------------------------------------------
# CreateFunction / GetFunction / GetFunctionConfiguration
# --------------------------------------------------------------------------------------


def test_create_function_returns_201_and_a_pending_configuration_with_aws_defaults(lambda_client):
    name = unique_name()
    zip_bytes = handler_zip(name)
    resp = lambda_client.create_function(**create_kwargs(name, zip_bytes))

    assert status_of(resp) == 201
    assert body_keys(resp) == CREATE_KEYS
    assert resp["FunctionName"] == name
    assert resp["FunctionArn"] == f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name}"
    assert resp["Runtime"] == RUNTIME
    assert resp["Role"] == ROLE_ARN
    assert resp["Handler"] == HANDLER
    assert resp["CodeSha256"] == code_sha256(zip_bytes)
    assert resp["CodeSize"] == len(zip_bytes)
    assert resp["Description"] == ""
    assert resp["Timeout"] == 3
    assert resp["MemorySize"] == 128
    assert resp["Architectures"] == ["x86_64"]
    assert resp["EphemeralStorage"] == {"Size": 512}
    assert resp["PackageType"] == "Zip"
    assert resp["Version"] == "$LATEST"
    assert resp["TracingConfig"] == {"Mode": "PassThrough"}
    assert resp["SnapStart"] == {"ApplyOn": "None", "OptimizationStatus": "Off"}
    assert resp["LoggingConfig"] == {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{name}"}
    assert RUNTIME_VERSION_ARN_RE.match(resp["RuntimeVersionConfig"]["RuntimeVersionArn"]), resp
    assert resp["State"] == "Pending"
    assert resp["StateReason"] == "The function is being created."
    assert resp["StateReasonCode"] == "Creating"
    assert UUID4_RE.match(resp["RevisionId"]), resp["RevisionId"]
    assert LAST_MODIFIED_RE.match(resp["LastModified"]), resp["LastModified"]


def test_function_becomes_active_and_get_function_returns_configuration_and_code(server, lambda_client):
    name = unique_name()
    zip_bytes = handler_zip(name)
    lambda_client.create_function(**create_kwargs(name, zip_bytes))
    wait_active(lambda_client, name)

    resp = lambda_client.get_function(FunctionName=name)
    assert status_of(resp) == 200
    assert body_keys(resp) == {"Configuration", "Code"}, "Tags only appear when the function has tags"
    config = resp["Configuration"]
    assert set(config) == ACTIVE_KEYS
    assert config["State"] == "Active"
    assert config["LastUpdateStatus"] == "Successful"
    assert config["CodeSha256"] == code_sha256(zip_bytes)
    assert config["CodeSize"] == len(zip_bytes)
    assert set(resp["Code"]) == {"RepositoryType", "Location"}
    assert resp["Code"]["RepositoryType"] == "S3"


def test_code_location_is_a_presigned_url_on_the_server_that_downloads_the_uploaded_zip(server, lambda_client):
    name = unique_name()
    zip_bytes = handler_zip(name)
    create_active(lambda_client, name, zip_bytes)

    location = lambda_client.get_function(FunctionName=name)["Code"]["Location"]
    parts = urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}" == server.endpoint, location
    assert "X-Amz-Signature=" in parts.query, f"not a SigV4 presigned URL: {location}"
    assert download(location) == zip_bytes


def test_get_function_configuration_returns_the_same_configuration_as_get_function(lambda_client):
    name = unique_name()
    create_active(lambda_client, name, Description="same everywhere", MemorySize=256, Timeout=10)

    full = lambda_client.get_function(FunctionName=name)["Configuration"]
    config = lambda_client.get_function_configuration(FunctionName=name)
    assert status_of(config) == 200
    config.pop("ResponseMetadata")
    assert config == full


def test_function_is_addressable_by_name_partial_arn_and_full_arn(lambda_client):
    name = unique_name()
    create_active(lambda_client, name)
    expected_arn = function_arn(name)

    for ref in (name, f"{ACCOUNT_ID}:function:{name}", expected_arn):
        config = lambda_client.get_function_configuration(FunctionName=ref)
        assert config["FunctionName"] == name, ref
        assert config["FunctionArn"] == expected_arn, ref
        assert lambda_client.get_function(FunctionName=ref)["Configuration"]["FunctionArn"] == expected_arn


def test_latest_qualifier_returns_the_qualified_arn(lambda_client):
    name = unique_name()
    create_active(lambda_client, name)

    by_param = lambda_client.get_function_configuration(FunctionName=name, Qualifier="$LATEST")
    assert by_param["FunctionArn"] == function_arn(name, "$LATEST")
    by_name = lambda_client.get_function(FunctionName=f"{name}:$LATEST")
    assert by_name["Configuration"]["FunctionArn"] == function_arn(name, "$LATEST")
    assert by_name["Configuration"]["Version"] == "$LATEST"


def test_function_can_be_created_with_a_full_arn_as_its_name(lambda_client):
    name = unique_name()
    resp = lambda_client.create_function(**create_kwargs(function_arn(name)))
    assert resp["FunctionName"] == name
    assert resp["FunctionArn"] == function_arn(name)
    wait_active(lambda_client, name)


def test_create_function_keeps_every_optional_setting(lambda_client):
    name = unique_name()
    resp = lambda_client.create_function(
        **create_kwargs(
            name,
            Description="a described function",
            Timeout=900,
            MemorySize=3008,
            Architectures=["arm64"],
            EphemeralStorage={"Size": 10240},
            Environment={"Variables": {"GREETING": "hello", "EMPTY": ""}},
            Tags={"team": "lamina", "cost-center": "42"},
        )
    )
    assert resp["Description"] == "a described function"
    assert resp["Timeout"] == 900
    assert resp["MemorySize"] == 3008
    assert resp["Architectures"] == ["arm64"]
    assert resp["EphemeralStorage"] == {"Size": 10240}
    assert resp["Environment"] == {"Variables": {"GREETING": "hello", "EMPTY": ""}}
    assert "Tags" not in resp
    wait_active(lambda_client, name)

    got = lambda_client.get_function(FunctionName=name)
    assert got["Tags"] == {"team": "lamina", "cost-center": "42"}
    config = got["Configuration"]
    assert set(config) == ACTIVE_KEYS | {"Environment"}
    for key in ("Description", "Timeout", "MemorySize", "Architectures", "EphemeralStorage", "Environment"):
        assert config[key] == resp[key], key


def test_empty_environment_is_returned_as_empty_variables(lambda_client):
    name = unique_name()
    resp = lambda_client.create_function(**create_kwargs(name, Environment={"Variables": {}}))
    assert resp["Environment"] == {"Variables": {}}
    wait_active(lambda_client, name)
    assert lambda_client.get_function(FunctionName=name)["Configuration"]["Environment"] == {"Variables": {}}


def test_environment_of_exactly_4096_bytes_is_accepted(lambda_client):
    # {"BIG":"<v>"} measured as compact JSON: 10 bytes of framing + the value.
    value = "x" * (4096 - len('{"BIG":""}'))
    name = unique_name()
    resp = lambda_client.create_function(**create_kwargs(name, Environment={"Variables": {"BIG": value}}))
    assert resp["Environment"]["Variables"]["BIG"] == value


def test_environment_size_counts_utf8_bytes_so_4096_bytes_of_multibyte_text_is_accepted(lambda_client):
    framing = len('{"UTF":""}')
    value = "é" * ((4096 - framing) // 2)  # 2 bytes each
    assert len(('{"UTF":"%s"}' % value).encode()) == 4096
    name = unique_name()
    resp = lambda_client.create_function(**create_kwargs(name, Environment={"Variables": {"UTF": value}}))
    assert resp["Environment"]["Variables"]["UTF"] == value


# --------------------------------------------------------------------------------------
# ListFunctions
# --------------------------------------------------------------------------------------


def test_list_functions_on_a_fresh_server_is_empty(lambda_client):
    resp = lambda_client.list_functions()
    assert status_of(resp) == 200
    assert resp["Functions"] == []
    assert "NextMarker" not in resp


def test_list_functions_returns_unqualified_entries_without_state_fields(lambda_client):
    name = unique_name()
    zip_bytes = handler_zip(name)
    create_active(lambda_client, name, zip_bytes)

    functions = lambda_client.list_functions()["Functions"]
    assert len(functions) == 1
    entry = functions[0]
    assert set(entry) == LIST_KEYS
    assert entry["FunctionArn"] == function_arn(name)
    assert entry["CodeSha256"] == code_sha256(zip_bytes)
    assert entry["Version"] == "$LATEST"


def test_list_functions_paginates_with_marker_and_max_items(lambda_client):
    names = sorted(unique_name(f"page{i}") for i in range(5))
    for name in names:
        lambda_client.create_function(**create_kwargs(name))

    first = lambda_client.list_functions(MaxItems=2)
    assert len(first["Functions"]) == 2
    assert first.get("NextMarker"), first

    pages = list(lambda_client.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": 2}))
    sizes = [len(page["Functions"]) for page in pages]
    assert sizes == [2, 2, 1], sizes
    assert all(page.get("NextMarker") for page in pages[:-1])
    assert "NextMarker" not in pages[-1]
    listed = [f["FunctionName"] for page in pages for f in page["Functions"]]
    assert sorted(listed) == names, "every function exactly once"

    everything = lambda_client.list_functions(MaxItems=50)
    assert len(everything["Functions"]) == 5
    assert "NextMarker" not in everything


def test_list_functions_is_served_with_and_without_trailing_slash(server, lambda_client):
    lambda_client.create_function(**create_kwargs(unique_name()))
    for path in ("/2015-03-31/functions", "/2015-03-31/functions/"):
        resp = server.signed("GET", path)
        assert resp.status == 200, f"GET {path}: {resp.describe()}"
        assert len(resp.json()["Functions"]) == 1
        assert UUID4_RE.match(resp.request_id or ""), resp.headers


# --------------------------------------------------------------------------------------
# UpdateFunctionCode / UpdateFunctionConfiguration
# --------------------------------------------------------------------------------------


def test_update_function_code_goes_in_progress_then_successful_and_serves_the_new_zip(lambda_client):
    name = unique_name()
    old_zip = handler_zip(name)
    create_active(lambda_client, name, old_zip)
    before = lambda_client.get_function(FunctionName=name)["Configuration"]

    new_zip = make_zip({"index.py": "def handler(event, context):\n    return {'v': 2}\n", "lib/util.py": "X = 1\n"})
    resp = lambda_client.update_function_code(FunctionName=name, ZipFile=new_zip)
    assert status_of(resp) == 200
    assert body_keys(resp) == UPDATE_RESPONSE_KEYS
    assert resp["CodeSha256"] == code_sha256(new_zip)
    assert resp["CodeSize"] == len(new_zip)
    assert resp["State"] == "Active"
    assert resp["LastUpdateStatus"] == "InProgress"
    assert resp["LastUpdateStatusReason"] == "The function is being created."
    assert resp["LastUpdateStatusReasonCode"] == "Creating"
    assert resp["RevisionId"] != before["RevisionId"]

    wait_updated(lambda_client, name)
    got = lambda_client.get_function(FunctionName=name)
    assert got["Configuration"]["LastUpdateStatus"] == "Successful"
    assert got["Configuration"]["CodeSha256"] == code_sha256(new_zip)
    assert download(got["Code"]["Location"]) == new_zip


def test_update_function_configuration_applies_every_change(lambda_client):
    name = unique_name()
    create_active(lambda_client, name)
    before = lambda_client.get_function(FunctionName=name)["Configuration"]

    new_role = f"arn:aws:iam::{ACCOUNT_ID}:role/service-role/other"
    resp = lambda_client.update_function_configuration(
        FunctionName=name,
        Description="updated",
        Timeout=30,
        MemorySize=512,
        Handler="app.main",
        Runtime="python3.11",
        Role=new_role,
        EphemeralStorage={"Size": 1024},
        Environment={"Variables": {"MODE": "prod"}},
    )
    assert status_of(resp) == 200
    assert body_keys(resp) == UPDATE_RESPONSE_KEYS | {"Environment"}
    assert resp["LastUpdateStatus"] == "InProgress"
    assert resp["RevisionId"] != before["RevisionId"]
    assert resp["CodeSha256"] == before["CodeSha256"]

    wait_updated(lambda_client, name)
    config = lambda_client.get_function_configuration(FunctionName=name)
    assert config["LastUpdateStatus"] == "Successful"
    assert config["Description"] == "updated"
    assert config["Timeout"] == 30
    assert config["MemorySize"] == 512
    assert config["Handler"] == "app.main"
    assert config["Runtime"] == "python3.11"
    assert config["Role"] == new_role
    assert config["EphemeralStorage"] == {"Size": 1024}
    assert config["Environment"] == {"Variables": {"MODE": "prod"}}


def test_update_with_the_current_revision_id_succeeds(lambda_client):
    name = unique_name()
    create_active(lambda_client, name)
    current = lambda_client.get_function(FunctionName=name)["Configuration"]["RevisionId"]

    resp = lambda_client.update_function_configuration(FunctionName=name, Timeout=7, RevisionId=current)
    assert resp["Timeout"] == 7
    wait_updated(lambda_client, name)
    current = lambda_client.get_function(FunctionName=name)["Configuration"]["RevisionId"]
    resp = lambda_client.update_function_code(FunctionName=name, ZipFile=handler_zip("v2"), RevisionId=current)
    assert resp["CodeSha256"] == code_sha256(handler_zip("v2"))


def test_function_can_be_updated_and_deleted_by_full_arn(lambda_client):
    name = unique_name()
    create_active(lambda_client, name)
    arn = function_arn(name)

    resp = lambda_client.update_function_configuration(FunctionName=arn, Description="via arn")
    assert resp["FunctionArn"] == arn
    wait_updated(lambda_client, name)
    resp = lambda_client.update_function_code(FunctionName=arn, ZipFile=handler_zip("via-arn"))
    assert resp["CodeSha256"] == code_sha256(handler_zip("via-arn"))
    wait_updated(lambda_client, name)
    assert status_of(lambda_client.delete_function(FunctionName=arn)) == 204
    assert lambda_client.list_functions()["Functions"] == []


# --------------------------------------------------------------------------------------
# DeleteFunction
# --------------------------------------------------------------------------------------


def test_delete_function_returns_204_and_the_function_is_gone(lambda_client):
    keep, gone = unique_name("keep"), unique_name("gone")
    create_active(lambda_client, keep)
    create_active(lambda_client, gone)

    resp = lambda_client.delete_function(FunctionName=gone)
    assert status_of(resp) == 204

    with pytest.raises(ClientError) as exc:
        lambda_client.get_function(FunctionName=gone)
    assert error_of(exc) == (404, "ResourceNotFoundException", f"Function not found: {function_arn(gone)}")
    assert [f["FunctionName"] for f in lambda_client.list_functions()["Functions"]] == [keep]

    with pytest.raises(ClientError) as exc:
        lambda_client.delete_function(FunctionName=gone)
    assert error_of(exc) == (404, "ResourceNotFoundException", f"Function not found: {function_arn(gone)}")


def test_a_multi_megabyte_zip_is_stored_and_downloaded_intact(lambda_client):
    """Real deployment packages are megabytes: the whole 70 MB request budget must be usable."""
    name = unique_name("large")
    big = make_zip(
        {"index.py": PYTHON_HANDLER, "vendor/blob.bin": os.urandom(10 * 1024 * 1024)}, compression=zipfile.ZIP_STORED
    )
    resp = lambda_client.create_function(**create_kwargs(name, big))
    assert (resp["CodeSize"], resp["CodeSha256"]) == (len(big), code_sha256(big))
    wait_active(lambda_client, name)
    assert download(lambda_client.get_function(FunctionName=name)["Code"]["Location"]) == big

    bigger = make_zip(
        {"index.py": PYTHON_HANDLER, "vendor/blob.bin": os.urandom(20 * 1024 * 1024)}, compression=zipfile.ZIP_STORED
    )
    resp = lambda_client.update_function_code(FunctionName=name, ZipFile=bigger)
    assert resp["CodeSha256"] == code_sha256(bigger)
    wait_updated(lambda_client, name)
    assert download(lambda_client.get_function(FunctionName=name)["Code"]["Location"]) == bigger


def test_a_deleted_function_name_can_be_reused(lambda_client):
    name = unique_name()
    create_active(lambda_client, name, handler_zip("first"))
    lambda_client.delete_function(FunctionName=name)
    resp = lambda_client.create_function(**create_kwargs(name, handler_zip("second")))
    assert resp["CodeSha256"] == code_sha256(handler_zip("second"))


# --------------------------------------------------------------------------------------
# Error body shapes (spec section 2)
# --------------------------------------------------------------------------------------


def test_not_found_error_body_has_type_user_and_capitalised_message(lambda_client):
    with pytest.raises(ClientError) as exc:
        lambda_client.get_function(FunctionName="nope")
    response = exc.value.response
    assert response["Error"]["Code"] == "ResourceNotFoundException"
    # botocore merges the modeled exception members (Type, Message) at top level.
    assert response.get("Type") == "User", response
    assert response.get("Message") == f"Function not found: {function_arn('nope')}", response


def test_invalid_parameter_error_body_has_type_user_and_lowercase_message(lambda_client):
    with pytest.raises(ClientError) as exc:
        lambda_client.create_function(**create_kwargs(unique_name(), b"not a zip"))
    response = exc.value.response
    assert response["Error"]["Code"] == "InvalidParameterValueException"
    assert response.get("Type") == "User", response
    assert response.get("message") == (
        "Could not unzip uploaded file. Please check your file, then try to upload again."
    ), response


# --------------------------------------------------------------------------------------
# GetAccountSettings
# --------------------------------------------------------------------------------------


def test_account_settings_report_classic_limits_and_current_usage(lambda_client):
    empty = lambda_client.get_account_settings()
    assert status_of(empty) == 200
    assert body_keys(empty) == {"AccountLimit", "AccountUsage"}
    limit = empty["AccountLimit"]
    assert set(limit) == {
        "CodeSizeUnzipped",
        "CodeSizeZipped",
        "ConcurrentExecutions",
        "TotalCodeSize",
        "UnreservedConcurrentExecutions",
    }
    assert limit["CodeSizeZipped"] == 52428800
    assert limit["CodeSizeUnzipped"] == 262144000
    assert limit["TotalCodeSize"] == 75 * 1024**3
    assert empty["AccountUsage"] == {"FunctionCount": 0, "TotalCodeSize": 0}

    zips = [handler_zip("one"), make_zip({"index.py": "def handler(e, c):\n    return 2\n" * 20})]
    for zip_bytes in zips:
        lambda_client.create_function(**create_kwargs(unique_name(), zip_bytes))
    usage = lambda_client.get_account_settings()["AccountUsage"]
    assert usage == {"FunctionCount": 2, "TotalCodeSize": sum(len(z) for z in zips)}


# --------------------------------------------------------------------------------------
# AWS CLI v1
# --------------------------------------------------------------------------------------


def test_aws_cli_creates_lists_gets_updates_and_deletes_a_function(server, tmp_path: Path):
    name = unique_name("cli")
    zip_bytes = handler_zip(name)
    zip_path = tmp_path / "function.zip"
    zip_path.write_bytes(zip_bytes)

    created = server.aws_cli(
        "lambda",
        "create-function",
        "--function-name",
        name,
        "--runtime",
        RUNTIME,
        "--role",
        ROLE_ARN,
        "--handler",
        HANDLER,
        "--zip-file",
        f"fileb://{zip_path}",
    )
    assert created["FunctionArn"] == function_arn(name)
    assert created["CodeSha256"] == code_sha256(zip_bytes)
    assert created["State"] == "Pending"

    server.aws_cli("lambda", "wait", "function-active-v2", "--function-name", name)

    listed = server.aws_cli("lambda", "list-functions")
    assert [f["FunctionName"] for f in listed["Functions"]] == [name]

    got = server.aws_cli("lambda", "get-function", "--function-name", name)
    assert got["Configuration"]["State"] == "Active"
    assert download(got["Code"]["Location"]) == zip_bytes

    config = server.aws_cli("lambda", "get-function-configuration", "--function-name", name)
    assert config["FunctionArn"] == function_arn(name)

    new_zip = handler_zip(name + "-v2")
    zip_path.write_bytes(new_zip)
    updated = server.aws_cli(
        "lambda", "update-function-code", "--function-name", name, "--zip-file", f"fileb://{zip_path}"
    )
    assert updated["CodeSha256"] == code_sha256(new_zip)
    server.aws_cli("lambda", "wait", "function-updated-v2", "--function-name", name)

    updated = server.aws_cli(
        "lambda", "update-function-configuration", "--function-name", name, "--timeout", "42", "--memory-size", "256"
    )
    assert (updated["Timeout"], updated["MemorySize"]) == (42, 256)
    server.aws_cli("lambda", "wait", "function-updated-v2", "--function-name", name)

    settings = server.aws_cli("lambda", "get-account-settings")
    assert settings["AccountUsage"]["FunctionCount"] == 1

    # botocore 1.44 models DeleteFunction's HTTP status as an output member.
    assert server.aws_cli("lambda", "delete-function", "--function-name", name) == {"StatusCode": 204}
    assert server.aws_cli("lambda", "list-functions")["Functions"] == []


def test_aws_cli_reports_a_missing_function_as_resource_not_found(server):
    with pytest.raises(AwsCliError) as exc:
        server.aws_cli("lambda", "get-function", "--function-name", "missing")
    assert exc.value.returncode != 0
    assert "ResourceNotFoundException" in exc.value.stderr
    assert f"Function not found: {function_arn('missing')}" in exc.value.stderr


def test_aws_cli_list_functions_paginates_through_every_function(server, lambda_client):
    names = sorted(unique_name("clipage") for _ in range(3))
    for name in names:
        lambda_client.create_function(**create_kwargs(name))
    # --page-size makes the CLI follow NextMarker itself.
    listed = server.aws_cli("lambda", "list-functions", "--page-size", "1")
    assert sorted(f["FunctionName"] for f in listed["Functions"]) == names
    one = server.aws_cli("lambda", "list-functions", "--max-items", "1")
    assert len(one["Functions"]) == 1
    assert one.get("NextToken"), one
