//! One execution environment: a sandboxed runtime process tree with its Runtime API, output
//! capture and log stream. It is started (cold start, init), runs invocations one at a time,
//! and is destroyed after a failure or when it has been idle too long.

use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use lamina_sandbox::{Sandbox, SandboxError, SandboxSpec};
use serde_json::json;
use tokio::sync::mpsc::error::SendError;

use crate::launch::{self, EnvIdentity, RUNTIME_API_PORT};
use crate::logs::{self, LogStream, PlatformLog, PlatformRecord, Report, Tail};
use crate::output::{self, Output, Sink};
use crate::runtime_api::{Invocation, MAX_RESPONSE_BYTES, RuntimeApi, RuntimeEvent};
use crate::{EngineCtx, FunctionSnapshot};

/// What an invocation produced.
#[derive(Debug)]
pub enum Outcome {
    Success {
        payload: Bytes,
        content_type: Option<String>,
    },
    /// A function error: the runtime's error body, or the platform's.
    FunctionError { payload: Bytes },
}

/// The result of running one invocation in an environment.
pub struct Ran {
    /// Whether the environment can serve another invocation.
    pub reusable: bool,
    pub tail: Tail,
    /// The figures of its REPORT line.
    pub figures: Figures,
}

/// An invocation whose outcome is known but which the runtime may still be finishing.
pub struct InFlight {
    request_id: String,
    started: Instant,
    started_at: std::time::SystemTime,
    deadline: tokio::time::Instant,
    timeout: Duration,
    status: Option<(&'static str, Option<String>)>,
    reusable: bool,
}

/// What the REPORT line of one invocation says, for metrics, usage and traces.
#[derive(Debug, Clone)]
pub struct Figures {
    /// Wall-clock time of `START`.
    pub started_at: std::time::SystemTime,
    pub duration: Duration,
    /// Billed Duration in ms (the duration rounded up to the millisecond).
    pub billed_ms: u64,
    /// Peak memory of the environment's cgroup, in bytes.
    pub max_memory_used_bytes: u64,
    /// Init Duration, on the first invocation after an on-demand cold start.
    pub init_duration: Option<Duration>,
    /// `timeout` or `error` (`None`: success).
    pub status: Option<&'static str>,
    pub error_type: Option<String>,
}

/// A failure the platform reports as a function error (`errorType`, `errorMessage`).
fn platform_error(error_type: &str, message: &str) -> Bytes {
    Bytes::from(json!({ "errorType": error_type, "errorMessage": message }).to_string())
}

/// Why an environment could not be started.
pub enum StartFailure {
    /// Reported to the caller as a function error (init error, crash, bad entrypoint).
    Function { payload: Bytes, tail: Tail },
    /// The host could not build the environment.
    Platform(anyhow::Error),
}

pub struct Environment {
    pub id: String,
    pub key: String,
    pub function_name: String,
    pub memory_mb: u32,
    sandbox: Arc<Mutex<Option<Sandbox>>>,
    api: RuntimeApi,
    output: Output,
    sink: Arc<Sink>,
    dir: PathBuf,
    /// Set on the first invocation after a cold start (reported once, in its REPORT line).
    init_duration: Option<Duration>,
    /// The provisioned-concurrency target this environment was started for.
    provisioned_for: Option<String>,
    /// How platform records are written (the function's log format and system log level).
    platform: PlatformLog,
}

impl crate::pool::Pooled for Environment {
    fn key(&self) -> &str {
        &self.key
    }
    fn memory_mb(&self) -> u64 {
        u64::from(self.memory_mb)
    }
    fn provisioned_for(&self) -> Option<&str> {
        self.provisioned_for.as_deref()
    }
    fn clear_provisioned(&mut self) {
        self.provisioned_for = None;
    }
}

/// Go's names for signals, which AWS's messages use (`signal: killed`).
fn signal_name(sig: i32) -> String {
    match sig {
        1 => "hangup".into(),
        2 => "interrupt".into(),
        3 => "quit".into(),
        4 => "illegal instruction".into(),
        5 => "trace/breakpoint trap".into(),
        6 => "aborted".into(),
        7 => "bus error".into(),
        8 => "floating point exception".into(),
        9 => "killed".into(),
        11 => "segmentation fault".into(),
        13 => "broken pipe".into(),
        15 => "terminated".into(),
        n => format!("signal {n}"),
    }
}

impl Environment {
    /// Cold start: builds the sandbox, starts the runtime and waits for its first `/next`.
    /// With `provisioned_for`, the environment is initialised ahead of any invocation.
    pub async fn start(
        ctx: &EngineCtx,
        function: &FunctionSnapshot,
        request_id: &str,
        provisioned_for: Option<&str>,
    ) -> Result<Self, StartFailure> {
        let started = Instant::now();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let config = &function.config;
        let mut argv = launch::command(config).map_err(|m| StartFailure::Function {
            payload: platform_error("Runtime.InvalidRuntime", &m),
            tail: Tail::default(),
        })?;
        // A custom runtime may come from a layer: AWS runs /opt/bootstrap when the package
        // has no bootstrap of its own.
        if argv.first().is_some_and(|a| a == "/var/task/bootstrap")
            && !function.code_dir.join("bootstrap").exists()
            && function
                .opt_dir
                .as_ref()
                .is_some_and(|d| d.join("bootstrap").exists())
        {
            argv[0] = "/opt/bootstrap".into();
        }
        if lamina_types::runtime::family(&config.runtime) == lamina_types::runtime::Family::Java
            && !ctx
                .config
                .runtime_dir
                .join("java/lamina-java-runtime.jar")
                .exists()
        {
            let m = "The Java runtime is not available: this Lamina binary was built without a JDK. Install a JDK (e.g. openjdk-17-jdk-headless) and rebuild Lamina.";
            return Err(StartFailure::Function {
                payload: platform_error("Runtime.InvalidRuntime", m),
                tail: Tail::default(),
            });
        }
        let platform = PlatformLog::for_config(config);
        let initialization_type = if provisioned_for.is_some() {
            "provisioned-concurrency"
        } else {
            "on-demand"
        };
        let stream = logs::stream_name(&function.version);
        let log = LogStream::create(&ctx.config.logs_dir, &config.log_group, &stream)
            .map_err(|e| StartFailure::Platform(e.into()))?;
        let log = Arc::new(log);
        let env = launch::environment(
            config,
            &function.environment,
            &EnvIdentity {
                function_name: &function.name,
                version: &function.version,
                region: &ctx.config.region,
                log_group: &config.log_group,
                log_stream: &stream,
                initialization_type,
            },
        );
        let dir = ctx.config.work_dir.join(&id);
        let tmp_dir = dir.join("tmp");
        let spec = SandboxSpec {
            id: format!("env-{id}"),
            code_dir: function.code_dir.clone(),
            opt_dir: function.opt_dir.clone(),
            runtime_dir: Some(ctx.config.runtime_dir.clone()),
            tmp_dir,
            tmp_size_mb: u64::from(config.ephemeral_storage_mb),
            memory_mb: u64::from(config.memory_size),
            pids_max: ctx.config.pids_max,
            cpu_millicores: lamina_sandbox::cpu_millicores_for_memory(u64::from(
                config.memory_size,
            )),
            init_cpu_boost: true,
            argv,
            env,
            cwd: "/var/task".into(),
            uid: ctx.config.function_uid,
            gid: ctx.config.function_gid,
            hostname: launch::sandbox_hostname(),
            runtime_api_port: RUNTIME_API_PORT,
            network: lamina_sandbox::NetworkMode::Egress,
        };
        let sink = Arc::new(Sink {
            log: Arc::clone(&log),
            tail: Mutex::new(Some(Tail::default())),
            application_level: output::application_filter(config),
        });
        emit(
            &sink,
            platform,
            &PlatformRecord::InitStart {
                initialization_type,
                runtime_version: &runtime_version_name(&config.runtime),
                runtime_version_arn: &function.runtime_version_arn,
                function_name: &function.name,
                function_version: &function.version,
                instance_id: &logs::instance_id(&stream, &function.name),
                instance_max_memory_bytes: u64::from(config.memory_size) * 1024 * 1024,
            },
        );
        let prestarted = Arc::clone(&ctx.prestarted);
        let spawned = tokio::task::spawn_blocking(move || prestarted.start(&spec)).await;
        let mut sandbox = match spawned {
            Ok(Ok(s)) => s,
            Ok(Err(SandboxError::Exec {
                program, message, ..
            })) => {
                let _ = std::fs::remove_dir_all(&dir);
                let msg = format!("RequestId: {request_id} Error: fork/exec {program}: {message}");
                emit(
                    &sink,
                    platform,
                    &PlatformRecord::RuntimeError {
                        message: &msg,
                        error_type: None,
                    },
                );
                return Err(StartFailure::Function {
                    payload: platform_error("Runtime.InvalidEntrypoint", &msg),
                    tail: take_tail(&sink),
                });
            }
            Ok(Err(e)) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(StartFailure::Platform(e.into()));
            }
            Err(e) => return Err(StartFailure::Platform(e.into())),
        };
        // A pre-started sandbox has a scratch dir of its own.
        let dir = crate::prestart::scratch_dir(sandbox.spec());
        let listener = sandbox.take_runtime_api_listener();
        let pipes: Vec<OwnedFd> = [
            sandbox.stdout().map(OwnedFd::from),
            sandbox.stderr().map(OwnedFd::from),
        ]
        .into_iter()
        .flatten()
        .collect();
        let sandbox = Arc::new(Mutex::new(Some(sandbox)));
        let setup = (|| -> anyhow::Result<(RuntimeApi, Output)> {
            let listener = listener.ok_or_else(|| anyhow::anyhow!("sandbox gave no listener"))?;
            Ok((
                RuntimeApi::serve(listener)?,
                Output::start(pipes, Arc::clone(&sink))?,
            ))
        })();
        let (api, output) = match setup {
            Ok(v) => v,
            Err(e) => {
                destroy_sandbox(&sandbox, &dir).await;
                return Err(StartFailure::Platform(e));
            }
        };
        let mut env = Environment {
            id,
            key: function.key.clone(),
            function_name: function.name.clone(),
            memory_mb: config.memory_size,
            sandbox,
            api,
            output,
            sink,
            dir,
            init_duration: None,
            provisioned_for: provisioned_for.map(str::to_owned),
            platform,
        };
        match env.await_init(ctx, request_id).await {
            Ok(()) => {
                let init = started.elapsed();
                env.emit(&PlatformRecord::InitRuntimeDone {
                    initialization_type,
                    error_type: None,
                });
                // Only a provisioned environment has an INIT_REPORT line; an on-demand init is
                // reported in its first REPORT (and as a DEBUG record in JSON).
                env.emit(&PlatformRecord::InitReport {
                    initialization_type,
                    duration_ms: init.as_secs_f64() * 1000.0,
                    error_type: None,
                });
                if provisioned_for.is_some() {
                    // Initialised ahead of time: reported on its own, never on an invocation.
                    env.output.drain();
                    take_tail(&env.sink);
                } else {
                    env.init_duration = Some(init);
                }
                env.with_sandbox(|s| s.end_init_boost());
                Ok(env)
            }
            Err((payload, error_type)) => {
                env.emit(&PlatformRecord::InitRuntimeDone {
                    initialization_type,
                    error_type: Some(&error_type),
                });
                env.emit(&PlatformRecord::InitReport {
                    initialization_type,
                    duration_ms: started.elapsed().as_secs_f64() * 1000.0,
                    error_type: Some(&error_type),
                });
                env.output.drain();
                let tail = take_tail(&env.sink);
                env.destroy().await;
                Err(StartFailure::Function { payload, tail })
            }
        }
    }

