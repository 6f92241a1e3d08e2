//! Benchmark function for Lamina: returns the invocation event unchanged, through the official
//! `lambda_runtime` client (the Runtime API loop every Rust function on AWS uses). Deployed as a
//! `provided.al2023` function whose zip holds this binary as `bootstrap`.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

async fn echo(event: LambdaEvent<Value>) -> Result<Value, Error> {
    Ok(event.payload)
}

// A single-threaded runtime: the handler does no work worth a thread pool, and it keeps the
// process as small as a function with 128 MB would want.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(echo)).await
}
