//! `lamina server`: wires the store, the blobs and the API together and serves until a
//! SIGTERM or SIGINT.

use std::sync::Arc;

use anyhow::Context;
use lamina_api::{ApiConfig, AppState, Principal, RootCredentials};
use lamina_blobs::{BlobStore, MasterKey};
use lamina_store::{SealError, Sealer, SqliteStore};

use crate::config::{ServerArgs, ServerConfig};
use crate::{credentials, runtimes};

/// Environment variables are sealed with the same envelope encryption as code blobs.
struct BlobSealer(BlobStore);

impl Sealer for BlobSealer {
    fn seal(&self, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        Ok(self.0.seal(plaintext)?)
    }
    fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        Ok(self.0.open(sealed)?)
    }
}

pub async fn run(args: ServerArgs) -> anyhow::Result<()> {
    let config = ServerConfig::resolve(args)?;
    let data_dir = &config.data_dir;
    create_private_dir(data_dir)?;
    let key = MasterKey::load_or_create(&config.master_key_file)
        .with_context(|| format!("loading master key {}", config.master_key_file.display()))?;
    let blobs =
        BlobStore::open_local(&data_dir.join("blobs"), key).context("opening blob store")?;
    let store = SqliteStore::open(
        &data_dir.join("lamina.db"),
        Arc::new(BlobSealer(blobs.clone())),
    )
    .context("opening database")?;
    let code_cache = data_dir.join("code");
    std::fs::create_dir_all(&code_cache)
        .with_context(|| format!("creating {}", code_cache.display()))?;
    let ((access_key_id, secret), generated) =
        credentials::load_or_generate(data_dir, config.env_credentials.clone())?;

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr().context("reading bound address")?;
    if generated {
        eprintln!(
            "Lamina generated root credentials (kept in {}):\n  export AWS_ACCESS_KEY_ID={access_key_id}\n  export AWS_SECRET_ACCESS_KEY={secret}\n  export AWS_DEFAULT_REGION={}\n  export AWS_ENDPOINT_URL=http://{addr}",
            data_dir.join("credentials").display(),
            config.region
        );
    }
    let runtime_dir = runtimes::install(data_dir).context("installing runtime shims")?;
    let engine = lamina_engine::Engine::start(lamina_engine::EngineConfig {
        jail_exe: std::env::current_exe().context("locating the lamina binary")?,
        runtime_dir,
        work_dir: data_dir.join("envs"),
        logs_dir: data_dir.join("logs"),
        region: config.region.clone(),
        keep_alive: config.keep_alive,
        concurrency_limit: config.limits.concurrent_executions,
        memory_budget_mb: config.memory_budget_mb,
        init_timeout: std::time::Duration::from_secs(10),
        pids_max: 1024,
        // The uid AWS's sandbox user (sbx_user1051) has; any unprivileged id works.
        function_uid: 993,
        function_gid: 990,
        prestarted_sandboxes: config.prestarted_sandboxes,
    });
    let principals = principals(&config, &access_key_id)?;
    let state = AppState::new(
        ApiConfig {
            region: config.region.clone(),
            account_id: config.account_id.clone(),
            limits: config.limits.clone(),
            credentials: RootCredentials {
                access_key_id,
                secret_access_key: secret.into(),
            },
            principals,
            async_invoke: config.async_invoke.clone(),
            telemetry: config.telemetry.clone(),
            billing: config.billing.clone(),
            presign_expiry_secs: 600,
        },
        Arc::new(store),
        blobs,
        code_cache,
        Arc::clone(&engine),
        sqs_sender(&config),
    );
    lamina_api::resume(&state)
        .await
        .context("resuming unfinished function updates")?;
    lamina_api::async_invoke::spawn_workers(state.clone());
    lamina_api::logs_api::retention::start_sweeper(state.clone()).await;
    lamina_api::observe::spawn(state.clone());
    let app = lamina_api::router(state.clone());
    // The one line on stdout: a contract with tests and scripts.
    println!("listening on http://{addr}");
    tracing::info!(%addr, data_dir = %data_dir.display(), "lamina server started");
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving")?;
    lamina_api::observe::shutdown(&state).await;
    engine.shutdown().await;
    tracing::info!("lamina server stopped");
    Ok(())
}

/// The configured principals for the API; none may reuse the root's access key id.
fn principals(config: &ServerConfig, root_key: &str) -> anyhow::Result<Vec<Principal>> {
    config
        .principals
        .iter()
        .map(|p| {
            anyhow::ensure!(
                p.access_key_id != root_key,
                "[[principals]]: access key id {} is the root's",
                p.access_key_id
            );
            Ok(Principal {
                access_key_id: p.access_key_id.clone(),
                secret_access_key: p.secret_access_key.clone().into(),
                arn: p.arn.clone(),
                account_id: p.account_id().unwrap_or_default().to_owned(),
            })
        })
        .collect()
}

/// The SQS-compatible client for async destinations and dead-letter queues, when an endpoint
/// is configured.
fn sqs_sender(config: &ServerConfig) -> Option<Arc<dyn lamina_api::async_invoke::QueueSender>> {
    let settings = &config.async_invoke;
    let endpoint = settings.sqs_endpoint.clone()?;
    let access_key_id = settings
        .sqs_access_key_id
        .clone()
        .unwrap_or_else(|| "lamina".into());
    let secret_access_key = settings
        .sqs_secret_access_key
        .clone()
        .unwrap_or_else(|| "lamina".into());
    Some(Arc::new(lamina_api::sqs::SqsClient::new(
        lamina_api::sqs::SqsConfig {
            endpoint,
            access_key_id,
            secret_access_key,
            region: config.region.clone(),
        },
    )))
}

fn create_private_dir(dir: &std::path::Path) -> anyhow::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("creating data dir {}", dir.display()))
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let term = async {
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = term => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    tracing::info!("shutting down");
}
