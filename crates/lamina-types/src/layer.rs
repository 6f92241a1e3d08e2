//! Layers: layer names and layer version ARNs in the forms AWS accepts, the PublishLayerVersion,
//! ListLayers/ListLayerVersions and AddLayerVersionPermission requests with AWS's validation
//! messages, the stored layer version, and layer policy statements as AWS renders them.
//!
//! Messages follow what LocalStack recorded against AWS (`test_layer_exceptions`,
//! `test_layer_function_exceptions`, `test_layer_policy_exceptions`); the patterns for names
//! are those of the botocore 1.44.8 model unless a recording quotes another one.

use serde::{Deserialize, Serialize};

use crate::constraints::{Constraints, Pattern, anchored};
use crate::error::UserError;
use crate::limits::Limits;
use crate::policy::{Condition, Principal, Statement, StringEquals};
use crate::runtime;
use crate::validate;

/// `LayerName` (a name, or a layer ARN) of every layer operation (`LayerNameOrArn`).
pub const LAYER_NAME_PATTERN: &str = r"(arn:(aws[a-zA-Z-]*)?:lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:layer:[a-zA-Z0-9-_]{1,140}|[a-zA-Z0-9-_]{1,140})";
const LAYER_NAME_MAX: usize = 2048;

/// The `Arn` of GetLayerVersionByArn, as AWS quotes it.
pub const VERSION_ARN_PATTERN: &str = r"arn:(aws[a-zA-Z-]*)?:lambda:[a-z]{2}((-gov)|(-iso(b?)))?-[a-z]+-\d{1}:\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+";

/// One entry of a function's `Layers`, as AWS quotes it.
const FUNCTION_LAYER_PATTERN: &str = r"(arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:layer:[a-zA-Z0-9-_]+:[0-9]+)|(arn:[a-zA-Z0-9-]+:lambda:::awslayer:[a-zA-Z0-9-_]+)";
const FUNCTION_LAYER_MAX: usize = 140;

const STATEMENT_ID_PATTERN: &str = r"([a-zA-Z0-9-_]+)";
const ACTION_PATTERN: &str = "lambda:GetLayerVersion";
const PRINCIPAL_PATTERN: &str = r"\d{12}|\*|arn:(aws[a-zA-Z-]*):iam::\d{12}:root";
const ORG_ID_PATTERN: &str = "o-[a-z0-9]{10,32}";

const ARCHITECTURES: &[&str] = &["x86_64", "arm64"];
/// Most `CompatibleRuntimes` a layer version may list.
pub const COMPATIBLE_RUNTIMES_MAX: usize = 15;
/// Most `CompatibleArchitectures` a layer version may list.
pub const COMPATIBLE_ARCHITECTURES_MAX: usize = 2;
/// Layers list pages: `MaxItems` is 1 to 50, and 50 is the default.
pub const PAGE_MAX: usize = 50;

static LAYER_NAME_RE: Pattern = Pattern::new(|| anchored(LAYER_NAME_PATTERN));
static VERSION_ARN_RE: Pattern = Pattern::new(|| anchored(VERSION_ARN_PATTERN));
static FUNCTION_LAYER_RE: Pattern = Pattern::new(|| anchored(FUNCTION_LAYER_PATTERN));
static STATEMENT_ID_RE: Pattern = Pattern::new(|| anchored(STATEMENT_ID_PATTERN));
static ACTION_RE: Pattern = Pattern::new(|| anchored(ACTION_PATTERN));
static PRINCIPAL_RE: Pattern = Pattern::new(|| anchored(PRINCIPAL_PATTERN));
static ORG_ID_RE: Pattern = Pattern::new(|| anchored(ORG_ID_PATTERN));

/// `arn:aws:lambda:<region>:<account>:layer:<name>`.
pub fn layer_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:lambda:{region}:{account}:layer:{name}")
}

/// `arn:aws:lambda:<region>:<account>:layer:<name>:<version>`.
pub fn layer_version_arn(region: &str, account: &str, name: &str, version: u64) -> String {
    format!("{}:{version}", layer_arn(region, account, name))
}

