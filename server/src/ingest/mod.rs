//! What stands between a visitor's answer and the store: checking it against the survey
//! answered (`submission`), turning bots away (`bots`), the site lookups cached for the hot
//! path (`site_cache`) and the per-client and per-site limits (`rate_limit`). The handler that
//! puts them together is `routes/public.rs`.

pub mod bots;
pub mod rate_limit;
pub mod site_cache;
pub mod submission;