    /// Waits for the runtime's first `/next` (init done), an init error, or its exit.
    async fn await_init(
        &mut self,
        ctx: &EngineCtx,
        request_id: &str,
    ) -> Result<(), (Bytes, String)> {
        let deadline = tokio::time::sleep(ctx.config.init_timeout);
        tokio::pin!(deadline);
        let mut closed = self.output.closed.clone();
        loop {
            tokio::select! {
                ev = self.api.events.recv() => match ev {
                    Some(RuntimeEvent::Ready) => return Ok(()),
                    Some(RuntimeEvent::InitError { body }) => {
                        let error_type = serde_json::from_slice::<serde_json::Value>(&body)
                            .ok()
                            .and_then(|v| v.get("errorType").and_then(|t| t.as_str()).map(str::to_owned))
                            .unwrap_or_else(|| "Runtime.Unknown".into());
                        return Err((body, error_type));
                    }
                    Some(_) => {}
                    None => return Err(self.exit_error(request_id).await),
                },
                _ = wait_closed(&mut closed) => return Err(self.exit_error(request_id).await),
                _ = &mut deadline => {
                    let secs = ctx.config.init_timeout.as_secs_f64();
                    let msg = format!("RequestId: {request_id} Error: Task timed out after {secs:.2} seconds");
                    return Err((platform_error("Sandbox.Timedout", &msg), "Sandbox.Timedout".into()));
                }
            }
        }
    }

