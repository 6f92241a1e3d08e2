//! End-to-end tests: the real `lamina` binary on port 0, driven by the official AWS SDK.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod async_invoke;
mod auth;
mod aws_errors;
mod cli;
mod concurrency;
mod functions;
mod harness;
mod invoke;
mod layer_permissions;
mod layers;
mod log_format;
mod logs;
mod logs_wire;
mod observability;
mod policy;
mod principals;
mod restart;
mod settings;
mod storage;
mod tags;
mod validation;
mod versions;
