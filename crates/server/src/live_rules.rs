//! The rule book in force: the configured book (built-in sets, `rule_files`, `rules_enabled`)
//! plus the administrators' activations kept in the store.
//!
//! Requests read one snapshot (`current`) and decide with it; an activation builds a new book
//! and swaps it in whole, so no request sees half of a change. Each instance re-reads the
//! activations at start and every [`REFRESH`], so an activation made on another instance
//! takes effect here within that time (activations take effect from a date, so a few seconds
//! of lag on the first day is the only window).

use std::sync::{Arc, RwLock};
use std::time::Duration;

use kuelik_core::rules::RuleBook;
use kuelik_store::RuleActivation;

/// How often an instance re-reads the activations.
pub const REFRESH: Duration = Duration::from_secs(15);

pub struct LiveRules {
    configured: RuleBook,
    current: RwLock<Arc<RuleBook>>,
}

impl LiveRules {
    pub fn new(configured: RuleBook) -> LiveRules {
        LiveRules {
            current: RwLock::new(Arc::new(configured.clone())),
            configured,
        }
    }

    /// The book to decide with now.
    pub fn current(&self) -> Arc<RuleBook> {
        match self.current.read() {
            Ok(book) => book.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The configured book with `activations` applied in order. An activation of a version
    /// this instance does not know (a rule file removed from the configuration) is skipped
    /// with a warning rather than stopping the service.
    pub fn book_with(&self, activations: &[RuleActivation]) -> RuleBook {
        let mut book = self.configured.clone();
        for a in activations {
            if let Err(e) = book.activate(&a.version, a.active_from) {
                tracing::warn!(version = %a.version, from = %a.active_from, error = %e,
                    "a stored rule-set activation cannot be applied");
            }
        }
        book
    }

    pub fn replace(&self, book: RuleBook) {
        let book = Arc::new(book);
        match self.current.write() {
            Ok(mut current) => *current = book,
            Err(poisoned) => *poisoned.into_inner() = book,
        }
    }
}

/// Re-reads the activations from the store and swaps in the book they make.
pub async fn reload(state: &crate::AppState) -> Result<(), kuelik_store::StoreError> {
    let activations = state.store.rule_activations().await?;
    state.rules.replace(state.rules.book_with(&activations));
    Ok(())
}
