//! Where the server is and who we are: the endpoint, region and SigV4 credentials, read like
//! the AWS CLI reads them, and the clients built from them (the Lambda and CloudWatch Logs
//! SDKs, and presigned GETs for Lamina's own endpoints).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use aws_credential_types::Credentials;
use bytes::Bytes;
use clap::Args;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// The default endpoint, where `lamina server` listens unless told otherwise.
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:9000";
const DEFAULT_REGION: &str = "us-east-1";
/// How long one request to Lamina's own endpoints may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// `--endpoint-url` and `--region`, shared by every terminal command.
#[derive(Args, Clone, Debug, Default)]
pub struct Connection {
    /// The server [default: $AWS_ENDPOINT_URL, else http://127.0.0.1:9000].
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// The region to sign for [default: $AWS_REGION, else $AWS_DEFAULT_REGION, else us-east-1].
    #[arg(long)]
    pub region: Option<String>,
}

/// A connection to a Lamina server with the caller's credentials.
pub struct Client {
    pub endpoint: String,
    region: String,
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
    http: HyperClient<HttpConnector, Empty<Bytes>>,
}

/// An environment variable, if set and not empty.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Connection {
    /// Resolves flags, environment and credential files into a client.
    pub fn connect(&self) -> anyhow::Result<Client> {
        let endpoint = self
            .endpoint_url
            .clone()
            .or_else(|| env("AWS_ENDPOINT_URL_LAMBDA"))
            .or_else(|| env("AWS_ENDPOINT_URL"))
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned());
        let endpoint = endpoint.trim().trim_end_matches('/').to_owned();
        if endpoint.starts_with("https://") {
            bail!(
                "{endpoint}: this client speaks plain HTTP only; put the server's http:// \
                 address in --endpoint-url or AWS_ENDPOINT_URL"
            );
        }
        if !endpoint.starts_with("http://") {
            bail!("{endpoint}: the endpoint must be a URL such as {DEFAULT_ENDPOINT}");
        }
        endpoint
            .parse::<http::Uri>()
            .with_context(|| format!("{endpoint} is not a valid URL"))?;
        let region = self
            .region
            .clone()
            .or_else(|| env("AWS_REGION"))
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| DEFAULT_REGION.to_owned());
        let (access_key_id, secret_access_key, session_token) = credentials()?;
        let http = HyperClient::builder(TokioExecutor::new()).build_http();
        Ok(Client {
            endpoint,
            region,
            access_key_id,
            secret_access_key,
            session_token,
            http,
        })
    }
}

/// The key pair: `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, else the AWS CLI's shared
/// credentials file (profile `$AWS_PROFILE` or `default`), else the root credentials a local
/// `lamina server` generated in its default data directory.
fn credentials() -> anyhow::Result<(String, String, Option<String>)> {
    if let (Some(key), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
        return Ok((key, secret, env("AWS_SESSION_TOKEN")));
    }
    if let Some(found) = shared_credentials_file() {
        return Ok(found);
    }
    if let Some(path) = lamina_credentials_file()
        && let Ok(text) = std::fs::read_to_string(&path)
    {
        let mut lines = text.lines().map(str::trim);
        if let (Some(key), Some(secret)) = (lines.next(), lines.next())
            && !key.is_empty()
            && !secret.is_empty()
        {
            return Ok((key.to_owned(), secret.to_owned(), None));
        }
    }
    bail!(
        "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (lamina server prints \
         them on its first start)"
    )
}

/// The access key, secret and token of a profile in `~/.aws/credentials`.
fn shared_credentials_file() -> Option<(String, String, Option<String>)> {
    let path = env("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".aws").join("credentials")))?;
    let text = std::fs::read_to_string(path).ok()?;
    let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".to_owned());
    let (mut key, mut secret, mut token) = (None, None, None);
    let mut inside = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = section.trim() == profile;
            continue;
        }
        if !inside {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            let v = Some(v.trim().to_owned());
            match k.trim() {
                "aws_access_key_id" => key = v,
                "aws_secret_access_key" => secret = v,
                "aws_session_token" => token = v,
                _ => {}
            }
        }
    }
    Some((key?, secret?, token))
}

/// `credentials` in the data directory `lamina server` uses by default.
fn lamina_credentials_file() -> Option<PathBuf> {
    let dir = env("LAMINA_DATA_DIR").map(PathBuf::from).or_else(|| {
        env("XDG_DATA_HOME")
            .map(|x| PathBuf::from(x).join("lamina"))
            .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".local/share/lamina")))
    })?;
    Some(dir.join("credentials"))
}

