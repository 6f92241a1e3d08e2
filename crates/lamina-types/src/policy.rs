//! Resource-based policies of functions: the AddPermission request, the statement AWS renders
//! from it, the policy document GetPolicy returns, and how Invoke evaluates a policy for a
//! caller that is not the account's root.
//!
//! Rendering follows AWS byte for byte: member order `Sid, Effect, Principal, Action, Resource,
//! Condition`; conditions `StringEquals` (`lambda:FunctionUrlAuthType`, `aws:PrincipalOrgID`,
//! `AWS:SourceAccount`, `lambda:EventSourceToken`) before `ArnLike` (`AWS:SourceArn`), as in
//! <https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html> and the
//! LocalStack snapshots recorded against AWS.

use serde::{Deserialize, Serialize};

use crate::constraints::{Constraints, Pattern, anchored};
use crate::error::UserError;

/// `Version` of every function policy.
pub const POLICY_VERSION: &str = "2012-10-17";
/// `Id` of every function policy.
pub const POLICY_ID: &str = "default";
/// Largest policy document (bytes of its JSON), as on AWS.
pub const POLICY_MAX_BYTES: usize = 20_480;

const STATEMENT_ID_PATTERN: &str = r"([a-zA-Z0-9-_]+)";
const NAMESPACED_STATEMENT_ID_PATTERN: &str = r"([a-zA-Z0-9-_.]+)";
const ACTION_PATTERN: &str = r"(lambda:[*]|lambda:[a-zA-Z]+|[*])";
const PRINCIPAL_PATTERN: &str = r"[^\s]+";
const SOURCE_ARN_PATTERN: &str = r"arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})?:(\d{12})?:(.*)";
const SOURCE_ACCOUNT_PATTERN: &str = r"\d{12}";
const EVENT_SOURCE_TOKEN_PATTERN: &str = r"[a-zA-Z0-9._\-]+";
const ORG_ID_PATTERN: &str = r"o-[a-z0-9]{10,32}";

static STATEMENT_ID_RE: Pattern = Pattern::new(|| anchored(STATEMENT_ID_PATTERN));
static NAMESPACED_STATEMENT_ID_RE: Pattern =
    Pattern::new(|| anchored(NAMESPACED_STATEMENT_ID_PATTERN));
static ACTION_RE: Pattern = Pattern::new(|| anchored(ACTION_PATTERN));
static PRINCIPAL_RE: Pattern = Pattern::new(|| anchored(PRINCIPAL_PATTERN));
static SOURCE_ARN_RE: Pattern = Pattern::new(|| anchored(SOURCE_ARN_PATTERN));
static SOURCE_ACCOUNT_RE: Pattern = Pattern::new(|| anchored(SOURCE_ACCOUNT_PATTERN));
static EVENT_SOURCE_TOKEN_RE: Pattern = Pattern::new(|| anchored(EVENT_SOURCE_TOKEN_PATTERN));
static ORG_ID_RE: Pattern = Pattern::new(|| anchored(ORG_ID_PATTERN));
static SERVICE_PRINCIPAL_RE: Pattern = Pattern::new(|| {
    anchored(r"[a-z0-9][a-z0-9.-]*\.(amazonaws\.com|amazonaws\.com\.cn|amazon\.com)")
});
static ACCOUNT_RE: Pattern = Pattern::new(|| anchored(r"\d{12}"));
static IAM_ARN_RE: Pattern = Pattern::new(|| anchored(r"arn:aws[a-zA-Z-]*:(iam|sts)::\d{12}:\S+"));

