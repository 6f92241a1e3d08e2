//! Who signed a request. The account's root credentials may call every operation; the
//! principals an operator lists in the config file (`[[principals]]`) may only Invoke, and
//! only functions whose resource-based policy allows them (checked by Invoke itself). Every
//! other operation is refused for them here, before any handler runs, with the
//! `AccessDeniedException` AWS gives an identity without an identity-based policy.

use axum::http::Method;
use lamina_types::arn::{NameUse, function_arn};
use lamina_types::{FunctionRef, UserError};
use percent_encoding::percent_decode_str;

use crate::error::ApiError;
use crate::state::{ApiConfig, Principal};

/// The identity behind an authenticated request, available to handlers as an
/// `axum::Extension<Caller>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub access_key_id: String,
    /// `arn:aws:iam::<account>:root` for the root credentials, else the configured ARN.
    pub principal_arn: String,
    /// The caller's account id.
    pub account_id: String,
    pub is_root: bool,
}

impl Caller {
    /// The caller owning `access_key_id`, if the key is known.
    pub fn lookup(config: &ApiConfig, access_key_id: &str) -> Option<(Self, String)> {
        use secrecy::ExposeSecret;
        if access_key_id == config.credentials.access_key_id {
            let caller = Caller {
                access_key_id: access_key_id.to_owned(),
                principal_arn: format!("arn:aws:iam::{}:root", config.account_id),
                account_id: config.account_id.clone(),
                is_root: true,
            };
            let secret = config
                .credentials
                .secret_access_key
                .expose_secret()
                .to_owned();
            return Some((caller, secret));
        }
        let p: &Principal = config
            .principals
            .iter()
            .find(|p| p.access_key_id == access_key_id)?;
        let caller = Caller {
            access_key_id: access_key_id.to_owned(),
            principal_arn: p.arn.clone(),
            account_id: p.account_id.clone(),
            is_root: false,
        };
        Some((caller, p.secret_access_key.expose_secret().to_owned()))
    }

    /// Refuses every operation but Invoke to a caller that is not the root.
    pub fn check_operation(
        &self,
        config: &ApiConfig,
        method: &Method,
        path: &str,
    ) -> Result<(), ApiError> {
        if self.is_root {
            return Ok(());
        }
        let op = Operation::of(method, path);
        if op.action == "InvokeFunction" && op.function.is_some() {
            return Ok(());
        }
        let resource = op.resource(config);
        Err(ApiError::User(UserError::AccessDenied(format!(
            "User: {} is not authorized to perform: lambda:{} on resource: {resource} because no identity-based policy allows the lambda:{} action",
            self.principal_arn, op.action, op.action
        ))))
    }
}

/// The Lambda action a method and path call, and the function they name (for messages).
struct Operation {
    action: &'static str,
    function: Option<String>,
}

impl Operation {
    fn of(method: &Method, path: &str) -> Self {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let function = |i: usize| {
            segments
                .get(i)
                .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        };
        let m = method.as_str();
        let (action, function) = match segments.as_slice() {
            [_, "functions"] => (
                if m == "POST" {
                    "CreateFunction"
                } else {
                    "ListFunctions"
                },
                None,
            ),
            [_, "functions", _] => (
                match m {
                    "DELETE" => "DeleteFunction",
                    _ => "GetFunction",
                },
                function(2),
            ),
            [_, "functions", _, tail, ..] => (action_of(m, tail), function(2)),
            [_, "tags", _] => (
                match m {
                    "POST" => "TagResource",
                    "DELETE" => "UntagResource",
                    _ => "ListTags",
                },
                None,
            ),
            [_, "account-settings"] => ("GetAccountSettings", None),
            _ => ("*", None),
        };
        Operation { action, function }
    }

    /// The resource ARN AWS names in the denial (`*` for account-wide operations).
    fn resource(&self, config: &ApiConfig) -> String {
        match &self.function {
            Some(f) => {
                match FunctionRef::parse(f, NameUse::Read, &config.region, &config.account_id) {
                    Ok(r) => {
                        let mut arn = function_arn(&config.region, &config.account_id, &r.name);
                        if let Some(q) = r.qualifier {
                            arn.push(':');
                            arn.push_str(&q);
                        }
                        arn
                    }
                    Err(_) => f.clone(),
                }
            }
            None => "*".to_owned(),
        }
    }
}

/// The action of `/<date>/functions/{name}/<tail>` for `method`.
fn action_of(method: &str, tail: &str) -> &'static str {
    match (method, tail) {
        ("POST", "invocations") => "InvokeFunction",
        (_, "configuration") if method == "PUT" => "UpdateFunctionConfiguration",
        (_, "configuration") => "GetFunctionConfiguration",
        (_, "code") => "UpdateFunctionCode",
        ("POST", "versions") => "PublishVersion",
        (_, "versions") => "ListVersionsByFunction",
        ("POST", "aliases") => "CreateAlias",
        ("PUT", "aliases") => "UpdateAlias",
        ("DELETE", "aliases") => "DeleteAlias",
        (_, "aliases") => "GetAlias",
        ("POST", "policy") => "AddPermission",
        ("DELETE", "policy") => "RemovePermission",
        (_, "policy") => "GetPolicy",
        ("PUT", "recursion-config") => "PutFunctionRecursionConfig",
        (_, "recursion-config") => "GetFunctionRecursionConfig",
        ("PUT", "runtime-management-config") => "PutRuntimeManagementConfig",
        (_, "runtime-management-config") => "GetRuntimeManagementConfig",
        ("PUT", "concurrency") => "PutFunctionConcurrency",
        ("DELETE", "concurrency") => "DeleteFunctionConcurrency",
        (_, "concurrency") => "GetFunctionConcurrency",
        _ => "*",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_named_as_iam_names_them() {
        let op = |m: Method, p: &str| {
            let o = Operation::of(&m, p);
            (o.action, o.function)
        };
        assert_eq!(
            op(Method::POST, "/2015-03-31/functions/f/invocations"),
            ("InvokeFunction", Some("f".into()))
        );
        assert_eq!(
            op(Method::GET, "/2015-03-31/functions/"),
            ("ListFunctions", None)
        );
        assert_eq!(
            op(
                Method::GET,
                "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Af/policy"
            ),
            (
                "GetPolicy",
                Some("arn:aws:lambda:us-east-1:000000000000:function:f".into())
            )
        );
        assert_eq!(
            op(Method::DELETE, "/2015-03-31/functions/f"),
            ("DeleteFunction", Some("f".into()))
        );
        assert_eq!(
            op(Method::POST, "/2017-03-31/tags/x"),
            ("TagResource", None)
        );
        assert_eq!(op(Method::GET, "/_lamina/admin/environments"), ("*", None));
    }
}