/// The layer a `LayerName` path parameter names: a bare name (of the caller's region and
/// account) or a layer ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerName {
    pub name: String,
    /// Region and account when the parameter was an ARN.
    pub region: Option<String>,
    pub account: Option<String>,
}

impl LayerName {
    /// Validates a `LayerName` as AWS's framework does (`ValidationException`).
    pub fn parse(input: &str) -> Result<Self, UserError> {
        let mut c = Constraints::default();
        c.length(input, "layerName", 1, LAYER_NAME_MAX);
        if !input.is_empty() && input.chars().count() <= LAYER_NAME_MAX {
            c.pattern(input, "layerName", &LAYER_NAME_RE, LAYER_NAME_PATTERN);
        }
        c.finish()?;
        let parts: Vec<&str> = input.split(':').collect();
        Ok(match parts.as_slice() {
            ["arn", _partition, "lambda", region, account, "layer", name] => Self {
                name: (*name).to_owned(),
                region: Some((*region).to_owned()),
                account: Some((*account).to_owned()),
            },
            _ => Self {
                name: input.to_owned(),
                region: None,
                account: None,
            },
        })
    }

    /// Whether the layer belongs to this region and account (a bare name always does).
    pub fn is_local(&self, region: &str, account: &str) -> bool {
        self.region.as_deref().is_none_or(|r| r == region)
            && self.account.as_deref().is_none_or(|a| a == account)
    }
}

/// A parsed layer version ARN (`arn:<partition>:lambda:<region>:<account>:layer:<name>:<n>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerVersionArn {
    pub region: String,
    pub account: String,
    pub name: String,
    pub version: u64,
}

impl LayerVersionArn {
    /// Splits an ARN that is known to be a layer version ARN; `None` for anything else
    /// (including AWS-managed `awslayer` ARNs, which have no version).
    pub fn split(arn: &str) -> Option<Self> {
        let parts: Vec<&str> = arn.split(':').collect();
        match parts.as_slice() {
            [
                "arn",
                _partition,
                "lambda",
                region,
                account,
                "layer",
                name,
                version,
            ] => Some(Self {
                region: (*region).to_owned(),
                account: (*account).to_owned(),
                name: (*name).to_owned(),
                version: version.parse().ok()?,
            }),
            _ => None,
        }
    }

    /// Parses the `Arn` of GetLayerVersionByArn (`ValidationException` when malformed).
    pub fn parse_query(arn: &str) -> Result<Self, UserError> {
        let invalid = || {
            UserError::validation(
                arn,
                "arn",
                &format!("Member must satisfy regular expression pattern: {VERSION_ARN_PATTERN}"),
            )
        };
        if !VERSION_ARN_RE.is_match(arn) {
            return Err(invalid());
        }
        Self::split(arn).ok_or_else(invalid)
    }

    /// The ARN of the layer (without the version).
    pub fn layer_arn(&self) -> String {
        layer_arn(&self.region, &self.account, &self.name)
    }
}

/// The framework check of a function's `Layers` (CreateFunction, UpdateFunctionConfiguration):
/// every entry must be a layer version ARN of at most 140 characters.
pub fn check_function_layers(layers: &[String]) -> Option<String> {
    let bad = |l: &String| {
        l.is_empty() || l.chars().count() > FUNCTION_LAYER_MAX || !FUNCTION_LAYER_RE.is_match(l)
    };
    layers.iter().any(bad).then(|| {
        UserError::constraint(
            &format!("[{}]", layers.join(", ")),
            "layers",
            &format!(
                "Member must satisfy constraint: [Member must have length less than or equal to {FUNCTION_LAYER_MAX}, Member must have length greater than or equal to 1, Member must satisfy regular expression pattern: {FUNCTION_LAYER_PATTERN}, Member must not be null]"
            ),
        )
    })
}

/// `Layer version <arn> does not exist.` (InvalidParameterValue on functions, NotFound on the
/// permission operations).
pub fn does_not_exist(arn: &str) -> String {
    format!("Layer version {arn} does not exist.")
}

