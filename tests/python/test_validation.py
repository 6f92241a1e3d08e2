"""Every validation error with AWS's exact status, error type and message.

Messages come from ../shared/spec/lambda-api.md section 8 and are asserted exactly where the spec
records them; where it records none, the test asserts the error type and the meaningful part of
the message. Every case also proves that the rejected request changed nothing.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any, Callable

import pytest
from botocore.exceptions import ClientError

from conftest import (
    ACCOUNT_ID,
    INVALID_ZIP,
    REGION,
    code_sha256,
    create_active,
    create_kwargs,
    error_of,
    function_arn,
    handler_zip,
    snapshot_functions,
    unique_name,
)

# ---- messages recorded from AWS (spec section 8) -------------------------------------------

SUPPORTED_RUNTIMES = (
    "[nodejs20.x, python3.14, provided.al2023, python3.12, python3.13, nodejs24.x, nodejs22.x, "
    "java25, python3.10, python3.11, java21, ruby3.3, ruby3.4, ruby3.2, python3.8, python3.9, "
    "java17, nodejs16.x, dotnet10, dotnet8, java11, dotnet6, nodejs18.x, provided.al2, java8.al2]"
)


def runtime_enum_message(value: str) -> str:
    return (
        f"Value {value} at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: "
        f"{SUPPORTED_RUNTIMES} or be a valid ARN"
    )


def deprecated_runtime_message(runtime: str) -> str:
    return (
        f"The runtime parameter of {runtime} is no longer supported for creating or updating AWS Lambda "
        "functions. We recommend you use a supported runtime while creating or updating functions."
    )


ROLE_PATTERN = r"arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+"
# FunctionName patterns from the botocore 1.44.8 model: strict for CreateFunction, namespaced
# (dots and $LATEST.PUBLISHED allowed) for Get/Delete/Invoke.
CREATE_NAME_PATTERN = (
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?"
    r"(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?"
)
GET_NAME_PATTERN = (
    r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?"
    r"(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?"
)
STALE_REVISION = (
    "The Revision Id provided does not match the latest Revision Id. "
    "Call the GetFunction/GetAlias API to retrieve the latest Revision Id"
)
ENV_TOO_LARGE = (
    "Lambda was unable to configure your environment variables because the environment variables "
    "you have provided exceeded the 4KB limit. String measured: "
)


def one_error(value: str, field_name: str, constraint: str) -> str:
    return f"1 validation error detected: Value '{value}' at '{field_name}' failed to satisfy constraint: {constraint}"


def compact_json(variables: dict[str, str]) -> str:
    return json.dumps(variables, separators=(",", ":"), ensure_ascii=False)


ARN_PREFIX = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:"
LONG_ARN = ARN_PREFIX + "a" * (140 - len(ARN_PREFIX) + 1)  # 141 characters
BIG_ENV = {"LARGE_VAR": "x" * (4097 - len('{"LARGE_VAR":""}'))}  # 4097 bytes measured
BIG_UTF8_ENV = {"UTF": "é" * 2043 + "x"}  # {"UTF":"…"} = 10 + 4086 + 1 = 4097 bytes, 2054 characters
assert len(compact_json(BIG_ENV).encode()) == 4097
assert len(compact_json(BIG_UTF8_ENV).encode()) == 4097


# ---- the case table -------------------------------------------------------------------------


@dataclass
class Case:
    id: str
    op: str  # boto3 method name
    kwargs: Callable[[str], dict[str, Any]]  # gets the existing function's name (or a fresh one)
    status: int
    code: str | tuple[str, ...]
    message: str | None = None  # exact
    contains: tuple[str, ...] = ()  # substrings, when the spec records no exact text
    startswith: str | None = None
    icontains: tuple[str, ...] = ()  # case-insensitive substrings
    needs_function: bool = False
    parameter_validation: bool = True  # False for values boto3 would reject client-side

    def check(self, status: int, code: str, message: str) -> None:
        codes = (self.code,) if isinstance(self.code, str) else self.code
        assert (status, code) in {(self.status, c) for c in codes}, (
            f"expected HTTP {self.status} {'/'.join(codes)}, got HTTP {status} {code}: {message!r}"
        )
        if self.message is not None:
            assert message == self.message
        if self.startswith is not None:
            assert message.startswith(self.startswith), message
        for part in self.contains:
            assert part in message, f"{part!r} not in {message!r}"
        for part in self.icontains:
            assert part.lower() in message.lower(), f"{part!r} not in {message!r}"
        assert message, "error responses carry a message"


def create(**overrides: Any) -> Callable[[str], dict[str, Any]]:
    return lambda name: create_kwargs(name, **overrides)


def update_config(**fields: Any) -> Callable[[str], dict[str, Any]]:
    return lambda name: {"FunctionName": name, **fields}


def raw(**fields: Any) -> Callable[[str], dict[str, Any]]:
    return lambda name: dict(fields)


IPV, VE, RNF = "InvalidParameterValueException", "ValidationException", "ResourceNotFoundException"

CASES: list[Case] = [
    # runtime
    Case(
        "create_unknown_runtime",
        "create_function",
        create(Runtime="non-existent-runtime"),
        400,
        IPV,
        message=runtime_enum_message("non-existent-runtime"),
    ),
    Case(
        "create_uppercase_runtime",
        "create_function",
        create(Runtime="PYTHON3.9"),
        400,
        IPV,
        message=runtime_enum_message("PYTHON3.9"),
    ),
    Case(
        "update_unknown_runtime",
        "update_function_configuration",
        update_config(Runtime="non-existent-runtime"),
        400,
        IPV,
        message=runtime_enum_message("non-existent-runtime"),
        needs_function=True,
    ),
    *[
        Case(
            f"create_deprecated_runtime_{rt}",
            "create_function",
            create(Runtime=rt),
            400,
            IPV,
            message=deprecated_runtime_message(rt),
        )
        # go1.x and provided are retired on AWS but deliberately still accepted by Lamina
        # (crates/lamina-types/src/runtime.rs), so they are not listed here.
        for rt in ("python3.7", "python2.7", "nodejs12.x", "nodejs14.x", "dotnetcore3.1", "ruby2.7", "java8")
    ],
    Case(
        "update_deprecated_runtime",
        "update_function_configuration",
        update_config(Runtime="python3.7"),
        400,
        IPV,
        message=deprecated_runtime_message("python3.7"),
        needs_function=True,
    ),
    # role
    Case(
        "create_invalid_role",
        "create_function",
        create(Role="r1"),
        400,
        VE,
        message=one_error("r1", "role", f"Member must satisfy regular expression pattern: {ROLE_PATTERN}"),
    ),
    Case(
        "update_invalid_role",
        "update_function_configuration",
        update_config(Role="r1"),
        400,
        VE,
        message=one_error("r1", "role", f"Member must satisfy regular expression pattern: {ROLE_PATTERN}"),
        needs_function=True,
    ),
    # architectures
    Case(
        "create_two_architectures",
        "create_function",
        create(Architectures=["x86_64", "arm64"]),
        400,
        VE,
        message=one_error("[x86_64, arm64]", "architectures", "Member must have length less than or equal to 1"),
    ),
    Case(
        "create_unknown_architecture",
        "create_function",
        create(Architectures=["X86_64"]),
        400,
        VE,
        message=one_error(
            "[X86_64]",
            "architectures",
            "Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64], "
            "Member must not be null]",
        ),
    ),
    Case(
        "create_no_architectures",
        "create_function",
        create(Architectures=[]),
        400,
        VE,
        startswith="1 validation error detected: Value '[]' at 'architectures' failed to satisfy constraint: ",
        contains=("Member must have length greater than or equal to 1",),
        parameter_validation=False,
    ),
    # function names and ARNs
    Case(
        "create_name_longer_than_64",
        "create_function",
        create(FunctionName="a" * 65),
        400,
        IPV,
        message=one_error("a" * 65, "functionName", "Member must have length less than or equal to 64"),
    ),
    Case(
        "create_arn_longer_than_140",
        "create_function",
        create(FunctionName=LONG_ARN),
        400,
        VE,
        message=one_error(LONG_ARN, "functionName", "Member must have length less than or equal to 140"),
    ),
    Case(
        "create_name_with_invalid_characters",
        "create_function",
        create(FunctionName="my-function!"),
        400,
        VE,
        message=one_error(
            "my-function!", "functionName", f"Member must satisfy regular expression pattern: {CREATE_NAME_PATTERN}"
        ),
    ),
    Case(
        "get_name_with_invalid_characters",
        "get_function",
        raw(FunctionName="my-function!"),
        400,
        VE,
        message=one_error(
            "my-function!", "functionName", f"Member must satisfy regular expression pattern: {GET_NAME_PATTERN}"
        ),
    ),
    Case(
        "delete_name_with_invalid_characters",
        "delete_function",
        raw(FunctionName="my-function!"),
        400,
        VE,
        message=one_error(
            "my-function!", "functionName", f"Member must satisfy regular expression pattern: {GET_NAME_PATTERN}"
        ),
    ),
    Case(
        "get_arn_from_another_region",
        "get_function",
        lambda name: {"FunctionName": function_arn(name, region="eu-west-1")},
        404,
        RNF,
        message="Functions from 'eu-west-1' are not reachable in this region ('us-east-1')",
        needs_function=True,
    ),
    Case(
        "get_configuration_arn_from_another_region",
        "get_function_configuration",
        lambda name: {"FunctionName": function_arn(name, region="ap-southeast-1")},
        404,
        RNF,
        message="Functions from 'ap-southeast-1' are not reachable in this region ('us-east-1')",
        needs_function=True,
    ),
    Case(
        "delete_arn_from_another_region",
        "delete_function",
        lambda name: {"FunctionName": function_arn(name, region="eu-west-1")},
        404,
        RNF,
        message="Functions from 'eu-west-1' are not reachable in this region ('us-east-1')",
        needs_function=True,
    ),
    Case(
        "update_arn_from_another_region",
        "update_function_configuration",
        lambda name: {"FunctionName": function_arn(name, region="eu-west-1"), "Timeout": 5},
        404,
        RNF,
        message="Functions from 'eu-west-1' are not reachable in this region ('us-east-1')",
        needs_function=True,
    ),
    Case(
        "get_arn_from_another_account",
        "get_function",
        lambda name: {"FunctionName": f"arn:aws:lambda:{REGION}:210987654321:function:{name}"},
        403,
        "AccessDeniedException",
        needs_function=True,
    ),
    # qualifiers
    Case(
        "qualifier_differs_from_the_one_in_the_name",
        "get_function",
        lambda name: {"FunctionName": f"{name}:1", "Qualifier": "2"},
        400,
        IPV,
        message="The derived qualifier from the function name does not match the specified qualifier.",
        needs_function=True,
    ),
    Case(
        "qualifier_with_invalid_characters",
        "get_function",
        lambda name: {"FunctionName": name, "Qualifier": "bad!"},
        400,
        VE,
        startswith="1 validation error detected: Value 'bad!' at 'qualifier' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: ",
        needs_function=True,
    ),
    Case(
        "delete_latest_qualifier",
        "delete_function",
        lambda name: {"FunctionName": name, "Qualifier": "$LATEST"},
        400,
        IPV,
        message="$LATEST version cannot be deleted without deleting the function.",
        needs_function=True,
    ),
    # not found / conflict / precondition
    *[
        Case(f"{op}_unknown_function", op, kwargs, 404, RNF, message=f"Function not found: {function_arn('nope')}")
        for op, kwargs in [
            ("get_function", raw(FunctionName="nope")),
            ("get_function_configuration", raw(FunctionName="nope")),
            ("delete_function", raw(FunctionName="nope")),
            ("update_function_code", raw(FunctionName="nope", ZipFile=handler_zip())),
            ("update_function_configuration", raw(FunctionName="nope", Timeout=10)),
        ]
    ],
    Case(
        "get_unknown_function_by_full_arn",
        "get_function",
        raw(FunctionName=function_arn("nope")),
        404,
        RNF,
        message=f"Function not found: {function_arn('nope')}",
    ),
    Case(
        "get_unknown_function_by_partial_arn",
        "get_function",
        raw(FunctionName=f"{ACCOUNT_ID}:function:nope"),
        404,
        RNF,
        message=f"Function not found: {function_arn('nope')}",
    ),
    Case(
        "get_unknown_function_with_qualifier",
        "get_function",
        raw(FunctionName="nope", Qualifier="1221"),
        404,
        RNF,
        message=f"Function not found: {function_arn('nope')}:1221",
    ),
    Case(
        "create_existing_function",
        "create_function",
        lambda name: create_kwargs(name),
        409,
        "ResourceConflictException",
        needs_function=True,
    ),  # message checked in its own test
    Case(
        "update_configuration_with_stale_revision_id",
        "update_function_configuration",
        lambda name: {"FunctionName": name, "Timeout": 10, "RevisionId": str(uuid.uuid4())},
        412,
        "PreconditionFailedException",
        message=STALE_REVISION,
        needs_function=True,
    ),
    Case(
        "update_code_with_stale_revision_id",
        "update_function_code",
        lambda name: {"FunctionName": name, "ZipFile": handler_zip("new"), "RevisionId": str(uuid.uuid4())},
        412,
        "PreconditionFailedException",
        message=STALE_REVISION,
        needs_function=True,
    ),
    # memory
    Case(
        "create_memory_above_10240",
        "create_function",
        create(MemorySize=10241),
        400,
        VE,
        startswith=one_error("10241", "memorySize", "Member must have value less than or equal to "),
    ),
    Case(
        "update_memory_above_10240",
        "update_function_configuration",
        update_config(MemorySize=10241),
        400,
        VE,
        startswith=one_error("10241", "memorySize", "Member must have value less than or equal to "),
        needs_function=True,
    ),
    Case(
        "create_memory_below_128",
        "create_function",
        create(MemorySize=127),
        400,
        VE,
        message=one_error("127", "memorySize", "Member must have value greater than or equal to 128"),
        parameter_validation=False,
    ),
    Case(
        "create_memory_above_the_3008_limit",
        "create_function",
        create(MemorySize=3072),
        400,
        (VE, IPV),
        contains=("3008",),
    ),
    Case(
        "update_memory_above_the_3008_limit",
        "update_function_configuration",
        update_config(MemorySize=3072),
        400,
        (VE, IPV),
        contains=("3008",),
        needs_function=True,
    ),
    Case(
        "create_memory_not_a_multiple_of_64",
        "create_function",
        create(MemorySize=130),
        400,
        (VE, IPV),
        icontains=("memorysize",),
    ),
    # timeout
    Case(
        "create_timeout_above_900",
        "create_function",
        create(Timeout=901),
        400,
        VE,
        message=one_error("901", "timeout", "Member must have value less than or equal to 900"),
    ),
    Case(
        "update_timeout_above_900",
        "update_function_configuration",
        update_config(Timeout=901),
        400,
        VE,
        message=one_error("901", "timeout", "Member must have value less than or equal to 900"),
        needs_function=True,
    ),
    Case(
        "create_timeout_below_1",
        "create_function",
        create(Timeout=0),
        400,
        VE,
        message=one_error("0", "timeout", "Member must have value greater than or equal to 1"),
        parameter_validation=False,
    ),
    Case(
        "create_with_two_invalid_fields",
        "create_function",
        create(Timeout=901, MemorySize=10241),
        400,
        VE,
        startswith="2 validation errors detected: ",
        contains=(
            "Value '901' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900",
            "Value '10241' at 'memorySize' failed to satisfy constraint: Member must have value less than or equal to",
            "; ",
        ),
    ),
    # ephemeral storage
    Case(
        "create_ephemeral_storage_above_10240",
        "create_function",
        create(EphemeralStorage={"Size": 10241}),
        400,
        VE,
        startswith=one_error("10241", "ephemeralStorage.size", "Member must have value less than or equal to "),
    ),
    Case(
        "create_ephemeral_storage_below_512",
        "create_function",
        create(EphemeralStorage={"Size": 511}),
        400,
        VE,
        message=one_error("511", "ephemeralStorage.size", "Member must have value greater than or equal to 512"),
        parameter_validation=False,
    ),
    # description / handler
    Case(
        "create_description_longer_than_256",
        "create_function",
        create(Description="d" * 257),
        400,
        VE,
        contains=("at 'description' failed to satisfy constraint: Member must have length less than or equal to 256",),
    ),
    Case(
        "create_handler_longer_than_128",
        "create_function",
        create(Handler="h" * 129),
        400,
        VE,
        contains=("at 'handler' failed to satisfy constraint: Member must have length less than or equal to 128",),
    ),
    Case(
        "create_handler_with_whitespace",
        "create_function",
        create(Handler="index handler"),
        400,
        VE,
        contains=(
            r"at 'handler' failed to satisfy constraint: Member must satisfy regular expression pattern: [^\s]+",
        ),
    ),
    # environment
    Case(
        "create_environment_over_4kb",
        "create_function",
        create(Environment={"Variables": BIG_ENV}),
        400,
        IPV,
        message=ENV_TOO_LARGE + compact_json(BIG_ENV),
    ),
    Case(
        "create_environment_over_4kb_counting_utf8_bytes",
        "create_function",
        create(Environment={"Variables": BIG_UTF8_ENV}),
        400,
        IPV,
        message=ENV_TOO_LARGE + compact_json(BIG_UTF8_ENV),
    ),
    Case(
        "update_environment_over_4kb",
        "update_function_configuration",
        update_config(Environment={"Variables": BIG_ENV}),
        400,
        IPV,
        message=ENV_TOO_LARGE + compact_json(BIG_ENV),
        needs_function=True,
    ),
    *[
        Case(
            f"create_reserved_environment_key_{key}",
            "create_function",
            create(Environment={"Variables": {key: "x"}}),
            400,
            IPV,
            startswith="Lambda was unable to configure your environment variables because the environment "
            "variables you have provided contains reserved keys",
            contains=(f"Reserved keys used in this request: {key}",),
        )
        for key in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    ],
    Case(
        "update_reserved_environment_key",
        "update_function_configuration",
        update_config(Environment={"Variables": {"AWS_REGION": "x"}}),
        400,
        IPV,
        contains=("Reserved keys used in this request: AWS_REGION",),
        needs_function=True,
    ),
    Case(
        "create_environment_key_with_invalid_characters",
        "create_function",
        create(Environment={"Variables": {"1BAD-KEY": "x"}}),
        400,
        VE,
        contains=("Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+",),
    ),
    # tags
    Case(
        "create_more_than_50_tags",
        "create_function",
        create(Tags={f"k{i}": "v" for i in range(51)}),
        400,
        IPV,
        message="Number of tags exceeds resource tag limit.",
    ),
    Case(
        "create_tag_key_longer_than_128",
        "create_function",
        create(Tags={"k" * 129: "v"}),
        400,
        (VE, IPV),
        icontains=("tag",),
    ),
    Case(
        "create_tag_value_longer_than_256",
        "create_function",
        create(Tags={"k": "v" * 257}),
        400,
        (VE, IPV),
        icontains=("tag",),
    ),
    # code sources
    Case(
        "create_code_from_s3",
        "create_function",
        create(Code={"S3Bucket": "bucket", "S3Key": "code.zip"}),
        400,
        IPV,
        contains=("S3",),
    ),
    Case(
        "create_invalid_zip",
        "create_function",
        create(Code={"ZipFile": b"this is not a zipfile, just a random string"}),
        400,
        IPV,
        message=INVALID_ZIP,
    ),
    Case(
        "update_code_invalid_zip",
        "update_function_code",
        raw(ZipFile=b"PK\x03\x04 truncated"),
        400,
        IPV,
        message=INVALID_ZIP,
        needs_function=True,
    ),
    # list
    Case(
        "list_unknown_function_version",
        "list_functions",
        raw(FunctionVersion="invalid"),
        400,
        VE,
        contains=(
            "Value 'invalid' at 'functionVersion' failed to satisfy constraint: "
            "Member must satisfy enum value set: [ALL]",
        ),
    ),
    Case(
        "list_max_items_above_10000",
        "list_functions",
        raw(MaxItems=10001),
        400,
        VE,
        contains=(
            "Value '10001' at 'maxItems' failed to satisfy constraint: "
            "Member must have value less than or equal to 10000",
        ),
    ),
    Case(
        "list_max_items_below_1",
        "list_functions",
        raw(MaxItems=0),
        400,
        VE,
        contains=(
            "Value '0' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1",
        ),
        parameter_validation=False,
    ),
]


def _fix_update_code(case: Case, name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
    if case.op == "update_function_code" and "FunctionName" not in kwargs:
        kwargs["FunctionName"] = name
    return kwargs


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_invalid_request_is_rejected_with_aws_error_and_changes_nothing(server, case: Case):
    observer = server.lambda_client()
    client = server.lambda_client(parameter_validation=case.parameter_validation)
    name = unique_name("val")
    if case.needs_function:
        create_active(observer, name)
    before = snapshot_functions(observer)

    kwargs = _fix_update_code(case, name, case.kwargs(name))
    with pytest.raises(ClientError) as exc:
        getattr(client, case.op)(**kwargs)
    case.check(*error_of(exc))

    assert snapshot_functions(observer) == before, "a rejected request must change nothing"


def test_duplicate_create_is_a_conflict_naming_the_function(lambda_client):
    name = unique_name("dup")
    first_zip = handler_zip("first")
    create_active(lambda_client, name, first_zip)
    with pytest.raises(ClientError) as exc:
        lambda_client.create_function(**create_kwargs(name, handler_zip("second")))
    assert error_of(exc) == (409, "ResourceConflictException", f"Function already exist: {name}")
    assert exc.value.response.get("Type") == "User"
    assert lambda_client.get_function(FunctionName=name)["Configuration"]["CodeSha256"] == code_sha256(first_zip)


def test_stale_revision_id_error_uses_the_lowercase_message_key(lambda_client):
    name = unique_name()
    create_active(lambda_client, name)
    with pytest.raises(ClientError) as exc:
        lambda_client.update_function_configuration(FunctionName=name, Timeout=9, RevisionId=str(uuid.uuid4()))
    assert exc.value.response.get("message") == STALE_REVISION, exc.value.response
    assert exc.value.response.get("Type") == "User", exc.value.response


def test_revision_id_from_before_an_update_is_stale_afterwards(lambda_client):
    name = unique_name()
    create_active(lambda_client, name)
    old = lambda_client.get_function(FunctionName=name)["Configuration"]["RevisionId"]
    lambda_client.update_function_configuration(FunctionName=name, Description="changed", RevisionId=old)
    lambda_client.get_waiter("function_updated_v2").wait(
        FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    with pytest.raises(ClientError) as exc:
        lambda_client.update_function_configuration(FunctionName=name, Description="again", RevisionId=old)
    assert error_of(exc) == (412, "PreconditionFailedException", STALE_REVISION)
    assert lambda_client.get_function_configuration(FunctionName=name)["Description"] == "changed"
