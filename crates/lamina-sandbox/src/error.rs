//! Errors of the sandbox crate: one enum, variants named after the step that failed.

use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while creating, inspecting or tearing down a sandbox.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The spec is unusable (empty argv, bad id, relative path...).
    #[error("invalid sandbox spec: {0}")]
    InvalidSpec(String),

    /// No usable cgroup hierarchy was found.
    #[error("no usable cgroup hierarchy: {0}")]
    DetectCgroup(String),

    /// Creating a cgroup directory failed.
    #[error("failed to create cgroup {path}")]
    CreateCgroup {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// Writing a cgroup control file failed.
    #[error("failed to write {value:?} to {path}")]
    WriteCgroupFile {
        path: PathBuf,
        value: String,
        #[source]
        source: io::Error,
    },

    /// Reading a cgroup control file failed.
    #[error("failed to read {path}")]
    ReadCgroupFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// A cgroup control file had unexpected contents.
    #[error("unexpected contents in {path}: {contents:?}")]
    ParseCgroupFile { path: PathBuf, contents: String },

    /// Removing a cgroup directory failed (it usually still has processes in it).
    #[error("failed to remove cgroup {path}")]
    RemoveCgroup {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// Processes were still alive in the cgroup after the kill deadline.
    #[error("processes still alive in cgroup {path} after kill")]
    KillCgroup { path: PathBuf },

    /// Creating the parent/jail control socket pair failed.
    #[error("failed to create the jail control socket")]
    ControlSocket(#[source] nix::Error),

    /// Starting the jail executable failed.
    #[error("failed to spawn jail executable {exe}")]
    SpawnJail {
        exe: PathBuf,
        #[source]
        source: io::Error,
    },

    /// Talking to the jail over the control socket failed.
    #[error("jail control protocol failed while {step}")]
    JailProtocol {
        step: &'static str,
        #[source]
        source: io::Error,
    },

    /// The jail reported that one of its set-up steps failed.
    #[error("jail set-up step {step} failed: {message}")]
    JailSetup {
        step: String,
        message: String,
        /// `errno` of the failing syscall, when there was one.
        errno: Option<i32>,
    },

    /// The jail set everything up but `execve` of the runtime failed
    /// (maps to `Runtime.InvalidEntrypoint`).
    #[error("exec of {program} failed: {message}")]
    Exec {
        program: String,
        message: String,
        errno: Option<i32>,
    },

    /// Waiting for or signalling the jail process failed.
    #[error("failed to {action} jail process {pid}")]
    Process {
        action: &'static str,
        pid: u32,
        #[source]
        source: io::Error,
    },

    /// Waiting for the `/tmp` image's loop device to be released timed out.
    #[error("tmp image {path} still attached to a loop device")]
    TmpImageBusy { path: PathBuf },

    /// Setting up egress networking (pool, NAT rules, an environment's link) failed.
    #[error("network: failed to {step}")]
    Network {
        step: String,
        #[source]
        source: io::Error,
    },

    /// A step failed, and so did the clean-up that followed it. Both are kept
    /// so the clean-up failure (a leaked cgroup or mount) never hides the cause.
    #[error("{error} (and clean-up also failed: {cleanup})")]
    WithCleanup {
        error: Box<SandboxError>,
        cleanup: Box<SandboxError>,
    },
}

impl SandboxError {
    /// Combines a primary error with an optional clean-up error.
    pub(crate) fn with_cleanup(self, cleanup: Option<SandboxError>) -> SandboxError {
        match cleanup {
            None => self,
            Some(cleanup) => SandboxError::WithCleanup {
                error: Box::new(self),
                cleanup: Box::new(cleanup),
            },
        }
    }
}
