//! What an SDK error looked like on the wire: status, error code and message.

use aws_sdk_lambda::config::http::HttpResponse as Response;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};

/// `(HTTP status, error code, message)` of a service error.
pub fn error_of<E: ProvideErrorMetadata>(err: &SdkError<E, Response>) -> (u16, String, String) {
    let status = err
        .raw_response()
        .map(|r| r.status().as_u16())
        .unwrap_or_default();
    (
        status,
        err.code().unwrap_or("<none>").to_owned(),
        err.message().unwrap_or("<none>").to_owned(),
    )
}

/// Asserts an SDK call failed with exactly this status, code and message.
#[track_caller]
pub fn assert_error<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(
    result: Result<T, SdkError<E, Response>>,
    status: u16,
    code: &str,
    message: &str,
) {
    let err = result.expect_err("the call fails");
    assert_eq!(
        error_of(&err),
        (status, code.to_owned(), message.to_owned()),
        "{err:?}"
    );
}
