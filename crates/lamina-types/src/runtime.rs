//! Runtime identifiers: which are accepted, which are deprecated, and AWS's messages for both.

/// Runtimes AWS accepts for new functions, in the order AWS lists them in its enum error.
const AWS_ACCEPTED: &[&str] = &[
    "nodejs20.x",
    "python3.14",
    "provided.al2023",
    "python3.12",
    "python3.13",
    "nodejs24.x",
    "nodejs22.x",
    "java25",
    "python3.10",
    "python3.11",
    "java21",
    "ruby3.3",
    "ruby3.4",
    "ruby3.2",
    "python3.8",
    "python3.9",
    "java17",
    "nodejs16.x",
    "dotnet10",
    "dotnet8",
    "java11",
    "dotnet6",
    "nodejs18.x",
    "provided.al2",
    "java8.al2",
];

/// Retired on AWS but still run by Lamina: the Go and first custom runtime, because unmodified
/// Go deployments and old `provided` bootstraps are common in self-hosted setups.
const LAMINA_EXTRA: &[&str] = &["go1.x", "provided"];

/// Runtimes in the service model that AWS no longer accepts for creates and updates.
const DEPRECATED: &[&str] = &[
    "nodejs",
    "nodejs4.3",
    "nodejs4.3-edge",
    "nodejs6.10",
    "nodejs8.10",
    "nodejs10.x",
    "nodejs12.x",
    "nodejs14.x",
    "java8",
    "python2.7",
    "python3.6",
    "python3.7",
    "dotnetcore1.0",
    "dotnetcore2.0",
    "dotnetcore2.1",
    "dotnetcore3.1",
    "dotnet5.0",
    "dotnet7",
    "ruby2.5",
    "ruby2.7",
];

/// The `Runtime` enum of the service model (botocore 1.44.8): what a layer version's
/// `CompatibleRuntimes` may list.
const MODEL_ENUM: &[&str] = &[
    "nodejs",
    "nodejs4.3",
    "nodejs6.10",
    "nodejs8.10",
    "nodejs10.x",
    "nodejs12.x",
    "nodejs14.x",
    "nodejs16.x",
    "nodejs18.x",
    "nodejs20.x",
    "nodejs22.x",
    "nodejs24.x",
    "java8",
    "java8.al2",
    "java11",
    "java17",
    "java21",
    "java25",
    "python2.7",
    "python3.6",
    "python3.7",
    "python3.8",
    "python3.9",
    "python3.10",
    "python3.11",
    "python3.12",
    "python3.13",
    "python3.14",
    "dotnetcore1.0",
    "dotnetcore2.0",
    "dotnetcore2.1",
    "dotnetcore3.1",
    "dotnet6",
    "dotnet8",
    "dotnet10",
    "nodejs4.3-edge",
    "go1.x",
    "ruby2.5",
    "ruby2.7",
    "ruby3.2",
    "ruby3.3",
    "ruby3.4",
    "ruby4.0",
    "provided",
    "provided.al2",
    "provided.al2023",
    "nodejs26.x",
    "python3.15",
    "java8.al2023",
    "java11.al2023",
    "java17.al2023",
    "custom",
];

/// The runtimes AWS accepts as the `CompatibleRuntime` filter of ListLayers and
/// ListLayerVersions, in the order its enum error lists them (LocalStack's recording).
const LAYER_FILTER_ENUM: &[&str] = &[
    "ruby3.5",
    "ruby2.6",
    "dotnetcore1.0",
    "python3.7",
    "nodejs8.10",
    "nasa",
    "ruby2.7",
    "python2.7-greengrass",
    "dotnetcore2.0",
    "python3.8",
    "java21",
    "dotnet6",
    "dotnetcore2.1",
    "python3.9",
    "java11",
    "nodejs6.10",
    "provided",
    "dotnetcore3.1",
    "dotnet8",
    "java25",
    "java17",
    "nodejs",
    "nodejs4.3",
    "java8.al2",
    "go1.x",
    "dotnet10",
    "nodejs20.x",
    "go1.9",
    "byol",
    "nodejs10.x",
    "provided.al2023",
    "nodejs22.x",
    "python3.10",
    "java8",
    "nodejs12.x",
    "python3.11",
    "nodejs24.x",
    "nodejs8.x",
    "python3.12",
    "nodejs14.x",
    "nodejs8.9",
    "nodejs26.x",
    "python3.13",
    "python3.14",
    "nodejs16.x",
    "python3.15",
    "provided.al2",
    "nodejs4.3-edge",
    "nodejs18.x",
    "ruby3.2",
    "python3.4",
    "ruby3.3",
    "ruby3.4",
    "ruby2.5",
    "python3.6",
    "python2.7",
];

