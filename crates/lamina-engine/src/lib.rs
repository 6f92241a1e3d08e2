//! The execution engine: runs functions on demand in sandboxed execution environments, reuses
//! warm ones, multiplies them under concurrent load within the account's concurrency and the
//! host's memory budget, and reaps idle ones after the keep-alive period.

mod environment;
pub mod launch;
pub mod logs;
mod output;
mod pool;
pub mod runtime_api;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use lamina_sandbox::CgroupRoot;
use lamina_types::model::FunctionConfig;

use environment::{Environment, Outcome, StartFailure};
pub use pool::Provision;
use pool::{Acquired, Limits, Pooled, Pools};
use runtime_api::Invocation;

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The `lamina` binary, re-executed as `lamina __jail` to build each sandbox.
    pub jail_exe: PathBuf,
    /// Host directory with the runtime shims, mounted at `/var/runtime`.
    pub runtime_dir: PathBuf,
    /// Per-environment scratch space (the disk image behind `/tmp`).
    pub work_dir: PathBuf,
    /// Log streams.
    pub logs_dir: PathBuf,
    pub region: String,
    /// How long an idle environment is kept warm.
    pub keep_alive: Duration,
    /// Concurrent executions in the account.
    pub concurrency_limit: u32,
    /// Memory all environments together may use.
    pub memory_budget_mb: u64,
    pub init_timeout: Duration,
    pub pids_max: u64,
    pub function_uid: u32,
    pub function_gid: u32,
}

/// What an environment runs: one version of a function, frozen.
#[derive(Debug, Clone)]
pub struct FunctionSnapshot {
    pub name: String,
    /// `$LATEST` or a version number.
    pub version: String,
    pub config: FunctionConfig,
    pub environment: BTreeMap<String, String>,
    /// The unpacked code.
    pub code_dir: PathBuf,
    /// The function's layers merged in order (later layers win), mounted read-only at `/opt`.
    pub opt_dir: Option<PathBuf>,
    pub runtime_version_arn: String,
    /// Environments are reused only for snapshots with the same key: new code or
    /// configuration never reuses an old environment.
    pub key: String,
}

/// One synchronous invocation.
pub struct InvokeRequest {
    pub function: Arc<FunctionSnapshot>,
    pub payload: Bytes,
    pub invoked_function_arn: String,
    pub client_context: Option<String>,
    pub trace_id: String,
    pub tail: bool,
    /// The function's reserved concurrency, if it has one.
    pub reserved_concurrency: Option<u32>,
}

/// The result the Invoke API returns.
#[derive(Debug)]
pub struct InvokeResponse {
    pub payload: Bytes,
    pub content_type: Option<String>,
    pub function_error: bool,
    /// Base64 of the last 4 KB of the invocation's log, when asked for.
    pub log_result: Option<String>,
    pub executed_version: String,
    pub request_id: String,
}

/// Invocations the engine could not run.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// 429: no concurrency or memory left.
    #[error("throttled: {reason}")]
    Throttled { reason: &'static str },
    /// The engine cannot run anything on this host (e.g. no cgroups).
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// What environments share.
pub(crate) struct EngineCtx {
    pub config: EngineConfig,
    pub cgroups: Arc<CgroupRoot>,
}

/// The engine. Cheap to share (`Arc`).
pub struct Engine {
    ctx: Option<EngineCtx>,
    unavailable: Option<String>,
    pools: Mutex<Pools<Environment>>,
}

/// Counts of environments, for tests and operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineStats {
    pub live_environments: u32,
    pub idle_environments: u32,
    pub in_flight: u32,
}

