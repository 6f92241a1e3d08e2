//! The execution engine: runs functions on demand in sandboxed execution environments, reuses
//! warm ones, multiplies them under concurrent load within the account's concurrency and the
//! host's memory budget, and reaps idle ones after the keep-alive period.

mod environment;
pub mod launch;
pub mod logs;
mod output;
mod pool;
mod prestart;
pub mod runtime_api;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use lamina_sandbox::CgroupRoot;
use lamina_types::model::FunctionConfig;

use environment::{Environment, Figures, Outcome, StartFailure};
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
    /// Sandboxes kept built and waiting for a function, so cold starts skip building one.
    pub prestarted_sandboxes: usize,
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
    /// Called with the REPORT figures once the invocation is complete (after the reply when
    /// no log tail was asked for), before the environment is free again.
    pub on_complete: Option<Box<dyn FnOnce(InvocationMetrics) + Send>>,
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

/// How an invocation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvocationStatus {
    Success,
    /// The function (or its runtime, or its initialisation) failed.
    Error,
    /// The function ran out of time.
    Timeout,
}

/// The figures of one invocation: those of its REPORT line, and how it got its environment.
#[derive(Debug, Clone)]
pub struct InvocationMetrics {
    pub request_id: String,
    /// Wall-clock start of the invoke phase (`START`).
    pub started_at: SystemTime,
    /// `Duration` of the REPORT line (zero when initialisation failed).
    pub duration: Duration,
    /// `Billed Duration` of the REPORT line, in ms.
    pub billed_duration_ms: u64,
    pub memory_size_mb: u32,
    /// Peak memory of the environment (the REPORT line shows it in MB, rounded up).
    pub max_memory_used_bytes: u64,
    /// An on-demand cold start's wall-clock start and `Init Duration`.
    pub init: Option<(SystemTime, Duration)>,
    /// A new environment was started for this invocation.
    pub cold_start: bool,
    /// The invocation ran in a provisioned-concurrency environment.
    pub provisioned: bool,
    pub status: InvocationStatus,
    /// `errorType` of a failed invocation, when known.
    pub error_type: Option<String>,
}

impl InvocationMetrics {
    fn of(figures: Figures, memory_size_mb: u32, init_started_at: Option<SystemTime>) -> Self {
        let status = match figures.status {
            None => InvocationStatus::Success,
            Some("timeout") => InvocationStatus::Timeout,
            Some(_) => InvocationStatus::Error,
        };
        Self {
            request_id: String::new(),
            started_at: figures.started_at,
            duration: figures.duration,
            billed_duration_ms: figures.billed_ms,
            memory_size_mb,
            max_memory_used_bytes: figures.max_memory_used_bytes,
            init: init_started_at.zip(figures.init_duration),
            cold_start: init_started_at.is_some(),
            provisioned: false,
            status,
            error_type: figures.error_type,
        }
    }
}

/// A provisioned-concurrency target's environments: allocated, and idle among them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionedUsage {
    /// `name:qualifier`.
    pub target: String,
    pub requested: u32,
    pub allocated: u32,
    pub idle: u32,
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

/// How long an invocation waits for a finishing environment before starting a new one (a
/// cold start costs far more).
const FINISHING_WAIT: Duration = Duration::from_millis(100);

/// What environments share.
pub(crate) struct EngineCtx {
    pub config: EngineConfig,
    pub prestarted: Arc<prestart::Prestarted>,
}