/// AWS's message for a function that references two versions of one layer.
pub fn same_layer_twice(first: &str, second: &str) -> String {
    format!(
        "Two different versions of the same layer are not allowed to be referenced in the same function. {first} and {second} are versions of the same layer."
    )
}

/// AWS's message for layers of another region.
pub fn other_region(region: &str) -> String {
    format!(
        "Layers are not in the same region as the function. Layers are expected to be in region {region}."
    )
}

/// AWS's message for a function whose code and layers unzip to more than the limit.
pub fn combined_too_large(limits: &Limits, actual: u64) -> UserError {
    UserError::InvalidParameterValue(format!(
        "Function code combined with layers exceeds the maximum allowed size of {} bytes. The actual size is {actual} bytes.",
        limits.code_unzipped_max_bytes
    ))
}

/// `VersionNumber` of the layer version operations.
pub fn check_version_number(version: i64) -> Result<u64, UserError> {
    u64::try_from(version)
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| {
            UserError::InvalidParameterValue("Layer Version Cannot be less than 1".into())
        })
}

/// One version of a layer as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerVersionRecord {
    pub layer_name: String,
    pub version: u64,
    pub description: String,
    pub license_info: Option<String>,
    /// `None` when the publisher gave none (AWS then omits the member).
    pub compatible_runtimes: Option<Vec<String>>,
    pub compatible_architectures: Option<Vec<String>>,
    /// Lowercase hex SHA-256 of the zip: the blob key.
    pub code_sha256_hex: String,
    pub code_size: u64,
    /// Bytes of the unpacked content (counted while checking the zip).
    pub unzipped_size: u64,
    pub created_date: String,
    /// RevisionId of the version's policy; changes with every permission added or removed.
    pub policy_revision_id: String,
}

impl LayerVersionRecord {
    /// Whether this version matches the ListLayers/ListLayerVersions filters.
    pub fn matches(&self, runtime: Option<&str>, architecture: Option<&str>) -> bool {
        let has = |list: &Option<Vec<String>>, v: &str| {
            list.as_ref().is_some_and(|l| l.iter().any(|x| x == v))
        };
        runtime.is_none_or(|r| has(&self.compatible_runtimes, r))
            && architecture.is_none_or(|a| has(&self.compatible_architectures, a))
    }
}

/// `Content` of PublishLayerVersion.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LayerContent {
    /// Base64 of the zip.
    pub zip_file: Option<String>,
    pub s3_bucket: Option<String>,
    pub s3_key: Option<String>,
    pub s3_object_version: Option<String>,
}

/// The PublishLayerVersion request body (the name comes from the path).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublishLayerVersionRequest {
    pub content: Option<LayerContent>,
    pub description: Option<String>,
    pub compatible_runtimes: Option<Vec<String>>,
    pub compatible_architectures: Option<Vec<String>>,
    pub license_info: Option<String>,
}

/// A validated PublishLayerVersion request.
#[derive(Debug, Clone)]
pub struct NewLayerVersion {
    pub zip: Vec<u8>,
    pub description: String,
    pub license_info: Option<String>,
    pub compatible_runtimes: Option<Vec<String>>,
    pub compatible_architectures: Option<Vec<String>>,
}

fn shown(list: &[String]) -> String {
    format!("[{}]", list.join(", "))
}