impl Engine {
    /// Creates the engine and its reaper. Without usable cgroups (not root, say) the engine
    /// still starts, and every invocation reports why it cannot run.
    pub fn start(config: EngineConfig) -> Arc<Self> {
        for dir in [&config.work_dir, &config.logs_dir] {
            if let Err(e) = std::fs::create_dir_all(dir) {
                tracing::warn!(path = %dir.display(), error = %e, "cannot create engine dir");
            }
        }
        let (ctx, unavailable) = match CgroupRoot::detect("lamina") {
            Ok(cgroups) => (
                Some(EngineCtx {
                    config: config.clone(),
                    cgroups: Arc::new(cgroups),
                }),
                None,
            ),
            Err(e) => {
                let why = format!(
                    "This Lamina server cannot run functions: execution environments need root and cgroups ({e})."
                );
                tracing::warn!("{why}");
                (None, Some(why))
            }
        };
        let engine = Arc::new(Self {
            ctx,
            unavailable,
            pools: Mutex::new(Pools::default()),
        });
        let weak = Arc::downgrade(&engine);
        let period =
            (config.keep_alive / 4).clamp(Duration::from_millis(100), Duration::from_secs(30));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            loop {
                tick.tick().await;
                let Some(engine) = weak.upgrade() else { return };
                engine.reap(config.keep_alive).await;
            }
        });
        engine
    }

    fn pools(&self) -> std::sync::MutexGuard<'_, Pools<Environment>> {
        self.pools.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn ctx(&self) -> Result<&EngineCtx, InvokeError> {
        self.ctx
            .as_ref()
            .ok_or_else(|| InvokeError::Unavailable(self.unavailable.clone().unwrap_or_default()))
    }

    fn limits(ctx: &EngineCtx) -> Limits {
        Limits {
            concurrency: ctx.config.concurrency_limit,
            memory_budget_mb: ctx.config.memory_budget_mb,
        }
    }

    pub fn stats(&self) -> EngineStats {
        let p = self.pools();
        EngineStats {
            live_environments: p.live_envs(),
            idle_environments: p.idle_envs(),
            in_flight: p.in_flight(),
        }
    }

    /// Sets the sum of all functions' reserved concurrency.
    pub fn set_reserved_total(&self, total: u32) {
        self.pools().set_reserved_total(total);
    }

    /// Runs one synchronous invocation.
    pub async fn invoke(&self, req: InvokeRequest) -> Result<InvokeResponse, InvokeError> {
        let ctx = self.ctx()?;
        let function = Arc::clone(&req.function);
        let request_id = uuid::Uuid::new_v4().to_string();
        let memory = u64::from(function.config.memory_size);
        let acquired = self.pools().acquire(
            Self::limits(ctx),
            &function.key,
            &function.name,
            memory,
            req.reserved_concurrency,
        );
        let (slot, acquired) = match acquired {
            Ok(v) => v,
            Err(throttle) => {
                destroy_all(throttle.evicted).await;
                return Err(InvokeError::Throttled {
                    reason: throttle.reason,
                });
            }
        };
        let mut env = match acquired {
            Acquired::Warm(env) => env,
            Acquired::Cold { evicted } => {
                destroy_all(evicted).await;
                match Environment::start(ctx, &function, &request_id, None).await {
                    Ok(env) => env,
                    Err(failure) => {
                        {
                            let mut p = self.pools();
                            p.release_slot(slot);
                            p.env_gone(memory);
                        }
                        return match failure {
                            StartFailure::Function { payload, tail } => Ok(InvokeResponse {
                                payload,
                                content_type: Some("application/json".into()),
                                function_error: true,
                                log_result: req.tail.then(|| tail.encode()),
                                executed_version: function.version.clone(),
                                request_id,
                            }),
                            StartFailure::Platform(e) => Err(InvokeError::Internal(e)),
                        };
                    }
                }
            }
        };
        let deadline_ms = logs::now_ms() as u64 + u64::from(function.config.timeout) * 1000;
        let inv = Invocation {
            request_id: request_id.clone(),
            payload: req.payload,
            deadline_ms,
            invoked_function_arn: req.invoked_function_arn,
            trace_id: req.trace_id,
            client_context: req.client_context,
        };
        let timeout = Duration::from_secs(u64::from(function.config.timeout));
        let ran = env.run(inv, timeout, &function.version, req.tail).await;
        self.pools().release_slot(slot);
        self.release(env, ran.reusable).await;
        let (payload, content_type, function_error) = match ran.outcome {
            Outcome::Success {
                payload,
                content_type,
            } => (payload, content_type, false),
            Outcome::FunctionError { payload } => (payload, Some("application/json".into()), true),
        };
        Ok(InvokeResponse {
            payload,
            content_type,
            function_error,
            log_result: req.tail.then(|| ran.tail.encode()),
            executed_version: function.version.clone(),
            request_id,
        })
    }

    /// Returns an environment to its warm pool, or destroys it.
    async fn release(&self, env: Environment, reusable: bool) {
        if reusable {
            self.pools().put_idle(env, Instant::now());
            return;
        }
        self.pools().env_gone(env.memory_mb());
        env.destroy().await;
    }

    /// Starts `count` environments of `function` ahead of any invocation, for the
    /// provisioned-concurrency `target` (e.g. `name:alias`). Replaces an earlier request.
    pub async fn provision(&self, target: &str, function: Arc<FunctionSnapshot>, count: u32) {
        let Ok(ctx) = self.ctx() else { return };
        let replaced = self.pools().remove_provision(target);
        destroy_all(replaced).await;
        self.pools().set_provision(target, count);
        for _ in 0..count {
            let current = self.pools().provision(target);
            if current.is_none_or(|p| p.requested != count) {
                return;
            }
            let memory = u64::from(function.config.memory_size);
            let room = self.pools().make_room(Self::limits(ctx), memory);
            let evicted = match room {
                Ok(evicted) => evicted,
                Err(evicted) => {
                    destroy_all(evicted).await;
                    tracing::warn!(target, "no memory left for provisioned concurrency");
                    return;
                }
            };
            destroy_all(evicted).await;
            let id = uuid::Uuid::new_v4().to_string();
            match Environment::start(ctx, &function, &id, Some(target)).await {
                Ok(env) => {
                    let mut p = self.pools();
                    p.provisioned_one(target);
                    p.put_idle(env, Instant::now());
                }
                Err(_) => {
                    self.pools().env_gone(memory);
                    tracing::warn!(target, "a provisioned environment failed to initialise");
                    return;
                }
            }
        }
    }

    /// How many environments a provisioned-concurrency target asked for and has.
    pub fn provision_status(&self, target: &str) -> Option<Provision> {
        self.pools().provision(target)
    }

    /// Stops a provisioned-concurrency target and destroys its idle environments.
    pub async fn deprovision(&self, target: &str) {
        let gone = self.pools().remove_provision(target);
        destroy_all(gone).await;
    }

    /// Destroys environments idle for longer than `keep_alive` (never provisioned ones).
    async fn reap(&self, keep_alive: Duration) {
        let expired = self
            .pools()
            .take_idle(|i| i.env.provisioned_for().is_none() && i.since.elapsed() >= keep_alive);
        destroy_all(expired).await;
    }

    /// Destroys the idle, unprovisioned environments whose snapshot key starts with
    /// `key_prefix` (after an update or delete; keys are `<function>:<version>:<digest>`).
    pub async fn retire(&self, key_prefix: &str) {
        let gone = self.pools().take_idle(|i| {
            i.env.provisioned_for().is_none() && i.env.key().starts_with(key_prefix)
        });
        destroy_all(gone).await;
    }

    /// Destroys every idle environment (at shutdown).
    pub async fn shutdown(&self) {
        let all = self.pools().take_idle(|_| true);
        destroy_all(all).await;
    }
}

async fn destroy_all(envs: Vec<Environment>) {
    for env in envs {
        tracing::debug!(env = %env.id, function = %env.function_name, "destroying environment");
        env.destroy().await;
    }
}