    fn with_sandbox<T>(
        &self,
        f: impl FnOnce(&mut Sandbox) -> Result<T, SandboxError>,
    ) -> Option<T> {
        let mut guard = self.sandbox.lock().unwrap_or_else(|p| p.into_inner());
        let s = guard.as_mut()?;
        match f(s) {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::warn!(env = %self.id, error = %e, "sandbox call failed");
                None
            }
        }
    }

    /// The platform's error after the runtime exited, and its type (OOM or exit).
    async fn exit_error(&self, request_id: &str) -> (Bytes, String) {
        let sandbox = Arc::clone(&self.sandbox);
        let status = tokio::task::spawn_blocking(move || {
            let mut guard = sandbox.lock().unwrap_or_else(|p| p.into_inner());
            let s = guard.as_mut()?;
            let oom = s.oom_killed().unwrap_or(false);
            s.wait().ok().map(|st| (st, oom))
        })
        .await
        .ok()
        .flatten();
        let (reason, oom) = match status {
            Some((st, oom)) => match (st.code(), st.signal()) {
                (Some(0), _) => ("Runtime exited without providing a reason".to_owned(), oom),
                (Some(code), _) => (
                    format!("Runtime exited with error: exit status {code}"),
                    oom,
                ),
                (None, Some(sig)) => (
                    format!("Runtime exited with error: signal: {}", signal_name(sig)),
                    oom,
                ),
                _ => ("Runtime exited without providing a reason".to_owned(), oom),
            },
            None => (
                "Runtime exited without providing a reason".to_owned(),
                false,
            ),
        };
        let error_type = if oom {
            "Runtime.OutOfMemory"
        } else {
            "Runtime.ExitError"
        };
        let message = format!("RequestId: {request_id} Error: {reason}");
        self.emit(&PlatformRecord::RuntimeError {
            message: &message,
            error_type: Some(error_type),
        });
        (platform_error(error_type, &message), error_type.to_owned())
    }

    /// Runs one invocation to its end (response, error, timeout or crash).
    /// Runs one invocation until its outcome is known (response, error, timeout or crash).
    /// The runtime may still be finishing: [`Environment::finish`] completes the invocation.
    pub async fn run(
        &mut self,
        inv: Invocation,
        timeout: Duration,
        version: &str,
        tail: bool,
    ) -> (Outcome, InFlight) {
        let request_id = inv.request_id.clone();
        {
            let mut t = self.sink.tail.lock().unwrap_or_else(|p| p.into_inner());
            if t.is_none() || !tail {
                *t = Some(Tail::default());
            }
        }
        self.emit(&PlatformRecord::Start {
            request_id: &request_id,
            version,
        });
        self.api.set_current(Some(request_id.clone()));
        let started = Instant::now();
        let started_at = std::time::SystemTime::now();
        let deadline = tokio::time::Instant::now() + timeout;
        let mut closed = self.output.closed.clone();
        let mut status: Option<(&'static str, Option<String>)> = None;
        let mut reusable = true;

        let outcome = if let Err(SendError(_)) = self.api.invocations.send(inv).await {
            reusable = false;
            let (payload, t) = self.exit_error(&request_id).await;
            status = Some(("error", Some(t)));
            Outcome::FunctionError { payload }
        } else {
            loop {
                tokio::select! {
                    ev = self.api.events.recv() => match ev {
                        Some(RuntimeEvent::Response { request_id: id, body, content_type }) if id == request_id => {
                            break Outcome::Success { payload: body, content_type };
                        }
                        Some(RuntimeEvent::Error { request_id: id, body }) if id == request_id => {
                            status = Some(("error", Some(error_type_of(&body))));
                            break Outcome::FunctionError { payload: body };
                        }
                        Some(RuntimeEvent::ResponseTooLarge { .. }) => {
                            status = Some(("error", Some("Function.ResponseSizeTooLarge".into())));
                            break Outcome::FunctionError { payload: platform_error(
                                "Function.ResponseSizeTooLarge",
                                &format!("Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."),
                            )};
                        }
                        Some(RuntimeEvent::InitError { body }) => {
                            reusable = false;
                            status = Some(("error", Some(error_type_of(&body))));
                            break Outcome::FunctionError { payload: body };
                        }
                        Some(_) => {}
                        None => {
                            reusable = false;
                            let (payload, t) = self.exit_error(&request_id).await;
                            status = Some(("error", Some(t)));
                            break Outcome::FunctionError { payload };
                        }
                    },
                    _ = wait_closed(&mut closed) => {
                        reusable = false;
                        let (payload, t) = self.exit_error(&request_id).await;
                        status = Some(("error", Some(t)));
                        break Outcome::FunctionError { payload };
                    }
                    _ = tokio::time::sleep_until(deadline) => {
                        reusable = false;
                        let msg = format!(
                            "RequestId: {request_id} Error: Task timed out after {:.2} seconds",
                            timeout.as_secs_f64()
                        );
                        self.emit(&PlatformRecord::Timeout {
                            request_id: &request_id,
                            timeout_secs: timeout.as_secs_f64(),
                        });
                        status = Some(("timeout", None));
                        break Outcome::FunctionError { payload: platform_error("Sandbox.Timedout", &msg) };
                    }
                }
            }
        };
        (
            outcome,
            InFlight {
                request_id,
                started,
                started_at,
                deadline,
                timeout,
                status,
                reusable,
            },
        )
    }

    /// Completes an invocation after its outcome: waits for the runtime's next `/next` (the
    /// invocation is over then), logs everything it wrote, and writes END and REPORT.
    pub async fn finish(&mut self, inflight: InFlight) -> Ran {
        let InFlight {
            request_id,
            started,
            started_at,
            deadline,
            timeout,
            status,
            mut reusable,
        } = inflight;
        let mut closed = self.output.closed.clone();
        if reusable {
            let ready = async {
                loop {
                    match self.api.events.recv().await {
                        Some(RuntimeEvent::Ready) => return true,
                        Some(_) => continue,
                        None => return false,
                    }
                }
            };
            tokio::select! {
                r = ready => reusable = r,
                _ = wait_closed(&mut closed) => reusable = false,
                _ = tokio::time::sleep_until(deadline) => reusable = false,
            }
        }
        let duration = if status.as_ref().is_some_and(|(s, _)| *s == "timeout") {
            timeout
        } else {
            started.elapsed()
        };
        self.api.set_current(None);
        self.output.drain();
        let max_memory = self
            .with_sandbox(|s| s.max_memory_used_bytes())
            .unwrap_or(0);
        let init_duration = self.init_duration.take();
        let report = Report {
            request_id: &request_id,
            duration_ms: duration.as_secs_f64() * 1000.0,
            memory_size_mb: self.memory_mb,
            max_memory_used_mb: max_memory.div_ceil(1024 * 1024),
            init_duration_ms: init_duration.map(|d| d.as_secs_f64() * 1000.0),
            status: status.as_ref().map(|(s, t)| (*s, t.as_deref())),
        };
        self.emit(&PlatformRecord::RuntimeDone {
            request_id: &request_id,
            duration_ms: report.duration_ms,
            status: report.status,
        });
        self.emit(&PlatformRecord::Report(&report));
        let figures = Figures {
            started_at,
            duration,
            billed_ms: report.billed_ms(),
            max_memory_used_bytes: max_memory,
            init_duration,
            status: status.as_ref().map(|(s, _)| *s),
            error_type: status.and_then(|(_, t)| t),
        };
        Ran {
            reusable,
            tail: take_tail(&self.sink),
            figures,
        }
    }

    /// Writes a platform record as the function's logging configuration asks.
    fn emit(&self, record: &PlatformRecord<'_>) {
        emit(&self.sink, self.platform, record);
    }

    /// Kills every process of the environment and removes its cgroup and files.
    pub async fn destroy(self) {
        destroy_sandbox(&self.sandbox, &self.dir).await;
    }
}

