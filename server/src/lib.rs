//! The Soovita server: ingests survey answers, serves the widget and the admin API.
//!
//! `main.rs` is only the command line; everything it runs lives here so that tests can
//! start the same server on a port of their own. ARCHITECTURE.md has the map: `db` at the
//! bottom, the features above it (each with its model, SQL and part of the store), `store`
//! summing them, the handlers (`routes`, `console`) and `app` on top.

pub mod accounts;
pub mod app;
pub mod checkbacks;
pub mod clock;
pub mod config;
pub mod console;
pub mod db;
pub mod demo;
pub mod domain;
pub mod http;
pub mod imports;
pub mod inbox;
pub mod ingest;
pub mod mail;
pub mod responses;
pub mod results;
pub mod routes;
pub mod sites;
pub mod state;
pub mod store;
pub mod surveys;
pub mod themes;
pub mod watch;
pub mod webhooks;

pub use app::{serve, shutdown_signal, ServeOptions, SHUTDOWN_GRACE};