/// The engine. Cheap to share (`Arc`).
pub struct Engine {
    ctx: Option<EngineCtx>,
    unavailable: Option<String>,
    /// Where log streams are written (known even when no environment can run).
    logs_dir: PathBuf,
    pools: Mutex<Pools<Environment>>,
    /// What each provisioned-concurrency target runs (to replace a lost environment).
    provisioned: Mutex<HashMap<String, Arc<FunctionSnapshot>>>,
    /// Woken whenever an environment goes back to its pool (or away).
    released: tokio::sync::Notify,
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
        sweep_work_dir(&config.work_dir);
        let (ctx, unavailable) = match CgroupRoot::detect("lamina") {
            Ok(cgroups) => {
                let prestarted = prestart::Prestarted::new(&config, Arc::new(cgroups));
                prestarted.refill();
                (
                    Some(EngineCtx {
                        config: config.clone(),
                        prestarted,
                    }),
                    None,
                )
            }
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
            logs_dir: config.logs_dir.clone(),
            pools: Mutex::new(Pools::default()),
            provisioned: Mutex::default(),
            released: tokio::sync::Notify::new(),
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

    /// The directory of the log streams (`logs/<group>/<stream>.jsonl`, see [`logs`]).
    pub fn logs_dir(&self) -> &std::path::Path {
        &self.logs_dir
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
    pub async fn invoke(
        self: &Arc<Self>,
        req: InvokeRequest,
    ) -> Result<InvokeResponse, InvokeError> {
        let ctx = self.ctx()?;
        let function = Arc::clone(&req.function);
        let request_id = uuid::Uuid::new_v4().to_string();
        let memory = u64::from(function.config.memory_size);
        self.await_finishing(&function.key).await;
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
        let mut init_started_at = None;
        let mut env = match acquired {
            Acquired::Warm(env) => env,
            Acquired::Cold { evicted } => {
                destroy_all(evicted).await;
                let began = (SystemTime::now(), Instant::now());
                init_started_at = Some(began.0);
                let started = Environment::start(ctx, &function, &request_id, None).await;
                ctx.prestarted.refill();
                match started {
                    Ok(env) => env,
                    Err(failure) => {
                        {
                            let mut p = self.pools();
                            p.release_slot(slot);
                            p.env_gone(memory);
                        }
                        return match failure {
                            StartFailure::Function { payload, tail } => {
                                if let Some(done) = req.on_complete {
                                    done(InvocationMetrics {
                                        request_id: request_id.clone(),
                                        started_at: SystemTime::now(),
                                        duration: Duration::ZERO,
                                        billed_duration_ms: 0,
                                        memory_size_mb: function.config.memory_size,
                                        max_memory_used_bytes: 0,
                                        init: Some((began.0, began.1.elapsed())),
                                        cold_start: true,
                                        provisioned: false,
                                        status: InvocationStatus::Error,
                                        error_type: None,
                                    });
                                }
                                Ok(InvokeResponse {
                                    payload,
                                    content_type: Some("application/json".into()),
                                    function_error: true,
                                    log_result: req.tail.then(|| tail.encode()),
                                    executed_version: function.version.clone(),
                                    request_id,
                                })
                            }
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
        let provisioned = env.provisioned_for().is_some();
        let (outcome, inflight) = env.run(inv, timeout, &function.version, req.tail).await;
        let (payload, content_type, function_error) = match outcome {
            Outcome::Success {
                payload,
                content_type,
            } => (payload, content_type, false),
            Outcome::FunctionError { payload } => (payload, Some("application/json".into()), true),
        };
        let memory_size = function.config.memory_size;
        let id = request_id.clone();
        let figures = move |ran: &environment::Ran| {
            let mut m = InvocationMetrics::of(ran.figures.clone(), memory_size, init_started_at);
            m.provisioned = provisioned;
            m.request_id = id;
            m
        };
        let mut response = InvokeResponse {
            payload,
            content_type,
            function_error,
            log_result: None,
            executed_version: function.version.clone(),
            request_id,
        };
        let on_complete = req.on_complete;
        if req.tail {
            // The log tail ends with REPORT: finish before answering.
            let ran = env.finish(inflight).await;
            if let Some(done) = on_complete {
                done(figures(&ran));
            }
            self.pools().release_slot(slot);
            self.release(env, ran.reusable).await;
            response.log_result = Some(ran.tail.encode());
            return Ok(response);
        }
        // Answer now; the runtime finishes the invocation (its next `/next`, END, REPORT) while
        // the reply travels, and the environment goes back to its pool after that.
        self.pools().finishing(&function.key, 1);
        let engine = Arc::clone(self);
        let key = function.key.clone();
        tokio::spawn(async move {
            let ran = env.finish(inflight).await;
            if let Some(done) = on_complete {
                done(figures(&ran));
            }
            {
                let mut p = engine.pools();
                p.release_slot(slot);
                p.finishing(&key, -1);
            }
            engine.release(env, ran.reusable).await;
        });
        Ok(response)
    }

    /// Waits (bounded) until no invocation is still finishing, so every completed invocation
    /// has been reported (for operators' views: metrics, usage).
    pub async fn settle(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        loop {
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            if !self.pools().any_finishing() {
                return;
            }
            if tokio::time::timeout_at(deadline, released).await.is_err() {
                return;
            }
        }
    }

    /// When an environment with `key` is finishing its previous invocation and none is idle,
    /// waits for it (briefly) rather than cold-starting another one.
    async fn await_finishing(&self, key: &str) {
        let deadline = tokio::time::Instant::now() + FINISHING_WAIT;
        loop {
            let released = self.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            if !self.pools().should_wait(key) {
                return;
            }
            if tokio::time::timeout_at(deadline, released).await.is_err() {
                return;
            }
        }
    }

    /// Returns an environment to its warm pool, or destroys it. A provisioned environment
    /// that is destroyed (its runtime crashed, timed out, ran out of memory) is replaced, as
    /// AWS keeps provisioned concurrency at its level.
    async fn release(self: &Arc<Self>, env: Environment, reusable: bool) {
        if reusable {
            self.pools().put_idle(env, Instant::now());
            self.released.notify_waiters();
            return;
        }
        let lost = env.provisioned_for().map(str::to_owned);
        {
            let mut p = self.pools();
            p.env_gone(env.memory_mb());
            if let Some(target) = &lost {
                p.provisioned_lost(target);
            }
        }
        self.released.notify_waiters();
        env.destroy().await;
        if let Some(target) = lost {
            let engine = Arc::clone(self);
            tokio::spawn(async move {
                let function = engine.provisioned_function(&target);
                if let (Ok(ctx), Some(function)) = (engine.ctx(), function) {
                    engine.provision_one(ctx, &target, &function).await;
                }
            });
        }
    }

    fn provisioned_functions(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, Arc<FunctionSnapshot>>> {
        self.provisioned.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What provisioned-concurrency `target` runs.
    fn provisioned_function(&self, target: &str) -> Option<Arc<FunctionSnapshot>> {
        self.provisioned_functions().get(target).cloned()
    }

    /// Starts `count` environments of `function` ahead of any invocation, for the
    /// provisioned-concurrency `target` (e.g. `name:alias`). Replaces an earlier request.
    pub async fn provision(&self, target: &str, function: Arc<FunctionSnapshot>, count: u32) {
        let Ok(ctx) = self.ctx() else { return };
        let replaced = self.pools().remove_provision(target);
        destroy_all(replaced).await;
        self.pools().set_provision(target, count);
        self.provisioned_functions()
            .insert(target.to_owned(), Arc::clone(&function));
        while self.provision_one(ctx, target, &function).await {}
    }

    /// Starts one environment of `function` for `target` if it still runs that function and
    /// has fewer environments than it asked for; whether it did.
    async fn provision_one(
        &self,
        ctx: &EngineCtx,
        target: &str,
        function: &Arc<FunctionSnapshot>,
    ) -> bool {
        let current = self
            .provisioned_function(target)
            .is_some_and(|f| Arc::ptr_eq(&f, function));
        let wanted = self
            .pools()
            .provision(target)
            .is_some_and(|p| p.allocated < p.requested);
        if !current || !wanted {
            return false;
        }
        let memory = u64::from(function.config.memory_size);
        let room = self.pools().make_room(Self::limits(ctx), memory);
        let evicted = match room {
            Ok(evicted) => evicted,
            Err(evicted) => {
                destroy_all(evicted).await;
                tracing::warn!(target, "no memory left for provisioned concurrency");
                return false;
            }
        };
        destroy_all(evicted).await;
        let id = uuid::Uuid::new_v4().to_string();
        let started = Environment::start(ctx, function, &id, Some(target)).await;
        ctx.prestarted.refill();
        match started {
            Ok(env) => {
                {
                    let mut p = self.pools();
                    p.provisioned_one(target);
                    p.put_idle(env, Instant::now());
                }
                self.released.notify_waiters();
                true
            }
            Err(_) => {
                self.pools().env_gone(memory);
                tracing::warn!(target, "a provisioned environment failed to initialise");
                false
            }
        }
    }

    /// How many environments a provisioned-concurrency target asked for and has.
    pub fn provision_status(&self, target: &str) -> Option<Provision> {
        self.pools().provision(target)
    }

    /// Every provisioned-concurrency target with its allocated and idle environments (busy
    /// ones are the difference).
    pub fn provisioned_usage(&self) -> Vec<ProvisionedUsage> {
        self.pools()
            .provisioned_usage()
            .into_iter()
            .map(|(target, p, idle)| ProvisionedUsage {
                target,
                requested: p.requested,
                allocated: p.allocated,
                idle,
            })
            .collect()
    }

    /// Stops a provisioned-concurrency target and destroys its idle environments.
    pub async fn deprovision(&self, target: &str) {
        self.provisioned_functions().remove(target);
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

    /// Destroys every idle environment and pre-started sandbox (at shutdown).
    pub async fn shutdown(&self) {
        let all = self.pools().take_idle(|_| true);
        destroy_all(all).await;
        if let Some(ctx) = &self.ctx {
            let prestarted = Arc::clone(&ctx.prestarted);
            if let Err(e) = tokio::task::spawn_blocking(move || prestarted.destroy_all()).await {
                tracing::error!(error = %e, "destroying pre-started sandboxes failed");
            }
        }
    }
}

/// Removes the scratch dirs (`/tmp` images) of environments a previous server left behind
/// (killed, it could not destroy them; their processes died with it). No environment outlives
/// its server, so everything but the `/tmp` templates goes. One server per data dir.
fn sweep_work_dir(work_dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(work_dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_name() == lamina_sandbox::TMP_TEMPLATE_DIR {
            continue;
        }
        let path = entry.path();
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        if let Err(e) = removed {
            tracing::warn!(path = %path.display(), error = %e, "cannot remove a previous server's environment dir");
        }
    }
}

async fn destroy_all(envs: Vec<Environment>) {
    for env in envs {
        tracing::debug!(env = %env.id, function = %env.function_name, "destroying environment");
        env.destroy().await;
    }
}
