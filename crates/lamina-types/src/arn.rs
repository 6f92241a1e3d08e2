//! Function names in every form AWS accepts (name, `name:qualifier`, partial ARN, full ARN),
//! with AWS's validation messages.

use std::sync::LazyLock;

use regex::Regex;

use crate::error::UserError;

/// The function-name pattern AWS reports for reads, deletes and invokes.
const NAME_PATTERN: &str = r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_\.]+)(:(\$LATEST(\.PUBLISHED)?|[a-zA-Z0-9-_]+))?";
/// The stricter pattern AWS reports for CreateFunction.
const CREATE_NAME_PATTERN: &str = r"(arn:(aws[a-zA-Z-]*)?:lambda:)?((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?";

static NAME_RE: LazyLock<Regex> = LazyLock::new(|| anchored(NAME_PATTERN));
static CREATE_NAME_RE: LazyLock<Regex> = LazyLock::new(|| anchored(CREATE_NAME_PATTERN));
static QUALIFIER_RE: LazyLock<Regex> = LazyLock::new(|| anchored(r"(|[a-zA-Z0-9$_-]+)"));

fn anchored(pattern: &str) -> Regex {
    #[allow(clippy::expect_used)]
    Regex::new(&format!("^(?:{pattern})$")).expect("static pattern compiles")
}

/// Which operation a name comes from: the limits and the pattern differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameUse {
    /// CreateFunction: strict pattern, ARN up to 140 characters, no qualifier.
    Create,
    /// Get, Update, Delete and the rest: ARN up to 140 characters.
    Manage,
    /// GetFunction, GetFunctionConfiguration and Invoke: ARN up to 170 characters.
    Read,
}

/// A version or alias qualifier.
pub type Qualifier = String;

/// A parsed function reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionRef {
    pub name: String,
    pub qualifier: Option<Qualifier>,
    pub region: Option<String>,
    pub account: Option<String>,
}

impl FunctionRef {
    /// Parses and validates `input`, then checks it names a function of this region and account.
    pub fn parse(
        input: &str,
        usage: NameUse,
        region: &str,
        account: &str,
    ) -> Result<Self, UserError> {
        let max_arn = if usage == NameUse::Read { 170 } else { 140 };
        let length = input.chars().count();
        if length > max_arn {
            return Err(UserError::validation(
                input,
                "functionName",
                &format!("Member must have length less than or equal to {max_arn}"),
            ));
        }
        if length == 0 {
            return Err(UserError::validation(
                input,
                "functionName",
                "Member must have length greater than or equal to 1",
            ));
        }
        let (re, pattern) = match usage {
            NameUse::Create => (&*CREATE_NAME_RE, CREATE_NAME_PATTERN),
            _ => (&*NAME_RE, NAME_PATTERN),
        };
        if !re.is_match(input) {
            return Err(UserError::validation(
                input,
                "functionName",
                &format!("Member must satisfy regular expression pattern: {pattern}"),
            ));
        }
        let parsed = split(input);
        if parsed.name.chars().count() > 64 {
            return Err(UserError::InvalidParameterValue(
                UserError::Validation(vec![UserError::constraint(
                    input,
                    "functionName",
                    "Member must have length less than or equal to 64",
                )])
                .to_string(),
            ));
        }
        if let Some(r) = &parsed.region
            && r != region
        {
            return Err(UserError::NotFound(format!(
                "Functions from '{r}' are not reachable in this region ('{region}')"
            )));
        }
        if let Some(a) = &parsed.account
            && a != account
        {
            return Err(UserError::AccessDenied(format!(
                "The function {input} belongs to account {a}, which this Lamina (account {account}) does not serve."
            )));
        }
        Ok(parsed)
    }

    /// Combines the qualifier in the name with the `Qualifier` query parameter, as AWS does.
    pub fn with_query_qualifier(mut self, query: Option<&str>) -> Result<Self, UserError> {
        let Some(q) = query else { return Ok(self) };
        validate_qualifier(q)?;
        match &self.qualifier {
            Some(existing) if existing != q => Err(UserError::InvalidParameterValue(
                "The derived qualifier from the function name does not match the specified qualifier."
                    .into(),
            )),
            _ => {
                self.qualifier = Some(q.to_owned());
                Ok(self)
            }
        }
    }
}

