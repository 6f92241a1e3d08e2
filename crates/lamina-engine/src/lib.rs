//! The execution engine: runs functions on demand in sandboxed execution environments, reuses
//! warm ones, multiplies them under concurrent load within the account's concurrency and the
//! host's memory budget, and reaps idle ones after the keep-alive period.

mod environment;
pub mod launch;
pub mod logs;
mod output;
pub mod runtime_api;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use lamina_sandbox::CgroupRoot;
use lamina_types::model::FunctionConfig;

use environment::{Environment, Outcome, StartFailure};
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

struct Idle {
    env: Environment,
    since: Instant,
}

#[derive(Default)]
struct Pools {
    idle: HashMap<String, Vec<Idle>>,
    /// Invocations running now.
    in_flight: u32,
    /// Memory of every live environment, idle or busy.
    live_memory_mb: u64,
    live_envs: u32,
}

/// The engine. Cheap to share (`Arc`).
pub struct Engine {
    ctx: Option<EngineCtx>,
    unavailable: Option<String>,
    pools: Mutex<Pools>,
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

    fn pools(&self) -> std::sync::MutexGuard<'_, Pools> {
        self.pools.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn stats(&self) -> EngineStats {
        let p = self.pools();
        EngineStats {
            live_environments: p.live_envs,
            idle_environments: p.idle.values().map(|v| v.len() as u32).sum(),
            in_flight: p.in_flight,
        }
    }

    /// Runs one synchronous invocation.
    pub async fn invoke(&self, req: InvokeRequest) -> Result<InvokeResponse, InvokeError> {
        let Some(ctx) = &self.ctx else {
            return Err(InvokeError::Unavailable(
                self.unavailable.clone().unwrap_or_default(),
            ));
        };
        let function = Arc::clone(&req.function);
        let request_id = uuid::Uuid::new_v4().to_string();
        let (warm, evicted) = self.acquire(ctx, &function)?;
        for env in evicted {
            env.destroy().await;
        }
        let mut env = match warm {
            Some(env) => env,
            None => match Environment::start(ctx, &function, &request_id).await {
                Ok(env) => env,
                Err(failure) => {
                    self.release_slot(u64::from(function.config.memory_size), true);
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
            },
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

    /// Takes a concurrency slot and a warm environment if there is one; otherwise reserves
    /// memory for a cold start, evicting idle environments of other functions if needed.
    fn acquire(
        &self,
        ctx: &EngineCtx,
        function: &FunctionSnapshot,
    ) -> Result<(Option<Environment>, Vec<Environment>), InvokeError> {
        let mut p = self.pools();
        if p.in_flight >= ctx.config.concurrency_limit {
            return Err(InvokeError::Throttled {
                reason: "ConcurrentInvocationLimitExceeded",
            });
        }
        if let Some(list) = p.idle.get_mut(&function.key)
            && let Some(idle) = list.pop()
        {
            p.in_flight += 1;
            return Ok((Some(idle.env), Vec::new()));
        }
        let need = u64::from(function.config.memory_size);
        let mut evicted = Vec::new();
        while p.live_memory_mb + need > ctx.config.memory_budget_mb {
            // Evict the idle environment that has waited longest.
            let oldest = p
                .idle
                .iter()
                .filter_map(|(k, v)| v.first().map(|i| (k.clone(), i.since)))
                .min_by_key(|(_, since)| *since)
                .map(|(k, _)| k);
            let Some(key) = oldest else {
                drop(p);
                self.finish_evictions(evicted);
                return Err(InvokeError::Throttled {
                    reason: "ConcurrentInvocationLimitExceeded",
                });
            };
            if let Some(list) = p.idle.get_mut(&key) {
                let idle = list.remove(0);
                p.live_memory_mb -= u64::from(idle.env.memory_mb);
                p.live_envs -= 1;
                evicted.push(idle.env);
            }
            p.idle.retain(|_, v| !v.is_empty());
        }
        p.in_flight += 1;
        p.live_memory_mb += need;
        p.live_envs += 1;
        Ok((None, evicted))
    }

    fn finish_evictions(&self, evicted: Vec<Environment>) {
        for env in evicted {
            tokio::spawn(env.destroy());
        }
    }

    /// Gives back the slot of an invocation whose environment never came to life.
    fn release_slot(&self, memory_mb: u64, env_gone: bool) {
        let mut p = self.pools();
        p.in_flight = p.in_flight.saturating_sub(1);
        if env_gone {
            p.live_memory_mb = p.live_memory_mb.saturating_sub(memory_mb);
            p.live_envs = p.live_envs.saturating_sub(1);
        }
    }

    /// Returns an environment to its warm pool, or destroys it.
    async fn release(&self, env: Environment, reusable: bool) {
        if reusable {
            let mut p = self.pools();
            p.in_flight = p.in_flight.saturating_sub(1);
            p.idle.entry(env.key.clone()).or_default().push(Idle {
                env,
                since: Instant::now(),
            });
            return;
        }
        self.release_slot(u64::from(env.memory_mb), true);
        env.destroy().await;
    }

    /// Destroys environments idle for longer than `keep_alive`.
    async fn reap(&self, keep_alive: Duration) {
        let expired = self.take_idle(|_, idle| idle.since.elapsed() >= keep_alive);
        for env in expired {
            tracing::debug!(env = %env.id, function = %env.function_name, "reaping idle environment");
            env.destroy().await;
        }
    }

    /// Destroys the idle environments whose snapshot key starts with `key_prefix` (after an
    /// update or delete; keys are `<function>:<version>:<digest>`).
    pub async fn retire(&self, key_prefix: &str) {
        for env in self.take_idle(|env, _| env.key.starts_with(key_prefix)) {
            env.destroy().await;
        }
    }

    /// Destroys every idle environment (at shutdown).
    pub async fn shutdown(&self) {
        for env in self.take_idle(|_, _| true) {
            env.destroy().await;
        }
    }

    fn take_idle(&self, pick: impl Fn(&Environment, &Idle) -> bool) -> Vec<Environment> {
        let mut p = self.pools();
        let mut taken = Vec::new();
        for list in p.idle.values_mut() {
            let mut keep = Vec::new();
            for idle in list.drain(..) {
                if pick(&idle.env, &idle) {
                    taken.push(idle.env);
                } else {
                    keep.push(idle);
                }
            }
            *list = keep;
        }
        p.idle.retain(|_, v| !v.is_empty());
        for env in &taken {
            p.live_memory_mb = p.live_memory_mb.saturating_sub(u64::from(env.memory_mb));
            p.live_envs = p.live_envs.saturating_sub(1);
        }
        taken
    }
}
