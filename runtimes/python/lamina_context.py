"""The context object passed to handlers (awslambdaric lambda_context.py)."""

import os
import sys
import time

from lamina_fault import FaultException
from lamina_marshal import json_loads

# --------------------------------------------------------------------------
# Context object (awslambdaric lambda_context.py).
# --------------------------------------------------------------------------
class CognitoIdentity:
    __slots__ = ["cognito_identity_id", "cognito_identity_pool_id"]

    def __repr__(self):
        return "CognitoIdentity([cognito_identity_id={},cognito_identity_pool_id={}])".format(
            self.cognito_identity_id, self.cognito_identity_pool_id
        )


class Client:
    __slots__ = ["installation_id", "app_title", "app_version_name", "app_version_code", "app_package_name"]

    def __repr__(self):
        return "Client([{}])".format(",".join("{}={}".format(s, getattr(self, s)) for s in self.__slots__))


class ClientContext:
    __slots__ = ["custom", "env", "client"]

    def __repr__(self):
        return "ClientContext([custom={},env={},client={}])".format(self.custom, self.env, self.client)


def _obj_from_dict(cls, d):
    if d is None:
        return None
    obj = cls()
    for field in cls.__slots__:
        setattr(obj, field, d.get(field) if isinstance(d, dict) else None)
    return obj


class LambdaContext:
    def __init__(self, invoke_id, client_context, cognito_identity, deadline_ms, invoked_function_arn, tenant_id=None):
        self.aws_request_id = invoke_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        memory = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        try:
            self.memory_limit_in_mb = int(memory) if memory is not None else None
        except ValueError:
            self.memory_limit_in_mb = memory
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = tenant_id
        self.client_context = _obj_from_dict(ClientContext, client_context)
        if self.client_context is not None:
            self.client_context.client = _obj_from_dict(Client, self.client_context.client)
        # awslambdaric always provides an identity object (fields None when
        # the invoke carried no Cognito identity).
        self.identity = _obj_from_dict(CognitoIdentity, {})
        if cognito_identity is not None:
            self.identity.cognito_identity_id = cognito_identity.get("cognitoIdentityId")
            self.identity.cognito_identity_pool_id = cognito_identity.get("cognitoIdentityPoolId")
        self._deadline_ms = int(deadline_ms) if deadline_ms else 0

    def get_remaining_time_in_millis(self):
        delta = self._deadline_ms - int(time.time() * 1000)
        return delta if delta > 0 else 0

    def log(self, msg):
        sys.stdout.write(str(msg))

    def __repr__(self):
        fields = [
            "aws_request_id", "log_group_name", "log_stream_name", "function_name", "memory_limit_in_mb",
            "function_version", "invoked_function_arn", "client_context", "identity", "tenant_id",
        ]
        return "LambdaContext([{}])".format(",".join("{}={}".format(f, getattr(self, f)) for f in fields))


def parse_json_header(value, name):
    try:
        return json_loads(value)
    except Exception as e:
        raise FaultException(
            FaultException.LAMBDA_CONTEXT_UNMARSHAL_ERROR, "Unable to parse {} JSON: {}".format(name, str(e)), None
        )
