//! Domain types of Lamina: function configurations, ARNs and names, the AWS limits, and the
//! validation rules with AWS's exact error messages. No I/O lives here.

pub mod arn;
pub mod async_invoke;
pub mod constraints;
pub mod error;
pub mod layer;
pub mod limits;
pub mod model;
pub mod policy;
pub mod resource;
pub mod runtime;
pub mod settings;
pub mod time;
pub mod validate;

pub use arn::{FunctionRef, Qualifier};
pub use error::UserError;
pub use limits::Limits;
