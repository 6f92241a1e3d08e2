//! How a function's runtime is started inside its environment: the command for its runtime
//! family and the environment variables AWS sets (spec: runtime-api.md section 4).

use std::collections::BTreeMap;

use lamina_types::model::FunctionConfig;
use lamina_types::runtime::{Family, family};

/// Where the Runtime API listens inside every environment, as on AWS.
pub const RUNTIME_API_ADDR: &str = "127.0.0.1:9001";
pub const RUNTIME_API_PORT: u16 = 9001;

/// The host name an environment sees: a link-local address, as AWS's sandboxes have.
pub fn sandbox_hostname() -> String {
    format!("169.254.{}.{}", rand::random::<u8>(), rand::random::<u8>())
}

/// The command that starts a function's runtime, or why this host cannot run it.
pub fn command(config: &FunctionConfig) -> Result<Vec<String>, String> {
    let argv = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect();
    match family(&config.runtime) {
        Family::Python => Ok(argv(&[
            "/usr/bin/python3",
            "/var/runtime/python/bootstrap.py",
        ])),
        Family::Node => Ok(argv(&[
            "/usr/bin/node",
            "/var/runtime/nodejs/bootstrap.mjs",
        ])),
        Family::Java => Ok(argv(&[
            "/usr/bin/java",
            "-XX:+TieredCompilation",
            "-XX:TieredStopAtLevel=1",
            "-Xshare:auto",
            "-cp",
            "/var/runtime/java/lamina-java-runtime.jar:/var/task:/var/task/lib/*:/opt/java/lib/*",
            "lamina.runtime.Bootstrap",
        ])),
        // go1.x ran the handler binary itself; provided* run the package's bootstrap.
        Family::Custom if config.runtime == "go1.x" => {
            Ok(vec![format!("/var/task/{}", config.handler)])
        }
        Family::Custom => Ok(argv(&["/var/task/bootstrap"])),
        Family::DotNet | Family::Ruby => Err(format!(
            "The {} runtime is not installed on this Lamina host. Package the function as a custom runtime (provided.al2023) with its own bootstrap.",
            config.runtime
        )),
    }
}

/// Everything that identifies the environment to the runtime.
pub struct EnvIdentity<'a> {
    pub function_name: &'a str,
    pub version: &'a str,
    pub region: &'a str,
    pub log_group: &'a str,
    pub log_stream: &'a str,
    pub initialization_type: &'a str,
}

