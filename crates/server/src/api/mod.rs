//! The JSON API under `/api/v1`: one module per kind of user, plus what they share — the
//! answer shapes ([`views`]). Handlers parse, authenticate and map the answer; the use cases
//! they call are in `crate::app`.

pub mod audit;
pub mod citizen;
pub mod contact;
pub mod documents;
pub mod payments;
pub mod reference;
pub mod reports;
pub mod rule_sets;
pub mod staff;
pub mod stuck;
pub mod views;
