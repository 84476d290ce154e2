//! The production centre: accepting an approved application after verifying the officer's
//! signature (R11). Dispatching the made document is one step of the core (`app::step` with
//! `Dispatch`).

use serde_json::json;

use kuelik_core::lifecycle::{Actor, ApplicationId, ApplicationState, Command};
use kuelik_store::{Changes, StoredApplication};

use super::{audit, change, visible};
use crate::approvals;
use crate::error::ApiResult;
use crate::AppState;

/// Accepts an approved application into production once its approval verifies: made by an
/// officer of the application's region with a valid, unrevoked certificate of a trusted CA,
/// over exactly the application's current data and images. Every check is recorded; a
/// refusal is recorded and audited, and changes nothing else.
pub async fn accept(
    state: &AppState,
    actor: &Actor,
    id: ApplicationId,
) -> ApiResult<StoredApplication> {
    let stored = visible(state, id, actor).await?;
    if stored.application.state != ApplicationState::Approved {
        // The core answers (illegal transition), as for any other state.
        return change(
            state,
            &stored,
            &[(actor.clone(), Command::StartProduction)],
            |_, _, _| Ok(()),
        )
        .await;
    }
    let outcome = approvals::verify_for_production(state, &stored).await?;
    let now = state.clock.now();
    let check = approvals::signature_check(id, now, &outcome);
    match outcome {
        Ok(()) => {
            let steps = [(actor.clone(), Command::StartProduction)];
            change(state, &stored, &steps, |_, _, changes| {
                changes.signature_checks.push(check);
                Ok(())
            })
            .await
        }
        Err(refusal) => {
            state
                .store
                .commit(Changes {
                    signature_checks: vec![check],
                    audit: vec![audit(
                        actor,
                        now,
                        "production.refused",
                        Some(id.to_string()),
                        json!({ "reason": refusal.code }),
                    )],
                    ..Changes::default()
                })
                .await?;
            tracing::warn!(reason = %refusal.code, "production refused an approval");
            Err(refusal.into())
        }
    }
}