impl PublishLayerVersionRequest {
    /// Checks the request as AWS does (framework constraints together, then the content) and
    /// decodes the zip (50 MB zipped limit; the zip's contents are checked when stored).
    pub fn validate(self, limits: &Limits) -> Result<NewLayerVersion, UserError> {
        let mut c = Constraints::default();
        if let Some(d) = &self.description {
            c.length(d, "description", 0, 256);
        }
        if let Some(rts) = &self.compatible_runtimes {
            if rts.len() > COMPATIBLE_RUNTIMES_MAX {
                c.fail(
                    &shown(rts),
                    "compatibleRuntimes",
                    &format!(
                        "Member must have length less than or equal to {COMPATIBLE_RUNTIMES_MAX}"
                    ),
                );
            } else if rts.iter().any(|r| !runtime::is_model_runtime(r)) {
                c.fail(
                    &shown(rts),
                    "compatibleRuntimes",
                    &format!(
                        "Member must satisfy enum value set: {}",
                        runtime::accepted_enum()
                    ),
                );
            }
        }
        if let Some(l) = &self.license_info {
            c.length(l, "licenseInfo", 0, 512);
        }
        if let Some(archs) = &self.compatible_architectures {
            if archs.len() > COMPATIBLE_ARCHITECTURES_MAX {
                c.fail(
                    &shown(archs),
                    "compatibleArchitectures",
                    &format!(
                        "Member must have length less than or equal to {COMPATIBLE_ARCHITECTURES_MAX}"
                    ),
                );
            } else if archs.iter().any(|a| !ARCHITECTURES.contains(&a.as_str())) {
                c.fail(
                    &shown(archs),
                    "compatibleArchitectures",
                    "Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64]]",
                );
            }
        }
        let content = match self.content {
            Some(content) => content,
            None => {
                c.null("content");
                LayerContent::default()
            }
        };
        c.finish()?;
        validate::check_code_source(
            content.zip_file.as_deref(),
            content.s3_bucket.as_deref(),
            content.s3_key.as_deref(),
            None,
        )?;
        let zip = validate::decode_zip(content.zip_file.as_deref().unwrap_or_default(), limits)?;
        Ok(NewLayerVersion {
            zip,
            description: self.description.unwrap_or_default(),
            license_info: self.license_info,
            compatible_runtimes: self.compatible_runtimes,
            compatible_architectures: self.compatible_architectures,
        })
    }
}

/// The query of ListLayers and ListLayerVersions.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListLayersQuery {
    #[serde(rename = "CompatibleRuntime")]
    pub compatible_runtime: Option<String>,
    #[serde(rename = "CompatibleArchitecture")]
    pub compatible_architecture: Option<String>,
    #[serde(rename = "Marker")]
    pub marker: Option<String>,
    #[serde(rename = "MaxItems")]
    pub max_items: Option<String>,
}

impl ListLayersQuery {
    /// Checks the filters and `MaxItems` (framework constraints, reported together) and
    /// returns the page size.
    pub fn page_size(&self) -> Result<usize, UserError> {
        let mut c = Constraints::default();
        if let Some(r) = &self.compatible_runtime
            && !runtime::is_layer_filter_runtime(r)
        {
            c.fail(
                r,
                "compatibleRuntime",
                &format!(
                    "Member must satisfy enum value set: {}",
                    runtime::layer_filter_enum()
                ),
            );
        }
        if let Some(a) = &self.compatible_architecture {
            c.one_of(a, "compatibleArchitecture", ARCHITECTURES);
        }
        let size = match self.max_items.as_deref().map(str::parse::<i64>) {
            None => PAGE_MAX,
            Some(Err(_)) => {
                return Err(UserError::InvalidParameterValue(
                    "MaxItems must be an integer.".into(),
                ));
            }
            Some(Ok(n)) => {
                if n < 1 {
                    c.fail(
                        &n.to_string(),
                        "maxItems",
                        "Member must have value greater than or equal to 1",
                    );
                } else if n > PAGE_MAX as i64 {
                    c.fail(
                        &n.to_string(),
                        "maxItems",
                        &format!("Member must have value less than or equal to {PAGE_MAX}"),
                    );
                }
                usize::try_from(n).unwrap_or(PAGE_MAX).clamp(1, PAGE_MAX)
            }
        };
        c.finish()?;
        Ok(size)
    }

    /// The marker, when one was given.
    pub fn marker(&self) -> Option<&str> {
        self.marker.as_deref().filter(|m| !m.is_empty())
    }
}

/// The AddLayerVersionPermission request body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddLayerVersionPermissionRequest {
    pub statement_id: Option<String>,
    pub action: Option<String>,
    pub principal: Option<String>,
    pub organization_id: Option<String>,
}