/// The runtime's environment: AWS's defaults, overridden by the user's variables where AWS
/// allows it, then the reserved variables nobody may override.
pub fn environment(
    config: &FunctionConfig,
    user: &BTreeMap<String, String>,
    id: &EnvIdentity<'_>,
) -> Vec<(String, String)> {
    let mut env: BTreeMap<String, String> = BTreeMap::new();
    let mut set = |k: &str, v: &str| {
        env.insert(k.to_owned(), v.to_owned());
    };
    // Overridable defaults.
    set("TZ", ":UTC");
    set("LANG", "en_US.UTF-8");
    set(
        "PATH",
        "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
    );
    set(
        "LD_LIBRARY_PATH",
        "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib",
    );
    set("AWS_XRAY_CONTEXT_MISSING", "LOG_ERROR");
    set("AWS_XRAY_DAEMON_ADDRESS", "169.254.79.129:2000");
    set("AWS_LAMBDA_LOG_FORMAT", &config.log_format);
    // The runtime filters application logs by this level; with the JSON format AWS's default
    // ApplicationLogLevel is INFO. Text has no level unless one is set.
    match (&config.application_log_level, config.log_format.as_str()) {
        (Some(level), _) => set("AWS_LAMBDA_LOG_LEVEL", level),
        (None, "JSON") => set("AWS_LAMBDA_LOG_LEVEL", "INFO"),
        (None, _) => {}
    }
    match family(&config.runtime) {
        Family::Python => {
            set("PYTHONPATH", "/var/runtime");
            // Output reaches the log stream line by line, as on AWS.
            set("PYTHONUNBUFFERED", "1");
        }
        Family::Node => {
            // Layers may ship modules per Node major version (`nodejs/node22/node_modules`).
            let major = config
                .runtime
                .strip_prefix("nodejs")
                .and_then(|v| v.strip_suffix(".x"))
                .unwrap_or("20");
            set(
                "NODE_PATH",
                &format!(
                    "/opt/nodejs/node{major}/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task"
                ),
            );
        }
        Family::Java => set("CLASSPATH", "/var/task:/var/task/lib/*:/opt/java/lib/*"),
        _ => {}
    }
    for (k, v) in user {
        // Keys starting with `_` are dropped, as RAPID does.
        if !k.starts_with('_') {
            set(k, v);
        }
    }
    // Reserved: always the platform's values.
    set("AWS_LAMBDA_RUNTIME_API", RUNTIME_API_ADDR);
    set("_HANDLER", &config.handler);
    set("LAMBDA_TASK_ROOT", "/var/task");
    set("LAMBDA_RUNTIME_DIR", "/var/runtime");
    set("AWS_REGION", id.region);
    set("AWS_DEFAULT_REGION", id.region);
    set("AWS_LAMBDA_FUNCTION_NAME", id.function_name);
    set("AWS_LAMBDA_FUNCTION_VERSION", id.version);
    set(
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        &config.memory_size.to_string(),
    );
    set("AWS_LAMBDA_LOG_GROUP_NAME", id.log_group);
    set("AWS_LAMBDA_LOG_STREAM_NAME", id.log_stream);
    set("AWS_LAMBDA_INITIALIZATION_TYPE", id.initialization_type);
    if family(&config.runtime) != Family::Custom {
        set(
            "AWS_EXECUTION_ENV",
            &format!("AWS_Lambda_{}", config.runtime),
        );
    }
    env.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(runtime: &str, handler: &str) -> FunctionConfig {
        FunctionConfig {
            runtime: runtime.into(),
            handler: handler.into(),
            role: String::new(),
            description: String::new(),
            timeout: 3,
            memory_size: 256,
            architectures: vec![],
            ephemeral_storage_mb: 512,
            tracing_mode: "PassThrough".into(),
            layers: vec![],
            log_format: "Text".into(),
            log_group: "/aws/lambda/f".into(),
            application_log_level: None,
            system_log_level: None,
            dead_letter_target: None,
            kms_key_arn: None,
            snap_start_apply_on: "None".into(),
            has_environment: false,
        }
    }

    fn id() -> EnvIdentity<'static> {
        EnvIdentity {
            function_name: "f",
            version: "$LATEST",
            region: "us-east-1",
            log_group: "/aws/lambda/f",
            log_stream: "2026/01/01/[$LATEST]abc",
            initialization_type: "on-demand",
        }
    }

    #[test]
    fn user_variables_override_defaults_but_not_reserved_ones() {
        let user = BTreeMap::from([
            ("TZ".to_owned(), "Europe/Paris".to_owned()),
            ("AWS_REGION".to_owned(), "mars-1".to_owned()),
            ("_SECRET".to_owned(), "x".to_owned()),
            ("MINE".to_owned(), "1".to_owned()),
        ]);
        let env: BTreeMap<_, _> = environment(&config("python3.12", "app.handler"), &user, &id())
            .into_iter()
            .collect();
        assert_eq!(env["TZ"], "Europe/Paris");
        assert_eq!(env["AWS_REGION"], "us-east-1");
        assert_eq!(env["MINE"], "1");
        assert!(!env.contains_key("_SECRET"));
        assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
        assert_eq!(env["AWS_EXECUTION_ENV"], "AWS_Lambda_python3.12");
        assert_eq!(env["AWS_LAMBDA_RUNTIME_API"], "127.0.0.1:9001");
    }

    #[test]
    fn the_log_format_and_application_level_reach_the_runtime() {
        let vars = |c: &FunctionConfig| -> BTreeMap<String, String> {
            environment(c, &BTreeMap::new(), &id())
                .into_iter()
                .collect()
        };
        let mut c = config("python3.12", "app.handler");
        let text = vars(&c);
        assert_eq!(text["AWS_LAMBDA_LOG_FORMAT"], "Text");
        assert!(!text.contains_key("AWS_LAMBDA_LOG_LEVEL"));
        c.log_format = "JSON".into();
        assert_eq!(vars(&c)["AWS_LAMBDA_LOG_LEVEL"], "INFO");
        c.application_log_level = Some("WARN".into());
        let json = vars(&c);
        assert_eq!(json["AWS_LAMBDA_LOG_FORMAT"], "JSON");
        assert_eq!(json["AWS_LAMBDA_LOG_LEVEL"], "WARN");
    }

    #[test]
    fn custom_runtimes_run_their_bootstrap_and_get_no_execution_env() {
        let c = config("provided.al2023", "ignored");
        assert_eq!(command(&c).unwrap(), ["/var/task/bootstrap"]);
        let env = environment(&c, &BTreeMap::new(), &id());
        assert!(!env.iter().any(|(k, _)| k == "AWS_EXECUTION_ENV"));
        assert_eq!(
            command(&config("go1.x", "main")).unwrap(),
            ["/var/task/main"]
        );
        assert!(command(&config("dotnet8", "x")).is_err());
    }
}
