//! End-to-end tests: the real `lamina` binary on port 0, driven by the official AWS SDK.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod functions;
mod harness;
mod invoke;
mod storage;
mod validation;
mod versions;
