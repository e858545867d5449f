//! The native tests, one test binary (`cargo test --test native`): one link on
//! two cores instead of one per file. The modules follow the layers of
//! `docs/architecture.md` (`http ← config ← request | response ← purge ← flow`),
//! a folder per layer with a file per behaviour inside; the CLI-level tests
//! (`cli`, `report`, `simulate`, `layers`, `docs_examples`) sit beside them.
//! Run one module with a filter: `cargo test --test native purge::writer`.
//! The simulator keeps its own binary (`tests/sim.rs`, `cargo test --test sim`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a failure is a panic

mod common;

mod config;
mod flow;
mod http;
mod purge;
mod request;
mod response;

mod cli;
mod docs_examples;
mod layers;
mod report;
mod simulate;
