"""`LoggingConfig` through boto3, as AWS returns it.

With `LogFormat: JSON` both `ApplicationLogLevel` and `SystemLogLevel` are shown, `INFO` unless the
caller chose them (CreateFunction, UpdateFunctionConfiguration, GetFunction,
GetFunctionConfiguration, ListFunctions, PublishVersion and the versions it makes). Naming the
format in an update sets the levels anew: those given, `INFO` for the others; switching to `Text`
drops them. Levels are refused unless the request's `LogFormat` is `JSON`.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from conftest import create_active, create_kwargs, error_of, unique_name, wait_active, wait_updated

LEVELS_NEED_JSON = (
    400,
    "InvalidParameterValueException",
    'LogLevel is not supported when LogFormat is set to "Text". Remove LogLevel from your request '
    'or change the LogFormat to "JSON" and try again.',
)


def logging_of(name: str, fmt: str, app: str | None = None, system: str | None = None, group: str | None = None):
    config = {"LogFormat": fmt, "LogGroup": group or f"/aws/lambda/{name}"}
    if app is not None:
        config["ApplicationLogLevel"] = app
    if system is not None:
        config["SystemLogLevel"] = system
    return config


def shown(client, name: str, qualifier: str | None = None) -> list[dict]:
    """LoggingConfig as GetFunction and GetFunctionConfiguration show it."""
    extra = {"Qualifier": qualifier} if qualifier else {}
    return [
        client.get_function(FunctionName=name, **extra)["Configuration"]["LoggingConfig"],
        client.get_function_configuration(FunctionName=name, **extra)["LoggingConfig"],
    ]


def test_json_format_shows_info_levels_unless_chosen(lambda_client):
    name = unique_name()
    created = lambda_client.create_function(**create_kwargs(name, LoggingConfig={"LogFormat": "JSON"}))
    expected = logging_of(name, "JSON", "INFO", "INFO")
    assert created["LoggingConfig"] == expected
    wait_active(lambda_client, name)
    assert shown(lambda_client, name) == [expected, expected]
    listed = [f for f in lambda_client.list_functions()["Functions"] if f["FunctionName"] == name]
    assert listed[0]["LoggingConfig"] == expected

    chosen = unique_name()
    created = lambda_client.create_function(
        **create_kwargs(chosen, LoggingConfig={"LogFormat": "JSON", "SystemLogLevel": "WARN"})
    )
    assert created["LoggingConfig"] == logging_of(chosen, "JSON", "INFO", "WARN")


def test_text_format_has_no_levels_and_refuses_them(lambda_client):
    name = unique_name()
    created = create_active(lambda_client, name)
    assert created["LoggingConfig"] == logging_of(name, "Text")
    for config in (
        {"LogFormat": "Text", "ApplicationLogLevel": "DEBUG"},
        {"SystemLogLevel": "WARN"},
    ):
        with pytest.raises(ClientError) as exc:
            lambda_client.create_function(**create_kwargs(unique_name(), LoggingConfig=config))
        assert error_of(exc) == LEVELS_NEED_JSON
        with pytest.raises(ClientError) as exc:
            lambda_client.update_function_configuration(FunctionName=name, LoggingConfig=config)
        assert error_of(exc) == LEVELS_NEED_JSON
    assert shown(lambda_client, name) == [logging_of(name, "Text")] * 2


def test_updating_the_format_sets_the_levels_anew(lambda_client):
    name = unique_name()
    create_active(lambda_client, name)

    # Text -> JSON: INFO unless given.
    resp = lambda_client.update_function_configuration(
        FunctionName=name, LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG"}
    )
    assert resp["LoggingConfig"] == logging_of(name, "JSON", "DEBUG", "INFO")
    wait_updated(lambda_client, name)

    # Without the format the levels stay.
    resp = lambda_client.update_function_configuration(FunctionName=name, LoggingConfig={"LogGroup": "/custom/group"})
    assert resp["LoggingConfig"] == logging_of(name, "JSON", "DEBUG", "INFO", "/custom/group")
    wait_updated(lambda_client, name)

    # Naming JSON again resets the level the request leaves out.
    resp = lambda_client.update_function_configuration(
        FunctionName=name, LoggingConfig={"LogFormat": "JSON", "SystemLogLevel": "WARN"}
    )
    assert resp["LoggingConfig"] == logging_of(name, "JSON", "INFO", "WARN", "/custom/group")
    wait_updated(lambda_client, name)

    # JSON -> Text drops the levels; back to JSON they are INFO again.
    resp = lambda_client.update_function_configuration(FunctionName=name, LoggingConfig={"LogFormat": "Text"})
    assert resp["LoggingConfig"] == logging_of(name, "Text", group="/custom/group")
    wait_updated(lambda_client, name)
    assert shown(lambda_client, name) == [logging_of(name, "Text", group="/custom/group")] * 2
    resp = lambda_client.update_function_configuration(FunctionName=name, LoggingConfig={"LogFormat": "JSON"})
    assert resp["LoggingConfig"] == logging_of(name, "JSON", "INFO", "INFO", "/custom/group")
    wait_updated(lambda_client, name)
    assert shown(lambda_client, name) == [logging_of(name, "JSON", "INFO", "INFO", "/custom/group")] * 2


def test_versions_of_a_json_function_show_the_levels(lambda_client):
    name = unique_name()
    create_active(lambda_client, name, LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "ERROR"})
    expected = logging_of(name, "JSON", "ERROR", "INFO")
    published = lambda_client.publish_version(FunctionName=name)
    assert published["Version"] == "1"
    assert published["LoggingConfig"] == expected
    assert shown(lambda_client, name, "1") == [expected, expected]
    versions = lambda_client.list_versions_by_function(FunctionName=name)["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1"]
    assert all(v["LoggingConfig"] == expected for v in versions)

    created = lambda_client.create_function(
        **create_kwargs(unique_name(), LoggingConfig={"LogFormat": "JSON"}, Publish=True)
    )
    assert created["Version"] == "1"
    assert created["LoggingConfig"]["ApplicationLogLevel"] == "INFO"
    assert created["LoggingConfig"]["SystemLogLevel"] == "INFO"