impl AddLayerVersionPermissionRequest {
    /// Checks the request (framework constraints, reported together) and renders the
    /// statement for the layer version `resource`.
    pub fn statement(&self, resource: &str) -> Result<Statement, UserError> {
        let mut c = Constraints::default();
        match &self.statement_id {
            None => c.null("statementId"),
            Some(sid) => {
                c.length(sid, "statementId", 1, 100);
                if !sid.is_empty() {
                    c.pattern(sid, "statementId", &STATEMENT_ID_RE, STATEMENT_ID_PATTERN);
                }
            }
        }
        match &self.action {
            None => c.null("action"),
            Some(a) => c.pattern(a, "action", &ACTION_RE, ACTION_PATTERN),
        }
        match &self.principal {
            None => c.null("principal"),
            Some(p) => c.pattern(p, "principal", &PRINCIPAL_RE, PRINCIPAL_PATTERN),
        }
        if let Some(o) = &self.organization_id {
            c.pattern(o, "organizationId", &ORG_ID_RE, ORG_ID_PATTERN);
        }
        c.finish()?;
        let principal = match self.principal.as_deref().unwrap_or("*") {
            "*" => Principal::Anyone("*".into()),
            p if p.starts_with("arn:") => Principal::Aws { aws: p.to_owned() },
            account => Principal::Aws {
                aws: format!("arn:aws:iam::{account}:root"),
            },
        };
        let condition = self.organization_id.as_ref().map(|org| Condition {
            string_equals: Some(StringEquals {
                principal_org_id: Some(org.clone()),
                ..Default::default()
            }),
            ..Default::default()
        });
        Ok(Statement {
            sid: self.statement_id.clone().unwrap_or_default(),
            effect: "Allow".into(),
            principal,
            action: ACTION_PATTERN.into(),
            resource: resource.to_owned(),
            condition,
        })
    }
}

