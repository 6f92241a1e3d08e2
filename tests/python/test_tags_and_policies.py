"""Tags, resource-based policies and function settings through boto3, against the real binary.

Renderings and messages follow ../shared/spec/lambda-api.md sections 4 and 8 (LocalStack
snapshots recorded against AWS).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from conftest import ACCOUNT_ID, create_active, error_of, function_arn, unique_name

ALICE_KEY = "AKIALAMINATESTALICE0"
ALICE_SECRET = "alice/test/Secret+Access+Key012345678"
ALICE_ARN = "arn:aws:iam::111122223333:user/alice"


def test_tags_are_added_listed_and_removed_and_move_the_revision(lambda_client):
    name = unique_name("tags")
    create_active(lambda_client, name, Tags={"team": "core"})
    arn = function_arn(name)
    assert lambda_client.list_tags(Resource=arn)["Tags"] == {"team": "core"}

    before = lambda_client.get_function(FunctionName=name)["Configuration"]["RevisionId"]
    resp = lambda_client.tag_resource(Resource=arn, Tags={"env": "prod", "team": "edge"})
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    got = lambda_client.get_function(FunctionName=name)
    assert got["Tags"] == {"env": "prod", "team": "edge"}
    assert got["Configuration"]["RevisionId"] != before

    resp = lambda_client.untag_resource(Resource=arn, TagKeys=["team", "never-set"])
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert lambda_client.list_tags(Resource=arn)["Tags"] == {"env": "prod"}
    lambda_client.untag_resource(Resource=arn, TagKeys=["env"])
    assert lambda_client.list_tags(Resource=arn)["Tags"] == {}
    assert "Tags" not in lambda_client.get_function(FunctionName=name)


def test_tag_errors_match_aws(lambda_client):
    name = unique_name("tags")
    create_active(lambda_client, name)
    arn = function_arn(name)
    cases = [
        (
            lambda: lambda_client.tag_resource(Resource=f"{arn}:$LATEST", Tags={"a": "b"}),
            (
                400,
                "InvalidParameterValueException",
                "Tags on function aliases and versions are not supported. Please specify a function ARN.",
            ),
        ),
        (
            lambda: lambda_client.tag_resource(Resource=arn, Tags={}),
            (400, "InvalidParameterValueException", "An error occurred and the request cannot be processed."),
        ),
        (
            lambda: lambda_client.untag_resource(Resource=arn, TagKeys=[]),
            (
                400,
                "ValidationException",
                "1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: "
                "Member must not be null",
            ),
        ),
        (
            lambda: lambda_client.tag_resource(Resource=arn, Tags={f"k{i}": "v" for i in range(51)}),
            (400, "InvalidParameterValueException", "Number of tags exceeds resource tag limit."),
        ),
        (
            lambda: lambda_client.list_tags(Resource=function_arn("doesnotexist")),
            (404, "ResourceNotFoundException", f"Function not found: {function_arn('doesnotexist')}"),
        ),
    ]
    for call, expected in cases:
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc) == expected


def test_permissions_render_as_aws_does_and_guard_the_revision(lambda_client):
    name = unique_name("policy")
    create_active(lambda_client, name)
    arn = function_arn(name)
    added = lambda_client.add_permission(
        FunctionName=name,
        StatementId="s3",
        Action="lambda:InvokeFunction",
        Principal="s3.amazonaws.com",
        SourceArn="arn:aws:s3:::my-bucket",
        SourceAccount=ACCOUNT_ID,
    )
    assert added["ResponseMetadata"]["HTTPStatusCode"] == 201
    statement = (
        '{"Sid":"s3","Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},'
        f'"Action":"lambda:InvokeFunction","Resource":"{arn}",'
        f'"Condition":{{"StringEquals":{{"AWS:SourceAccount":"{ACCOUNT_ID}"}},'
        '"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::my-bucket"}}}'
    )
    assert added["Statement"] == statement
    policy = lambda_client.get_policy(FunctionName=name)
    assert policy["Policy"] == f'{{"Version":"2012-10-17","Id":"default","Statement":[{statement}]}}'
    config = lambda_client.get_function_configuration(FunctionName=name)
    assert policy["RevisionId"] == config["RevisionId"]

    with pytest.raises(ClientError) as exc:
        lambda_client.add_permission(
            FunctionName=name, StatementId="s3", Action="lambda:InvokeFunction", Principal="sns.amazonaws.com"
        )
    assert error_of(exc) == (
        409,
        "ResourceConflictException",
        "The statement id (s3) provided already exists. "
        "Please provide a new statement id, or remove the existing statement.",
    )
    with pytest.raises(ClientError) as exc:
        lambda_client.remove_permission(FunctionName=name, StatementId="s3", RevisionId="stale")
    assert error_of(exc)[:2] == (412, "PreconditionFailedException")
    with pytest.raises(ClientError) as exc:
        lambda_client.remove_permission(FunctionName=name, StatementId="nope")
    assert error_of(exc) == (404, "ResourceNotFoundException", "Statement nope is not found in resource policy.")

    resp = lambda_client.remove_permission(FunctionName=name, StatementId="s3", RevisionId=policy["RevisionId"])
    assert resp["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as exc:
        lambda_client.get_policy(FunctionName=name)
    assert error_of(exc) == (404, "ResourceNotFoundException", "The resource you requested does not exist.")
    with pytest.raises(ClientError) as exc:
        lambda_client.remove_permission(FunctionName=name, StatementId="s3")
    assert error_of(exc) == (404, "ResourceNotFoundException", "No policy is associated with the given resource.")


def test_recursion_and_runtime_management_configs_are_stored(lambda_client):
    name = unique_name("settings")
    create_active(lambda_client, name)
    assert lambda_client.get_function_recursion_config(FunctionName=name)["RecursiveLoop"] == "Terminate"
    put = lambda_client.put_function_recursion_config(FunctionName=name, RecursiveLoop="Allow")
    assert put["RecursiveLoop"] == "Allow"
    assert lambda_client.get_function_recursion_config(FunctionName=name)["RecursiveLoop"] == "Allow"

    got = lambda_client.get_runtime_management_config(FunctionName=name)
    assert (got["UpdateRuntimeOn"], got["FunctionArn"]) == ("Auto", function_arn(name))
    assert "RuntimeVersionArn" not in got
    runtime = "arn:aws:lambda:us-east-1::runtime:" + "ab" * 32
    put = lambda_client.put_runtime_management_config(
        FunctionName=name, UpdateRuntimeOn="Manual", RuntimeVersionArn=runtime
    )
    assert (put["UpdateRuntimeOn"], put["RuntimeVersionArn"]) == ("Manual", runtime)
    with pytest.raises(ClientError) as exc:
        lambda_client.put_function_recursion_config(FunctionName=name, RecursiveLoop="Sometimes")
    assert error_of(exc) == (
        400,
        "ValidationException",
        "1 validation error detected: Value 'Sometimes' at 'recursiveLoop' failed to satisfy constraint: "
        "Member must satisfy enum value set: [Allow, Terminate]",
    )


def test_a_configured_principal_invokes_only_with_a_resource_policy(server_factory, tmp_path: Path):
    config = tmp_path / "lamina.toml"
    config.write_text(
        f'[[principals]]\naccess_key_id = "{ALICE_KEY}"\nsecret_access_key = "{ALICE_SECRET}"\narn = "{ALICE_ARN}"\n'
    )
    os.chmod(config, 0o600)
    srv = server_factory(extra_args=["--config", str(config)])
    root = srv.lambda_client()
    alice = srv.lambda_client(access_key_id=ALICE_KEY, secret_access_key=ALICE_SECRET)
    name = unique_name("guarded")
    create_active(root, name)
    denied = (
        403,
        "AccessDeniedException",
        f"User: {ALICE_ARN} is not authorized to perform: lambda:InvokeFunction on resource: {function_arn(name)} "
        "because no resource-based policy allows the lambda:InvokeFunction action",
    )
    with pytest.raises(ClientError) as exc:
        alice.invoke(FunctionName=name, Payload=b'{"n": 1}')
    assert error_of(exc) == denied
    with pytest.raises(ClientError) as exc:
        alice.get_function(FunctionName=name)
    assert error_of(exc)[:2] == (403, "AccessDeniedException")

    root.add_permission(FunctionName=name, StatementId="alice", Action="lambda:InvokeFunction", Principal=ALICE_ARN)
    out = alice.invoke(FunctionName=name, Payload=b'{"n": 1}')
    assert out["StatusCode"] == 200
    assert json.loads(out["Payload"].read()) == {"n": 1}

    root.remove_permission(FunctionName=name, StatementId="alice")
    with pytest.raises(ClientError) as exc:
        alice.invoke(FunctionName=name, Payload=b'{"n": 1}')
    assert error_of(exc) == denied
