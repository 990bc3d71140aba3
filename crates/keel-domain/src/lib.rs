//! Keel's domain: the types, rules and decisions of product management, free of I/O.
//!
//! Everything here is pure: no database, no HTTP, no clock. Values that come from outside are
//! parsed into the validated newtypes of this crate at the boundary, so the layers above only ever
//! hold valid data.
#![forbid(unsafe_code)]

pub mod board;
pub mod comment;
pub mod discovery;
pub mod error;
pub mod event;
pub mod forecast;
pub mod ids;
pub mod import;
pub mod item;
pub mod kpi;
pub mod launch;
pub mod market;
pub mod metrics;
pub mod outcomes;
pub mod pm;
pub mod poker;
pub mod prd;
pub mod product;
pub mod proposal;
pub mod rank;
pub mod readiness;
pub mod retro;
pub mod rights;
pub mod sprint;
pub mod standup;
pub mod time;
pub mod user;
pub mod vision;
pub mod webhook;
pub mod widget;
pub mod workflow;

pub use error::{Invalid, ValidationError};
pub use ids::{ItemId, LinkId, ProductId, ProposalId, RecordId, StateId, TokenId, UserId};
pub use time::{Date, Timestamp};