/// Lambda actions a function policy may grant (IAM's list for the `lambda` prefix).
const LAMBDA_ACTIONS: &[&str] = &[
    "AddLayerVersionPermission",
    "AddPermission",
    "CreateAlias",
    "CreateCodeSigningConfig",
    "CreateEventSourceMapping",
    "CreateFunction",
    "CreateFunctionUrlConfig",
    "DeleteAlias",
    "DeleteCodeSigningConfig",
    "DeleteEventSourceMapping",
    "DeleteFunction",
    "DeleteFunctionCodeSigningConfig",
    "DeleteFunctionConcurrency",
    "DeleteFunctionEventInvokeConfig",
    "DeleteFunctionUrlConfig",
    "DeleteLayerVersion",
    "DeleteProvisionedConcurrencyConfig",
    "DisableReplication",
    "EnableReplication",
    "GetAccountSettings",
    "GetAlias",
    "GetCodeSigningConfig",
    "GetEventSourceMapping",
    "GetFunction",
    "GetFunctionCodeSigningConfig",
    "GetFunctionConcurrency",
    "GetFunctionConfiguration",
    "GetFunctionEventInvokeConfig",
    "GetFunctionRecursionConfig",
    "GetFunctionUrlConfig",
    "GetLayerVersion",
    "GetLayerVersionPolicy",
    "GetPolicy",
    "GetProvisionedConcurrencyConfig",
    "GetRuntimeManagementConfig",
    "InvokeAsync",
    "InvokeFunction",
    "InvokeFunctionUrl",
    "ListAliases",
    "ListCodeSigningConfigs",
    "ListEventSourceMappings",
    "ListFunctionEventInvokeConfigs",
    "ListFunctionUrlConfigs",
    "ListFunctions",
    "ListFunctionsByCodeSigningConfig",
    "ListLayerVersions",
    "ListLayers",
    "ListProvisionedConcurrencyConfigs",
    "ListTags",
    "ListVersionsByFunction",
    "PublishLayerVersion",
    "PublishVersion",
    "PutFunctionCodeSigningConfig",
    "PutFunctionConcurrency",
    "PutFunctionEventInvokeConfig",
    "PutFunctionRecursionConfig",
    "PutProvisionedConcurrencyConfig",
    "PutRuntimeManagementConfig",
    "RemoveLayerVersionPermission",
    "RemovePermission",
    "TagResource",
    "UntagResource",
    "UpdateAlias",
    "UpdateCodeSigningConfig",
    "UpdateEventSourceMapping",
    "UpdateFunctionCode",
    "UpdateFunctionCodeSigningConfig",
    "UpdateFunctionConfiguration",
    "UpdateFunctionEventInvokeConfig",
    "UpdateFunctionUrlConfig",
];

/// The AddPermission request body (the function and `Qualifier` come from the URL).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddPermissionRequest {
    pub statement_id: Option<String>,
    pub action: Option<String>,
    pub principal: Option<String>,
    pub source_arn: Option<String>,
    pub source_account: Option<String>,
    pub event_source_token: Option<String>,
    pub revision_id: Option<String>,
    #[serde(rename = "PrincipalOrgID")]
    pub principal_org_id: Option<String>,
    pub function_url_auth_type: Option<String>,
    pub invoked_via_function_url: Option<bool>,
}

/// `Principal` of a statement: `"*"`, `{"Service": …}` or `{"AWS": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Principal {
    /// Anyone (`"*"`).
    Anyone(String),
    /// An AWS service, e.g. `s3.amazonaws.com`.
    Service {
        #[serde(rename = "Service")]
        service: String,
    },
    /// An account root (`arn:aws:iam::<account>:root`) or an IAM identity ARN.
    Aws {
        #[serde(rename = "AWS")]
        aws: String,
    },
}

/// `Condition` of a statement; only the keys AddPermission can produce.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Condition {
    #[serde(
        rename = "StringEquals",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub string_equals: Option<StringEquals>,
    #[serde(rename = "ArnLike", default, skip_serializing_if = "Option::is_none")]
    pub arn_like: Option<ArnLike>,
    #[serde(rename = "Bool", default, skip_serializing_if = "Option::is_none")]
    pub bool: Option<BoolCondition>,
}

