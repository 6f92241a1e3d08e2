"""Lambda layers through boto3: the layer operations with their paginators and errors, and a
function importing a module that only a layer provides."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from conftest import (
    ACCOUNT_ID,
    REGION,
    code_sha256,
    create_active,
    download,
    error_of,
    make_zip,
    unique_name,
    wait_updated,
)

LAYER_USER = """
import shared


def handler(event, context):
    return {"value": shared.VALUE, "event": event}
"""


def layer_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:layer:{name}"


def test_layer_versions_publish_read_paginate_and_delete(lambda_client):
    name = unique_name("layer")
    zip_bytes = make_zip({"python/shared.py": "VALUE = 1\n"})
    v1 = lambda_client.publish_layer_version(
        LayerName=name,
        Description="one",
        Content={"ZipFile": zip_bytes},
        CompatibleRuntimes=["python3.12"],
        CompatibleArchitectures=["x86_64", "arm64"],
        LicenseInfo="Apache-2.0",
    )
    assert v1["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert v1["Version"] == 1
    assert v1["LayerArn"] == layer_arn(name)
    assert v1["LayerVersionArn"] == f"{layer_arn(name)}:1"
    assert v1["Content"]["CodeSha256"] == code_sha256(zip_bytes)
    assert v1["Content"]["CodeSize"] == len(zip_bytes)
    assert download(v1["Content"]["Location"]) == zip_bytes
    for _ in range(2):
        lambda_client.publish_layer_version(LayerName=name, Content={"ZipFile": zip_bytes})

    pages = lambda_client.get_paginator("list_layer_versions").paginate(
        LayerName=name, PaginationConfig={"PageSize": 2}
    )
    assert [v["Version"] for page in pages for v in page["LayerVersions"]] == [3, 2, 1]
    listed = [
        layer
        for page in lambda_client.get_paginator("list_layers").paginate(CompatibleRuntime="python3.12")
        for layer in page["Layers"]
    ]
    assert [(x["LayerName"], x["LatestMatchingVersion"]["Version"]) for x in listed] == [(name, 1)]
    assert listed[0]["LatestMatchingVersion"]["LicenseInfo"] == "Apache-2.0"

    by_arn = lambda_client.get_layer_version_by_arn(Arn=f"{layer_arn(name)}:1")
    assert by_arn["Description"] == "one"
    assert by_arn["CompatibleArchitectures"] == ["x86_64", "arm64"]

    deleted = lambda_client.delete_layer_version(LayerName=name, VersionNumber=3)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as e:
        lambda_client.get_layer_version(LayerName=layer_arn(name), VersionNumber=3)
    assert error_of(e) == (404, "ResourceNotFoundException", "The resource you requested does not exist.")
    with pytest.raises(ClientError) as e:
        lambda_client.get_layer_version(LayerName=name, VersionNumber=0)
    assert error_of(e) == (400, "InvalidParameterValueException", "Layer Version Cannot be less than 1")
    assert lambda_client.publish_layer_version(LayerName=name, Content={"ZipFile": zip_bytes})["Version"] == 4

    added = lambda_client.add_layer_version_permission(
        LayerName=name, VersionNumber=1, StatementId="all", Action="lambda:GetLayerVersion", Principal="*"
    )
    assert added["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert json.loads(added["Statement"])["Resource"] == f"{layer_arn(name)}:1"
    policy = lambda_client.get_layer_version_policy(LayerName=name, VersionNumber=1)
    assert policy["RevisionId"] == added["RevisionId"]
    assert [s["Sid"] for s in json.loads(policy["Policy"])["Statement"]] == ["all"]


def test_function_imports_a_module_from_its_layer(lambda_client):
    layer = lambda_client.publish_layer_version(
        LayerName=unique_name("shared"),
        Content={"ZipFile": make_zip({"python/shared.py": "VALUE = 'from the layer'\n"})},
    )
    name = unique_name("uses-layer")
    create_active(
        lambda_client,
        name,
        make_zip({"index.py": LAYER_USER}),
        Layers=[layer["LayerVersionArn"]],
    )
    config = lambda_client.get_function_configuration(FunctionName=name)
    assert config["Layers"] == [{"Arn": layer["LayerVersionArn"], "CodeSize": layer["Content"]["CodeSize"]}]
    out = lambda_client.invoke(FunctionName=name, Payload=json.dumps({"n": 1}))
    assert "FunctionError" not in out
    assert json.loads(out["Payload"].read()) == {"value": "from the layer", "event": {"n": 1}}

    other = lambda_client.publish_layer_version(
        LayerName=layer["LayerArn"],
        Content={"ZipFile": make_zip({"python/shared.py": "VALUE = 'version two'\n"})},
    )
    with pytest.raises(ClientError) as e:
        lambda_client.update_function_configuration(
            FunctionName=name, Layers=[layer["LayerVersionArn"], other["LayerVersionArn"]]
        )
    assert error_of(e) == (
        400,
        "InvalidParameterValueException",
        "Two different versions of the same layer are not allowed to be referenced in the same function. "
        f"{layer['LayerVersionArn']} and {other['LayerVersionArn']} are versions of the same layer.",
    )
    lambda_client.update_function_configuration(FunctionName=name, Layers=[other["LayerVersionArn"]])
    wait_updated(lambda_client, name)
    out = lambda_client.invoke(FunctionName=name, Payload=b"{}")
    assert json.loads(out["Payload"].read())["value"] == "version two"