/// The statement id of RemoveLayerVersionPermission (a path parameter).
pub fn check_statement_id(sid: &str) -> Result<(), UserError> {
    let mut c = Constraints::default();
    c.length(sid, "statementId", 1, 100);
    if !sid.is_empty() {
        c.pattern(sid, "statementId", &STATEMENT_ID_RE, STATEMENT_ID_PATTERN);
    }
    c.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:lambda:us-east-1:000000000000:layer:shared";

    #[test]
    fn layer_names_in_both_forms() {
        let n = LayerName::parse("shared").unwrap();
        assert_eq!(
            (n.name.as_str(), n.region, n.account),
            ("shared", None, None)
        );
        let a = LayerName::parse(ARN).unwrap();
        assert_eq!(a.name, "shared");
        assert!(a.is_local("us-east-1", "000000000000"));
        assert!(!a.is_local("eu-west-1", "000000000000"));
        let e = LayerName::parse("my.layer").unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "1 validation error detected: Value 'my.layer' at 'layerName' failed to satisfy constraint: Member must satisfy regular expression pattern: {LAYER_NAME_PATTERN}"
            )
        );
        assert!(LayerName::parse(&"a".repeat(141)).is_err());
        assert!(LayerName::parse(&"a".repeat(140)).is_ok());
    }

    #[test]
    fn version_arns_are_checked_with_aws_patterns() {
        let v = LayerVersionArn::parse_query(&format!("{ARN}:3")).unwrap();
        assert_eq!((v.name.as_str(), v.version), ("shared", 3));
        assert_eq!(v.layer_arn(), ARN);
        let e = LayerVersionArn::parse_query(ARN).unwrap_err();
        assert!(e.to_string().starts_with(&format!(
            "1 validation error detected: Value '{ARN}' at 'arn' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:lambda:"
        )));
        assert_eq!(check_function_layers(&[format!("{ARN}:1")]), None);
        let bad = check_function_layers(&[ARN.to_owned()]).unwrap();
        assert!(bad.starts_with(&format!(
            "Value '[{ARN}]' at 'layers' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 140,"
        )));
    }

    #[test]
    fn publish_validation_reports_runtimes_and_architectures_together() {
        let req = PublishLayerVersionRequest {
            content: Some(LayerContent {
                zip_file: Some("UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==".into()),
                ..Default::default()
            }),
            compatible_runtimes: Some(vec!["invalidruntime".into(), "nodejs16.x".into()]),
            compatible_architectures: Some(vec!["invalidarch".into(), "x86_64".into()]),
            ..Default::default()
        };
        let e = req.validate(&Limits::default()).unwrap_err().to_string();
        assert!(e.starts_with("2 validation errors detected: Value '[invalidruntime, nodejs16.x]' at 'compatibleRuntimes' failed to satisfy constraint: Member must satisfy enum value set: [nodejs20.x, "), "{e}");
        assert!(e.ends_with("; Value '[invalidarch, x86_64]' at 'compatibleArchitectures' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [x86_64, arm64]]"), "{e}");
        let many = PublishLayerVersionRequest {
            compatible_runtimes: Some(vec!["python3.12".into(); 16]),
            content: Some(LayerContent::default()),
            ..Default::default()
        };
        assert!(
            many.validate(&Limits::default())
                .unwrap_err()
                .to_string()
                .ends_with("at 'compatibleRuntimes' failed to satisfy constraint: Member must have length less than or equal to 15")
        );
    }

    #[test]
    fn list_filters_use_the_layer_runtime_enum() {
        let q = ListLayersQuery {
            compatible_runtime: Some("runtimedoesnotexist".into()),
            ..Default::default()
        };
        let e = q.page_size().unwrap_err().to_string();
        assert!(e.starts_with("1 validation error detected: Value 'runtimedoesnotexist' at 'compatibleRuntime' failed to satisfy constraint: Member must satisfy enum value set: [ruby3.5, ruby2.6,"), "{e}");
        let q = ListLayersQuery {
            compatible_architecture: Some("archdoesnotexist".into()),
            max_items: Some("51".into()),
            ..Default::default()
        };
        assert_eq!(
            q.page_size().unwrap_err().to_string(),
            "2 validation errors detected: Value 'archdoesnotexist' at 'compatibleArchitecture' failed to satisfy constraint: Member must satisfy enum value set: [x86_64, arm64]; Value '51' at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 50"
        );
        let ok = ListLayersQuery {
            compatible_runtime: Some("python3.12".into()),
            max_items: Some("2".into()),
            ..Default::default()
        };
        assert_eq!(ok.page_size().unwrap(), 2);
    }

    #[test]
    fn statements_render_like_aws() {
        let req = AddLayerVersionPermissionRequest {
            statement_id: Some("xaccount".into()),
            action: Some("lambda:GetLayerVersion".into()),
            principal: Some("223456789012".into()),
            organization_id: None,
        };
        let s = req.statement(&format!("{ARN}:1")).unwrap();
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            format!(
                r#"{{"Sid":"xaccount","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::223456789012:root"}},"Action":"lambda:GetLayerVersion","Resource":"{ARN}:1"}}"#
            )
        );
        let org = AddLayerVersionPermissionRequest {
            statement_id: Some("org".into()),
            action: Some("lambda:GetLayerVersion".into()),
            principal: Some("*".into()),
            organization_id: Some("o-t194hfs8cz".into()),
        };
        assert_eq!(
            serde_json::to_string(&org.statement("r").unwrap()).unwrap(),
            r#"{"Sid":"org","Effect":"Allow","Principal":"*","Action":"lambda:GetLayerVersion","Resource":"r","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-t194hfs8cz"}}}"#
        );
        let bad = AddLayerVersionPermissionRequest {
            statement_id: Some("s".into()),
            action: Some("*".into()),
            principal: Some("*".into()),
            organization_id: None,
        };
        assert_eq!(
            bad.statement("r").unwrap_err().to_string(),
            "1 validation error detected: Value '*' at 'action' failed to satisfy constraint: Member must satisfy regular expression pattern: lambda:GetLayerVersion"
        );
    }

    #[test]
    fn version_numbers_start_at_one() {
        assert_eq!(check_version_number(1).unwrap(), 1);
        assert_eq!(
            check_version_number(0).unwrap_err(),
            UserError::InvalidParameterValue("Layer Version Cannot be less than 1".into())
        );
        assert!(check_version_number(-1).is_err());
    }
}