/// Whether `runtime` may be listed in a layer version's `CompatibleRuntimes`.
pub fn is_model_runtime(runtime: &str) -> bool {
    MODEL_ENUM.contains(&runtime) || is_accepted(runtime)
}

/// Whether `runtime` is a valid `CompatibleRuntime` filter.
pub fn is_layer_filter_runtime(runtime: &str) -> bool {
    LAYER_FILTER_ENUM.contains(&runtime) || is_model_runtime(runtime)
}

/// `[nodejs20.x, python3.14, …]`: the runtimes AWS accepts, as its enum errors list them.
pub fn accepted_enum() -> String {
    format!("[{}]", AWS_ACCEPTED.join(", "))
}

/// The `CompatibleRuntime` filter's enum, as AWS's error lists it.
pub fn layer_filter_enum() -> String {
    format!("[{}]", LAYER_FILTER_ENUM.join(", "))
}

/// Whether Lamina accepts `runtime` for a new or updated function.
pub fn is_accepted(runtime: &str) -> bool {
    AWS_ACCEPTED.contains(&runtime) || LAMINA_EXTRA.contains(&runtime)
}

/// Whether `runtime` is a known, retired runtime (which gets its own message).
pub fn is_deprecated(runtime: &str) -> bool {
    DEPRECATED.contains(&runtime)
}

/// AWS's message for a runtime outside the enum.
pub fn invalid_runtime_message(runtime: &str) -> String {
    format!(
        "Value {runtime} at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [{}] or be a valid ARN",
        AWS_ACCEPTED.join(", ")
    )
}

/// AWS's message for a deprecated runtime.
pub fn deprecated_runtime_message(runtime: &str) -> String {
    format!(
        "The runtime parameter of {runtime} is no longer supported for creating or updating AWS Lambda functions. We recommend you use a supported runtime while creating or updating functions."
    )
}

/// The language family a runtime belongs to, which decides how its code is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Python,
    Node,
    Java,
    DotNet,
    Ruby,
    /// `provided*` and `go1.x`: the zip's own `bootstrap` (or handler binary) runs as is.
    Custom,
}

/// The family of an accepted runtime.
pub fn family(runtime: &str) -> Family {
    if runtime.starts_with("python") {
        Family::Python
    } else if runtime.starts_with("nodejs") {
        Family::Node
    } else if runtime.starts_with("java") {
        Family::Java
    } else if runtime.starts_with("dotnet") {
        Family::DotNet
    } else if runtime.starts_with("ruby") {
        Family::Ruby
    } else {
        Family::Custom
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_deprecated_and_unknown_runtimes_are_told_apart() {
        assert!(is_accepted("python3.12"));
        assert!(is_accepted("go1.x"));
        assert!(!is_accepted("python3.7"));
        assert!(is_deprecated("python3.7"));
        assert!(!is_deprecated("cobol"));
        assert!(invalid_runtime_message("x").starts_with(
            "Value x at 'runtime' failed to satisfy constraint: Member must satisfy enum value set: [nodejs20.x, python3.14,"
        ));
        assert_eq!(family("provided.al2023"), Family::Custom);
        assert_eq!(family("nodejs22.x"), Family::Node);
    }
}