/// `python:3.12.lamina` for `python3.12`: AWS's `<family>:<version>` form.
fn runtime_version_name(runtime: &str) -> String {
    let split = runtime
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(runtime.len());
    let (family, version) = runtime.split_at(split);
    let family = family.trim_end_matches('.');
    if version.is_empty() {
        format!("{family}:lamina")
    } else {
        format!("{family}:{version}.lamina")
    }
}

/// Writes a platform record into the log stream (and the tail), unless the format has no such
/// record or the system log level filters it out.
fn emit(sink: &Sink, platform: PlatformLog, record: &PlatformRecord<'_>) {
    if let Some(line) = platform.render(record, lamina_types::time::now()) {
        sink.line(&line);
    }
}

fn take_tail(sink: &Sink) -> Tail {
    sink.tail
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
        .unwrap_or_default()
}

fn error_type_of(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("errorType")
                .and_then(|t| t.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "Runtime.Unknown".into())
}

async fn destroy_sandbox(sandbox: &Arc<Mutex<Option<Sandbox>>>, dir: &std::path::Path) {
    let taken = sandbox.lock().unwrap_or_else(|p| p.into_inner()).take();
    let dir = dir.to_owned();
    let done = tokio::task::spawn_blocking(move || {
        if let Some(s) = taken
            && let Err(e) = s.destroy()
        {
            tracing::error!(error = %e, "failed to destroy sandbox");
        }
        crate::prestart::remove_dir(&dir);
    })
    .await;
    if let Err(e) = done {
        tracing::error!(error = %e, "sandbox teardown task failed");
    }
}

/// Resolves when every output pipe of the environment is closed (its processes are gone).
async fn wait_closed(closed: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = closed.wait_for(|c| *c).await;
}