/// Validates a `Qualifier` query parameter.
pub fn validate_qualifier(q: &str) -> Result<(), UserError> {
    if q.chars().count() > 128 {
        return Err(UserError::validation(
            q,
            "qualifier",
            "Member must have length less than or equal to 128",
        ));
    }
    if q.is_empty() || !QUALIFIER_RE.is_match(q) {
        return Err(UserError::validation(
            q,
            "qualifier",
            r"Member must satisfy regular expression pattern: (|[a-zA-Z0-9$_-]+)",
        ));
    }
    Ok(())
}

/// Splits a name that already matched the pattern into its parts.
fn split(input: &str) -> FunctionRef {
    let parts: Vec<&str> = input.split(':').collect();
    let (region, account, rest): (Option<&str>, Option<&str>, &[&str]) = match parts.as_slice() {
        [
            "arn",
            _partition,
            "lambda",
            region,
            account,
            "function",
            rest @ ..,
        ] => (Some(region), Some(account), rest),
        [account, "function", rest @ ..] => (None, Some(account), rest),
        rest => (None, None, rest),
    };
    let (name, qualifier) = match rest {
        [name, q] => (*name, Some((*q).to_owned())),
        [name, ..] => (*name, None),
        [] => ("", None),
    };
    FunctionRef {
        name: name.to_owned(),
        qualifier,
        region: region.map(str::to_owned),
        account: account.map(str::to_owned),
    }
}

/// `arn:aws:lambda:<region>:<account>:function:<name>`.
pub fn function_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:lambda:{region}:{account}:function:{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<FunctionRef, UserError> {
        FunctionRef::parse(s, NameUse::Manage, "us-east-1", "000000000000")
    }

    #[test]
    fn every_name_form_resolves_to_the_same_function() {
        for form in [
            "f",
            "000000000000:function:f",
            "arn:aws:lambda:us-east-1:000000000000:function:f",
        ] {
            let r = parse(form).unwrap();
            assert_eq!(r.name, "f");
            assert_eq!(r.qualifier, None);
        }
        let q = parse("arn:aws:lambda:us-east-1:000000000000:function:f:prod").unwrap();
        assert_eq!(
            (q.name.as_str(), q.qualifier.as_deref()),
            ("f", Some("prod"))
        );
        assert_eq!(
            parse("f:$LATEST").unwrap().qualifier.as_deref(),
            Some("$LATEST")
        );
    }

    #[test]
    fn bad_names_get_aws_messages() {
        let e = parse("my-function!").unwrap_err();
        assert!(matches!(e, UserError::Validation(_)));
        assert!(e.to_string().starts_with("1 validation error detected: Value 'my-function!' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:"));
        let long = "a".repeat(65);
        assert_eq!(
            parse(&long).unwrap_err(),
            UserError::InvalidParameterValue(format!(
                "1 validation error detected: Value '{long}' at 'functionName' failed to satisfy constraint: Member must have length less than or equal to 64"
            ))
        );
        let arn = format!(
            "arn:aws:lambda:us-east-1:000000000000:function:{}",
            "a".repeat(100)
        );
        assert!(matches!(parse(&arn).unwrap_err(), UserError::Validation(_)));
        assert!(FunctionRef::parse("f.g", NameUse::Create, "us-east-1", "000000000000").is_err());
        assert!(parse("f.g").is_ok());
    }

    #[test]
    fn other_regions_and_accounts_are_refused() {
        assert_eq!(
            parse("arn:aws:lambda:eu-central-1:000000000000:function:f").unwrap_err(),
            UserError::NotFound(
                "Functions from 'eu-central-1' are not reachable in this region ('us-east-1')"
                    .into()
            )
        );
        assert!(matches!(
            parse("123456789012:function:f").unwrap_err(),
            UserError::AccessDenied(_)
        ));
    }

    #[test]
    fn query_qualifier_must_agree_with_the_name() {
        let r = parse("f:1").unwrap();
        assert!(r.clone().with_query_qualifier(Some("1")).is_ok());
        assert_eq!(
            r.with_query_qualifier(Some("2")).unwrap_err(),
            UserError::InvalidParameterValue("The derived qualifier from the function name does not match the specified qualifier.".into())
        );
        assert_eq!(
            parse("f")
                .unwrap()
                .with_query_qualifier(Some("$LATEST"))
                .unwrap()
                .qualifier
                .as_deref(),
            Some("$LATEST")
        );
    }
}