/// A readable message for an SDK error: the service's error code and message when the server
/// answered, else the whole chain of causes (connection refused, ...).
pub fn sdk_error<E, R>(err: aws_sdk_lambda::error::SdkError<E, R>) -> anyhow::Error
where
    E: aws_sdk_lambda::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    use aws_sdk_lambda::error::ProvideErrorMetadata;
    match (err.code(), err.message()) {
        (Some(code), Some(message)) => anyhow::anyhow!("{code}: {message}"),
        (Some(code), None) => anyhow::anyhow!("{code}"),
        _ => anyhow::anyhow!("{}", aws_sdk_lambda::error::DisplayErrorContext(&err)),
    }
}

impl Client {
    fn credentials(&self) -> Credentials {
        Credentials::new(
            &self.access_key_id,
            &self.secret_access_key,
            self.session_token.clone(),
            None,
            "lamina-cli",
        )
    }

    /// A Lambda API client. `retries`: whether the SDK may retry (not for Invoke, where a
    /// retried timeout would run the function twice).
    pub fn lambda(&self, retries: bool) -> aws_sdk_lambda::Client {
        use aws_sdk_lambda::config::retry::RetryConfig;
        let config = aws_sdk_lambda::Config::builder()
            .endpoint_url(&self.endpoint)
            .region(aws_sdk_lambda::config::Region::new(self.region.clone()))
            .credentials_provider(self.credentials())
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .retry_config(if retries {
                RetryConfig::standard()
            } else {
                RetryConfig::disabled()
            })
            .behavior_version(aws_sdk_lambda::config::BehaviorVersion::latest())
            .build();
        aws_sdk_lambda::Client::from_conf(config)
    }

    /// A CloudWatch Logs client.
    pub fn logs(&self) -> aws_sdk_cloudwatchlogs::Client {
        use aws_sdk_cloudwatchlogs::config::retry::RetryConfig;
        let config = aws_sdk_cloudwatchlogs::Config::builder()
            .endpoint_url(&self.endpoint)
            .region(aws_sdk_cloudwatchlogs::config::Region::new(
                self.region.clone(),
            ))
            .credentials_provider(self.credentials())
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .retry_config(RetryConfig::standard())
            .behavior_version(aws_sdk_cloudwatchlogs::config::BehaviorVersion::latest())
            .build();
        aws_sdk_cloudwatchlogs::Client::from_conf(config)
    }

    /// A presigned GET of one of Lamina's own endpoints (`path_and_query` percent-encoded).
    pub async fn get(&self, path_and_query: &str) -> anyhow::Result<(http::StatusCode, Bytes)> {
        let url = lamina_api::sigv4::presign_get(
            &self.endpoint,
            path_and_query,
            &self.access_key_id,
            &self.secret_access_key,
            &self.region,
            "lambda",
            time::OffsetDateTime::now_utc(),
            60,
        );
        let uri: http::Uri = url.parse().with_context(|| format!("bad URL {url}"))?;
        let fetch = async {
            let response = self.http.get(uri).await?;
            let status = response.status();
            let errortype = response
                .headers()
                .get("x-amzn-errortype")
                .and_then(|v| v.to_str().ok())
                .map(|v| v.split(':').next().unwrap_or(v).to_owned());
            let body = response.into_body().collect().await?.to_bytes();
            anyhow::Ok((status, errortype, body))
        };
        let (status, errortype, body) = tokio::time::timeout(REQUEST_TIMEOUT, fetch)
            .await
            .map_err(|_| anyhow::anyhow!("no answer within {}s", REQUEST_TIMEOUT.as_secs()))
            .and_then(|r| r)
            .with_context(|| format!("GET {}{}", self.endpoint, path_only(path_and_query)))?;
        if !status.is_success() {
            let parsed: Option<Value> = serde_json::from_slice(&body).ok();
            let message = parsed
                .as_ref()
                .and_then(|v| v.get("message").or_else(|| v.get("Message")))
                .and_then(Value::as_str)
                .map_or_else(
                    || String::from_utf8_lossy(&body).trim().to_owned(),
                    str::to_owned,
                );
            let code = errortype.unwrap_or_else(|| format!("HTTP {status}"));
            bail!(
                "GET {}: {code}: {message}",
                path_only(path_and_query).to_owned()
            );
        }
        Ok((status, body))
    }

    /// A presigned GET answered with JSON.
    pub async fn get_json(&self, path_and_query: &str) -> anyhow::Result<Value> {
        let (_, body) = self.get(path_and_query).await?;
        serde_json::from_slice(&body).with_context(|| {
            format!(
                "GET {}: the answer is not JSON",
                path_only(path_and_query).to_owned()
            )
        })
    }
}

fn path_only(path_and_query: &str) -> &str {
    path_and_query.split('?').next().unwrap_or(path_and_query)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_only_drops_the_query() {
        assert_eq!(
            path_only("/_lamina/admin/usage?since=2025-01-01"),
            "/_lamina/admin/usage"
        );
        assert_eq!(path_only("/metrics"), "/metrics");
    }
}
