//! kuelik-core: the online renewal of Kazakhstan's identity documents as pure rules.
//!
//! No IO, no async, no clock: every function takes the instant or date it needs, and the
//! reference data (regions, registration points, holidays, rule sets, messages) is parsed
//! from text — the compiled-in copies or an administrator's edited files.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod calendar;
pub mod digest;
pub mod document;
pub mod eligibility;
pub mod fees;
pub mod format;
pub mod hex;
pub mod iin;
pub mod issuance;
pub mod lang;
pub mod lifecycle;
pub mod messages;
pub mod money;
pub mod payment;
pub mod readiness;
pub mod region;
pub mod register;
pub mod rules;
pub mod staff;
pub mod ticket;
pub mod time;
