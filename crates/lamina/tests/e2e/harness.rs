//! Starts the real binary with its own data dir and builds SDK clients for it.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use aws_credential_types::Credentials;
use aws_sdk_lambda::Client;
use aws_sdk_lambda::config::{BehaviorVersion, Region};

pub const ACCESS_KEY: &str = "LKIATESTTESTTEST0001";
pub const SECRET_KEY: &str = "test-secret-key-for-lamina-e2e-tests-0001";

/// A running `lamina server`, stopped with SIGTERM on drop.
pub struct TestServer {
    child: Option<Child>,
    pub endpoint: String,
    pub data_dir: std::path::PathBuf,
    _temp: Option<tempfile::TempDir>,
}

impl TestServer {
    pub async fn start() -> Self {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("data");
        let mut s = Self::start_in(&dir, &[]);
        s._temp = Some(temp);
        s
    }

    /// Starts a server on `data_dir` with extra flags (no temp dir ownership).
    pub fn start_in(data_dir: &Path, extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lamina"))
            .args(["server", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .env("LAMINA_ROOT_ACCESS_KEY_ID", ACCESS_KEY)
            .env("LAMINA_ROOT_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("LAMINA_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("lamina starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next();
            let _ = tx.send(first);
            // Keep draining so the server never blocks on a full pipe.
            for _ in lines {}
        });
        let line = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("server printed its address within 10 s")
            .expect("stdout has a line")
            .expect("stdout is readable");
        let endpoint = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        assert!(endpoint.starts_with("http://127.0.0.1:"), "{endpoint}");
        Self {
            child: Some(child),
            endpoint,
            data_dir: data_dir.to_owned(),
            _temp: None,
        }
    }

    /// An SDK client with the root credentials.
    pub fn client(&self) -> Client {
        self.client_with(ACCESS_KEY, SECRET_KEY)
    }

    pub fn client_with(&self, key: &str, secret: &str) -> Client {
        let config = aws_sdk_lambda::Config::builder()
            .endpoint_url(&self.endpoint)
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(key, secret, None, None, "static"))
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .retry_config(aws_sdk_lambda::config::retry::RetryConfig::disabled())
            .behavior_version(BehaviorVersion::latest())
            .build();
        Client::from_conf(config)
    }

    /// A CloudWatch Logs SDK client with the root credentials (same plain-HTTP transport).
    pub fn logs_client(&self) -> aws_sdk_cloudwatchlogs::Client {
        let config = aws_sdk_cloudwatchlogs::Config::builder()
            .endpoint_url(&self.endpoint)
            .region(aws_sdk_cloudwatchlogs::config::Region::new("us-east-1"))
            .credentials_provider(Credentials::new(
                ACCESS_KEY, SECRET_KEY, None, None, "static",
            ))
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .retry_config(aws_sdk_cloudwatchlogs::config::retry::RetryConfig::disabled())
            .behavior_version(aws_sdk_cloudwatchlogs::config::BehaviorVersion::latest())
            .build();
        aws_sdk_cloudwatchlogs::Client::from_conf(config)
    }

    /// Kills the server without warning (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Every log message of a function's log group, in file order.
    pub fn log_messages(&self, function: &str) -> Vec<String> {
        let dir = self
            .data_dir
            .join("logs")
            .join(format!("%2Faws%2Flambda%2F{function}"));
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            for line in text.lines() {
                if let Ok(v) = serde_json::from_str::<serde_json::Value>(line)
                    && let Some(m) = v["message"].as_str()
                {
                    out.push(m.to_owned());
                }
            }
        }
        out
    }

    /// Stops the server with SIGTERM and checks it exits cleanly.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = child.id().to_string();
            let _ = Command::new("kill").args(["-TERM", &pid]).status();
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                let _ = tx.send(child.wait());
            });
            let status = rx
                .recv_timeout(Duration::from_secs(10))
                .expect("server exits within 10 s of SIGTERM")
                .unwrap();
            assert!(status.success(), "server exit status {status}");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A deterministic zip built from (name, content) pairs.
pub fn zip_of(files: &[(&str, &str)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    for (name, content) in files {
        w.start_file(*name, opts).unwrap();
        w.write_all(content.as_bytes()).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// The zip of a small Python function.
pub fn python_zip() -> Vec<u8> {
    zip_of(&[("app.py", "def handler(event, context):\n    return event\n")])
}

pub const ROLE: &str = "arn:aws:iam::000000000000:role/lambda-role";

/// A CreateFunction request for a Python function with the given zip.
pub fn create_request(
    client: &Client,
    name: &str,
    zip: Vec<u8>,
) -> aws_sdk_lambda::operation::create_function::builders::CreateFunctionFluentBuilder {
    client
        .create_function()
        .function_name(name)
        .runtime(aws_sdk_lambda::types::Runtime::Python312)
        .role(ROLE)
        .handler("app.handler")
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(aws_sdk_lambda::primitives::Blob::new(zip))
                .build(),
        )
}

/// Waits (bounded) until GetFunction shows the function Active and its last update done.
pub async fn wait_settled(
    client: &Client,
    name: &str,
) -> aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput {
    for _ in 0..200 {
        let c = client
            .get_function_configuration()
            .function_name(name)
            .send()
            .await
            .unwrap();
        let active = c.state() == Some(&aws_sdk_lambda::types::State::Active);
        let updated = matches!(
            c.last_update_status(),
            None | Some(aws_sdk_lambda::types::LastUpdateStatus::Successful)
        );
        if active && updated {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("function {name} never settled");
}

/// Service error code of an SDK error.
pub fn code_of<E, R>(err: &aws_sdk_lambda::error::SdkError<E, R>) -> String
where
    E: aws_sdk_lambda::error::ProvideErrorMetadata,
{
    aws_sdk_lambda::error::ProvideErrorMetadata::code(err)
        .unwrap_or("<none>")
        .to_owned()
}

/// Service error message of an SDK error.
pub fn message_of<E, R>(err: &aws_sdk_lambda::error::SdkError<E, R>) -> String
where
    E: aws_sdk_lambda::error::ProvideErrorMetadata,
{
    aws_sdk_lambda::error::ProvideErrorMetadata::message(err)
        .unwrap_or("<none>")
        .to_owned()
}

/// A plain, unsigned HTTP request with a raw status and body (for auth and download checks).
pub fn raw_request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    use std::io::Read;
    use std::net::TcpStream;
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let mut stream = TcpStream::connect(host).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    (status, headers, body)
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = data.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..eol]).unwrap().trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        out.extend_from_slice(&data[eol + 2..eol + 2 + size]);
        data = &data[eol + 2 + size + 2..];
    }
    out
}

/// A GET signed with the root credentials (for Lamina's own endpoints the SDK doesn't know).
pub fn signed_get(url: &str) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let presigned = lamina_api::sigv4::presign_get(
        &format!("http://{host}"),
        path,
        ACCESS_KEY,
        SECRET_KEY,
        "us-east-1",
        "lambda",
        time::OffsetDateTime::now_utc(),
        60,
    );
    raw_request("GET", &presigned, &[], b"")
}

/// The log tail of an invocation made with `LogType::Tail` (empty without one).
pub fn tail_of(out: &aws_sdk_lambda::operation::invoke::InvokeOutput) -> String {
    use base64::Engine as _;
    out.log_result()
        .map(|l| {
            String::from_utf8(base64::engine::general_purpose::STANDARD.decode(l).unwrap()).unwrap()
        })
        .unwrap_or_default()
}