/// `StringEquals` keys, in AWS's order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StringEquals {
    #[serde(
        rename = "lambda:FunctionUrlAuthType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub function_url_auth_type: Option<String>,
    #[serde(
        rename = "aws:PrincipalOrgID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub principal_org_id: Option<String>,
    #[serde(
        rename = "AWS:SourceAccount",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub source_account: Option<String>,
    #[serde(
        rename = "lambda:EventSourceToken",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub event_source_token: Option<String>,
}

/// `ArnLike` keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArnLike {
    #[serde(rename = "AWS:SourceArn")]
    pub source_arn: String,
}

/// `Bool` keys (`InvokedViaFunctionUrl`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoolCondition {
    #[serde(rename = "lambda:InvokedViaFunctionUrl")]
    pub invoked_via_function_url: String,
}

/// One statement of a function policy, serialised exactly as AWS renders it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Statement {
    pub sid: String,
    pub effect: String,
    pub principal: Principal,
    pub action: String,
    pub resource: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Condition>,
}

/// The policy document GetPolicy returns (as a JSON string).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument<'a> {
    pub version: &'static str,
    pub id: &'static str,
    pub statement: &'a [Statement],
}

impl PolicyDocument<'_> {
    /// The document's JSON text.
    pub fn render(statements: &[Statement]) -> String {
        let doc = PolicyDocument {
            version: POLICY_VERSION,
            id: POLICY_ID,
            statement: statements,
        };
        serde_json::to_string(&doc).unwrap_or_default()
    }
}

/// `PolicyLengthExceededException` when a policy would outgrow AWS's limit.
pub fn check_policy_size(rendered: &str) -> Result<(), UserError> {
    if rendered.len() > POLICY_MAX_BYTES {
        return Err(UserError::PolicyLengthExceeded(format!(
            "The final policy size ({}) is bigger than the limit ({POLICY_MAX_BYTES}).",
            rendered.len()
        )));
    }
    Ok(())
}

/// Validates a `StatementId` of AddPermission.
pub fn check_statement_id(sid: &str) -> Result<(), UserError> {
    let mut c = Constraints::default();
    statement_id_constraints(&mut c, sid);
    c.finish()
}

/// Validates the `StatementId` path parameter of RemovePermission (which also allows `.`).
pub fn check_namespaced_statement_id(sid: &str) -> Result<(), UserError> {
    let mut c = Constraints::default();
    c.length(sid, "statementId", 1, 100);
    if !sid.is_empty() {
        c.pattern(
            sid,
            "statementId",
            &NAMESPACED_STATEMENT_ID_RE,
            NAMESPACED_STATEMENT_ID_PATTERN,
        );
    }
    c.finish()
}

fn statement_id_constraints(c: &mut Constraints, sid: &str) {
    c.length(sid, "statementId", 1, 100);
    if !sid.is_empty() {
        c.pattern(sid, "statementId", &STATEMENT_ID_RE, STATEMENT_ID_PATTERN);
    }
}

