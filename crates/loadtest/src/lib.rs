//! kuelik-loadtest: the load harness of issue #7.
//!
//! A "peak day" on the real server over real HTTP — citizens through the whole life cycle,
//! officers, production operators and desks working the queues — then the ceilings the
//! day's figures are compared with, all in one run; and `national`, the reads at national
//! scale on PostgreSQL after a COPY-speed bulk load. See docs/PERFORMANCE.md.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod ceilings;
pub mod codes;
pub mod http;
pub mod national;
pub mod people;
pub mod report;
pub mod roles;
pub mod scenario;
pub mod server;
pub mod slow_disk;

pub use report::Report;
pub use scenario::{run, Options};
