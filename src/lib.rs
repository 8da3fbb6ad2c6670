//! image-budget: a CI gate that keeps container images inside their size budgets.
//!
//! Data flows one way: `config` (parse, validate into a plan) → `measure`
//! (the engine) → `judge` (pure verdicts) → `report` (pure renderers) → the
//! exit status, chosen in `app`.

pub mod analysis;
pub mod app;
pub mod baseline;
pub mod check;
pub mod cli;
pub mod config;
pub mod explain;
pub mod init;
pub mod judge;
pub mod measure;
pub mod model;
pub mod publish;
pub mod reference;
pub mod report;
pub mod retry;
pub mod saved;
pub mod size;