impl AddPermissionRequest {
    /// Checks the request as AWS does (framework constraints together, then the service
    /// rules) and renders the statement for `resource` (the function ARN, qualified if the
    /// permission is for a version or alias).
    pub fn statement(&self, resource: &str) -> Result<Statement, UserError> {
        let mut c = Constraints::default();
        match &self.statement_id {
            None => c.null("statementId"),
            Some(sid) => statement_id_constraints(&mut c, sid),
        }
        match &self.action {
            None => c.null("action"),
            Some(a) => c.pattern(a, "action", &ACTION_RE, ACTION_PATTERN),
        }
        match &self.principal {
            None => c.null("principal"),
            Some(p) => c.pattern(p, "principal", &PRINCIPAL_RE, PRINCIPAL_PATTERN),
        }
        if let Some(arn) = &self.source_arn {
            c.pattern(arn, "sourceArn", &SOURCE_ARN_RE, SOURCE_ARN_PATTERN);
        }
        if let Some(acct) = &self.source_account {
            c.pattern(
                acct,
                "sourceAccount",
                &SOURCE_ACCOUNT_RE,
                SOURCE_ACCOUNT_PATTERN,
            );
        }
        if let Some(token) = &self.event_source_token {
            c.length(token, "eventSourceToken", 0, 256);
            c.pattern(
                token,
                "eventSourceToken",
                &EVENT_SOURCE_TOKEN_RE,
                EVENT_SOURCE_TOKEN_PATTERN,
            );
        }
        if let Some(org) = &self.principal_org_id {
            c.length(org, "principalOrgID", 12, 34);
            c.pattern(org, "principalOrgID", &ORG_ID_RE, ORG_ID_PATTERN);
        }
        if let Some(auth) = &self.function_url_auth_type {
            c.one_of(auth, "functionUrlAuthType", &["NONE", "AWS_IAM"]);
        }
        c.finish()?;
        let (Some(sid), Some(action), Some(principal)) =
            (&self.statement_id, &self.action, &self.principal)
        else {
            // Unreachable: missing members were reported above.
            return Err(UserError::Validation(vec![]));
        };
        check_action(action)?;
        let principal = parse_principal(principal)?;
        Ok(Statement {
            sid: sid.clone(),
            effect: "Allow".to_owned(),
            principal,
            action: action.clone(),
            resource: resource.to_owned(),
            condition: self.condition(),
        })
    }

    fn condition(&self) -> Option<Condition> {
        let string_equals = StringEquals {
            function_url_auth_type: self.function_url_auth_type.clone(),
            principal_org_id: self.principal_org_id.clone(),
            source_account: self.source_account.clone(),
            event_source_token: self.event_source_token.clone(),
        };
        let condition = Condition {
            string_equals: (string_equals != StringEquals::default()).then_some(string_equals),
            arn_like: self
                .source_arn
                .clone()
                .map(|source_arn| ArnLike { source_arn }),
            bool: (self.invoked_via_function_url == Some(true)).then(|| BoolCondition {
                invoked_via_function_url: "true".to_owned(),
            }),
        };
        (condition != Condition::default()).then_some(condition)
    }
}

/// `*`, `lambda:*`, or a Lambda action IAM knows (case-insensitively, as IAM matches them).
fn check_action(action: &str) -> Result<(), UserError> {
    let known = action == "*"
        || action == "lambda:*"
        || action.strip_prefix("lambda:").is_some_and(|name| {
            LAMBDA_ACTIONS
                .iter()
                .any(|known| known.eq_ignore_ascii_case(name))
        });
    if known {
        Ok(())
    } else {
        Err(UserError::InvalidParameterValue(
            "The provided action is invalid. Please check the action and try again.".into(),
        ))
    }
}

/// AWS's principal forms: a service, an account id (rendered as its root), an IAM or STS
/// identity ARN, or `*`.
fn parse_principal(p: &str) -> Result<Principal, UserError> {
    if p == "*" {
        Ok(Principal::Anyone(p.to_owned()))
    } else if SERVICE_PRINCIPAL_RE.is_match(p) {
        Ok(Principal::Service {
            service: p.to_owned(),
        })
    } else if ACCOUNT_RE.is_match(p) {
        Ok(Principal::Aws {
            aws: format!("arn:aws:iam::{p}:root"),
        })
    } else if IAM_ARN_RE.is_match(p) {
        Ok(Principal::Aws { aws: p.to_owned() })
    } else {
        Err(UserError::InvalidParameterValue(
            "The provided principal was invalid. Please check the principal and try again.".into(),
        ))
    }
}

/// The identity behind a signed request, for policy evaluation.
#[derive(Debug, Clone, Copy)]
pub struct Identity<'a> {
    /// The caller's ARN, e.g. `arn:aws:iam::111122223333:user/alice`.
    pub arn: &'a str,
    /// The caller's account id.
    pub account: &'a str,
}

