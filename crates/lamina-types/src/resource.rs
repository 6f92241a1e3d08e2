//! ARNs of taggable Lambda resources (TagResource, UntagResource, ListTags), with the
//! pattern and message AWS's framework validation uses.
//!
//! Each kind of resource is one [`ResourceKind`] entry: its ARN type prefix and the pattern of
//! what follows. Adding a kind (layers: `layer:[a-zA-Z0-9-_]+`) is one entry in [`KINDS`], one
//! variant in [`TaggableResource`], and a handler arm.

use std::sync::LazyLock;

use regex::Regex;

use crate::constraints::{Constraints, anchored};
use crate::error::UserError;

/// The `Resource` pattern of the tagging operations (botocore 1.44.8), quoted in messages.
pub const TAGGABLE_ARN_PATTERN: &str = r"arn:(aws[a-zA-Z-]*):lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:(function:[a-zA-Z0-9-_]+(:(\$LATEST|[a-zA-Z0-9-_]+))?|code-signing-config:csc-[a-z0-9]{17}|event-source-mapping:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|(capacity-provider|network-connector):[a-zA-Z0-9-_]{1,64})";

const REGION_PATTERN: &str = r"(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}";

/// One kind of taggable resource: `arn:<partition>:lambda:<region>:<account>:<type>:<rest>`.
struct ResourceKind {
    kind: Kind,
    /// The ARN resource type, e.g. `function`.
    prefix: &'static str,
    /// What may follow `<type>:`.
    rest: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Function,
    CodeSigningConfig,
    EventSourceMapping,
    CapacityProvider,
    NetworkConnector,
}

const KINDS: &[ResourceKind] = &[
    ResourceKind {
        kind: Kind::Function,
        prefix: "function",
        rest: r"[a-zA-Z0-9-_]+(:(\$LATEST|[a-zA-Z0-9-_]+))?",
    },
    ResourceKind {
        kind: Kind::CodeSigningConfig,
        prefix: "code-signing-config",
        rest: r"csc-[a-z0-9]{17}",
    },
    ResourceKind {
        kind: Kind::EventSourceMapping,
        prefix: "event-source-mapping",
        rest: r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
    },
    ResourceKind {
        kind: Kind::CapacityProvider,
        prefix: "capacity-provider",
        rest: r"[a-zA-Z0-9-_]{1,64}",
    },
    ResourceKind {
        kind: Kind::NetworkConnector,
        prefix: "network-connector",
        rest: r"[a-zA-Z0-9-_]{1,64}",
    },
];

static HEAD_RE: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::expect_used)]
    Regex::new(&format!(
        r"^arn:aws[a-zA-Z-]*:lambda:(?P<region>{REGION_PATTERN}):(?P<account>\d{{12}}):(?P<type>[a-z-]+):(?P<rest>.+)$"
    ))
    .expect("static pattern compiles")
});
static REST_RES: LazyLock<Vec<Regex>> =
    LazyLock::new(|| KINDS.iter().map(|k| anchored(k.rest)).collect());

/// A parsed taggable resource ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggableResource {
    pub region: String,
    pub account: String,
    pub target: Taggable,
}

/// What a taggable ARN names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taggable {
    /// A function, possibly qualified (qualified ARNs are refused by the handlers).
    Function {
        name: String,
        qualifier: Option<String>,
    },
    /// `code-signing-config:csc-…`.
    CodeSigningConfig { id: String },
    /// `event-source-mapping:<uuid>`.
    EventSourceMapping { uuid: String },
    /// `capacity-provider:<name>`.
    CapacityProvider { name: String },
    /// `network-connector:<name>`.
    NetworkConnector { name: String },
}

impl TaggableResource {
    /// Parses a `Resource` path parameter; malformed ARNs get AWS's `ValidationException`.
    pub fn parse(arn: &str) -> Result<Self, UserError> {
        let mut c = Constraints::default();
        c.length(arn, "resource", 1, 10_000);
        c.finish()?;
        let invalid = || {
            UserError::validation(
                arn,
                "resource",
                &format!("Member must satisfy regular expression pattern: {TAGGABLE_ARN_PATTERN}"),
            )
        };
        let caps = HEAD_RE.captures(arn).ok_or_else(invalid)?;
        let (Some(region), Some(account), Some(kind), Some(rest)) = (
            caps.name("region"),
            caps.name("account"),
            caps.name("type"),
            caps.name("rest"),
        ) else {
            return Err(invalid());
        };
        let rest = rest.as_str();
        let (i, entry) = KINDS
            .iter()
            .enumerate()
            .find(|(_, k)| k.prefix == kind.as_str())
            .ok_or_else(invalid)?;
        if !REST_RES.get(i).is_some_and(|re| re.is_match(rest)) {
            return Err(invalid());
        }
        let target = match entry.kind {
            Kind::Function => {
                let (name, qualifier) = match rest.split_once(':') {
                    Some((n, q)) => (n, Some(q.to_owned())),
                    None => (rest, None),
                };
                Taggable::Function {
                    name: name.to_owned(),
                    qualifier,
                }
            }
            Kind::CodeSigningConfig => Taggable::CodeSigningConfig {
                id: rest.to_owned(),
            },
            Kind::EventSourceMapping => Taggable::EventSourceMapping {
                uuid: rest.to_owned(),
            },
            Kind::CapacityProvider => Taggable::CapacityProvider {
                name: rest.to_owned(),
            },
            Kind::NetworkConnector => Taggable::NetworkConnector {
                name: rest.to_owned(),
            },
        };
        Ok(Self {
            region: region.as_str().to_owned(),
            account: account.as_str().to_owned(),
            target,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_arns_parse_with_and_without_qualifier() {
        let r =
            TaggableResource::parse("arn:aws:lambda:us-east-1:000000000000:function:f-1").unwrap();
        assert_eq!(r.region, "us-east-1");
        assert_eq!(r.account, "000000000000");
        assert_eq!(
            r.target,
            Taggable::Function {
                name: "f-1".into(),
                qualifier: None
            }
        );
        let q = TaggableResource::parse("arn:aws:lambda:us-east-1:000000000000:function:f:$LATEST")
            .unwrap();
        assert_eq!(
            q.target,
            Taggable::Function {
                name: "f".into(),
                qualifier: Some("$LATEST".into())
            }
        );
        let esm = TaggableResource::parse(
            "arn:aws:lambda:eu-west-1:000000000000:event-source-mapping:0a1b2c3d-0a1b-0a1b-0a1b-0a1b2c3d4e5f",
        )
        .unwrap();
        assert!(matches!(esm.target, Taggable::EventSourceMapping { .. }));
    }

    #[test]
    fn malformed_arns_get_the_model_pattern() {
        for bad in [
            "arn:aws:something",
            "f",
            "arn:aws:lambda:us-east-1:000000000000:function:f.g",
            "arn:aws:lambda:us-east-1:000000000000:layer:l",
            "arn:aws:lambda:us-east-1:0000:function:f",
        ] {
            let e = TaggableResource::parse(bad).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "1 validation error detected: Value '{bad}' at 'resource' failed to satisfy constraint: Member must satisfy regular expression pattern: {TAGGABLE_ARN_PATTERN}"
                )
            );
        }
    }
}
