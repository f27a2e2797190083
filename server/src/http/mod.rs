//! The HTTP plumbing every route shares: the accept loop and its limits (`serve`), reading
//! bodies within a deadline (`body_limits`), extractors that fail with our error body
//! (`extract`), the one mapping of failures to status codes (`error`), the widget's files
//! (`assets`) and metrics (`telemetry`). It knows features only through their error types.

pub mod assets;
pub mod body_limits;
pub mod error;
pub mod extract;
mod serve;
pub mod telemetry;

pub use serve::{serve, ConnectionLimits, Timeouts};