impl Statement {
    /// Whether this statement lets `who` call `lambda:<action>` directly (not through another
    /// service). A statement with any condition never applies to a direct call: its keys
    /// (`AWS:SourceArn`, `AWS:SourceAccount`, `aws:PrincipalOrgID`, the function URL and
    /// event source token keys) are absent from such a request, and IAM evaluates
    /// `StringEquals`/`ArnLike`/`Bool` on an absent key as false.
    pub fn allows(&self, who: Identity<'_>, action: &str) -> bool {
        let action_matches = self.action == "*"
            || self.action == "lambda:*"
            || self
                .action
                .strip_prefix("lambda:")
                .is_some_and(|a| a.eq_ignore_ascii_case(action));
        let principal_matches = match &self.principal {
            Principal::Anyone(p) => p == "*",
            Principal::Service { .. } => false,
            Principal::Aws { aws } => {
                aws == who.arn || aws == who.account || account_root_of(aws) == Some(who.account)
            }
        };
        self.effect == "Allow" && action_matches && principal_matches && self.condition.is_none()
    }
}

/// The account of `arn:<partition>:iam::<account>:root`.
fn account_root_of(arn: &str) -> Option<&str> {
    let rest = arn.strip_prefix("arn:")?;
    let (_partition, rest) = rest.split_once(':')?;
    let rest = rest.strip_prefix("iam::")?;
    let (account, resource) = rest.split_once(':')?;
    (resource == "root").then_some(account)
}

