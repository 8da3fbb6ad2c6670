//! image-budget: a CI gate that keeps container images inside their size budgets.
//!
//! Data flows one way: `config` (parse, validate into a plan) → `measure`
//! (the engine, registries, archives) → `judge` (pure verdicts) → `report`
//! (pure renderers) → `publish` (comments, job summaries) → the exit status.
//! Each command (`command/`) runs that flow for its own job; `app`
//! dispatches to them; `output` is the one place that prints.

pub mod analysis;
pub mod app;
pub mod baseline;
pub mod cli;
pub mod command;
pub mod config;
pub mod glob;
pub mod judge;
pub mod measure;
pub mod model;
pub mod output;
pub mod publish;
pub mod reference;
pub mod report;
pub mod retry;
pub mod saved;
pub mod set;
pub mod shard;
pub mod size;
