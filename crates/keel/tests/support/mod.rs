//! Helpers shared by the integration tests.

pub mod browser;
pub mod pages;
pub mod server;