/// The account id in an IAM or STS identity ARN (`arn:aws:iam::<account>:user/alice`).
pub fn account_of_identity(arn: &str) -> Option<&str> {
    if !IAM_ARN_RE.is_match(arn) {
        return None;
    }
    arn.split(':').nth(4)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FN: &str = "arn:aws:lambda:us-east-1:000000000000:function:f";

    fn request(sid: &str, action: &str, principal: &str) -> AddPermissionRequest {
        AddPermissionRequest {
            statement_id: Some(sid.into()),
            action: Some(action.into()),
            principal: Some(principal.into()),
            ..Default::default()
        }
    }

    fn rendered(req: &AddPermissionRequest) -> String {
        serde_json::to_string(&req.statement(FN).unwrap()).unwrap()
    }

    #[test]
    fn statements_render_as_aws_does() {
        let mut s3 = request("s3", "lambda:InvokeFunction", "s3.amazonaws.com");
        s3.source_arn = Some("arn:aws:s3:::bucket".into());
        s3.source_account = Some("123456789012".into());
        assert_eq!(
            rendered(&s3),
            r#"{"Sid":"s3","Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:us-east-1:000000000000:function:f","Condition":{"StringEquals":{"AWS:SourceAccount":"123456789012"},"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::bucket"}}}"#
        );
        assert_eq!(
            rendered(&request("x", "lambda:InvokeFunction", "210987654321")),
            r#"{"Sid":"x","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::210987654321:root"},"Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:us-east-1:000000000000:function:f"}"#
        );
        let mut url = request("u", "lambda:InvokeFunctionUrl", "*");
        url.source_account = Some("111111111111".into());
        url.principal_org_id = Some("o-1234567890".into());
        url.function_url_auth_type = Some("NONE".into());
        url.source_arn = Some("arn:aws:s3:::b".into());
        assert_eq!(
            rendered(&url),
            r#"{"Sid":"u","Effect":"Allow","Principal":"*","Action":"lambda:InvokeFunctionUrl","Resource":"arn:aws:lambda:us-east-1:000000000000:function:f","Condition":{"StringEquals":{"lambda:FunctionUrlAuthType":"NONE","aws:PrincipalOrgID":"o-1234567890","AWS:SourceAccount":"111111111111"},"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::b"}}}"#
        );
        let doc = PolicyDocument::render(&[request("a", "lambda:*", "*").statement(FN).unwrap()]);
        assert_eq!(
            doc,
            r#"{"Version":"2012-10-17","Id":"default","Statement":[{"Sid":"a","Effect":"Allow","Principal":"*","Action":"lambda:*","Resource":"arn:aws:lambda:us-east-1:000000000000:function:f"}]}"#
        );
    }

    #[test]
    fn statements_read_back_identically() {
        let mut s = request("s", "lambda:InvokeFunction", "sns.amazonaws.com");
        s.event_source_token = Some("tok".into());
        let stmt = s.statement(FN).unwrap();
        let text = serde_json::to_string(&stmt).unwrap();
        let back: Statement = serde_json::from_str(&text).unwrap();
        assert_eq!(back, stmt);
        assert_eq!(serde_json::to_string(&back).unwrap(), text);
    }

    #[test]
    fn bad_requests_get_aws_errors() {
        let e = request("example.com", "lambda:InvokeFunction", "s3.amazonaws.com")
            .statement(FN)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "1 validation error detected: Value 'example.com' at 'statementId' failed to satisfy constraint: Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)"
        );
        let missing = AddPermissionRequest::default().statement(FN).unwrap_err();
        assert!(
            missing
                .to_string()
                .starts_with("3 validation errors detected: Value null at 'statementId'")
        );
        assert_eq!(
            request("s", "s3:GetObject", "*").statement(FN).unwrap_err(),
            UserError::Validation(vec![
                "Value 's3:GetObject' at 'action' failed to satisfy constraint: Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])".into()
            ])
        );
        assert!(matches!(
            request("s", "lambda:FlyToTheMoon", "*").statement(FN),
            Err(UserError::InvalidParameterValue(_))
        ));
        assert_eq!(
            request("s", "lambda:InvokeFunction", "invalid.nonaws.com")
                .statement(FN)
                .unwrap_err(),
            UserError::InvalidParameterValue(
                "The provided principal was invalid. Please check the principal and try again."
                    .into()
            )
        );
        assert!(check_statement_id(&"a".repeat(101)).is_err());
        assert!(check_statement_id("a.b").is_err());
        assert!(check_namespaced_statement_id("a.b").is_ok());
        assert!(check_statement_id("ok_id-1").is_ok());
    }

    #[test]
    fn invoke_is_allowed_only_by_a_matching_unconditional_statement() {
        let alice = Identity {
            arn: "arn:aws:iam::111122223333:user/alice",
            account: "111122223333",
        };
        let allows = |action: &str, principal: &str| {
            request("s", action, principal)
                .statement(FN)
                .unwrap()
                .allows(alice, "InvokeFunction")
        };
        assert!(allows("lambda:InvokeFunction", "*"));
        assert!(allows("lambda:InvokeFunction", "111122223333"));
        assert!(allows("lambda:*", "arn:aws:iam::111122223333:user/alice"));
        assert!(allows("*", "111122223333"));
        assert!(!allows(
            "lambda:InvokeFunction",
            "arn:aws:iam::111122223333:user/bob"
        ));
        assert!(!allows("lambda:InvokeFunction", "444455556666"));
        assert!(!allows("lambda:GetFunction", "*"));
        assert!(!allows("lambda:InvokeFunction", "s3.amazonaws.com"));
        let mut conditional = request("c", "lambda:InvokeFunction", "*");
        conditional.source_account = Some("111122223333".into());
        assert!(
            !conditional
                .statement(FN)
                .unwrap()
                .allows(alice, "InvokeFunction")
        );
    }

    #[test]
    fn policies_over_20_kb_are_refused() {
        assert!(check_policy_size(&"x".repeat(POLICY_MAX_BYTES)).is_ok());
        assert_eq!(
            check_policy_size(&"x".repeat(POLICY_MAX_BYTES + 1)).unwrap_err(),
            UserError::PolicyLengthExceeded(
                "The final policy size (20481) is bigger than the limit (20480).".into()
            )
        );
    }
}
