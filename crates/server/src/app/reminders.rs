//! A citizen's choice about expiry reminders (on by default): written with its audit entry.

use serde_json::json;

use kuelik_core::iin::Iin;
use kuelik_core::lifecycle::Actor;
use kuelik_store::{Changes, ReminderChoice};

use super::audit;
use crate::error::ApiResult;
use crate::AppState;

/// Turns the reminders of `iin` on or off.
pub async fn choose(state: &AppState, iin: Iin, enabled: bool) -> ApiResult<()> {
    let now = state.clock.now();
    let action = if enabled {
        "reminders.opt_in"
    } else {
        "reminders.opt_out"
    };
    state
        .store
        .commit(Changes {
            audit: vec![audit(&Actor::Citizen { iin }, now, action, None, json!({}))],
            reminder_choices: vec![ReminderChoice {
                iin,
                opt_out: !enabled,
                at: now,
            }],
            ..Changes::default()
        })
        .await?;
    Ok(())
}
