//! The УМС officer's review (R11–R13): approving an application with an e-signature, and
//! the worker that returns reviews left too long to the queue. Taking one from the queue,
//! putting it back and annulling it (the duty is refunded) are each one step of the core
//! (`app::step` with `Take`, `Release`, `Annul`).

use serde_json::json;

use kuelik_core::lifecycle::{Actor, ApplicationId, ApplicationState, Command};
use kuelik_store::{QueueFilter, StaffAccount, StoredApplication};

use super::{audit, change, visible};
use crate::approvals::{self, Signing};
use crate::error::ApiResult;
use crate::AppState;

/// The approval document the officer signs: the application as it will be approved.
pub async fn document_to_sign(
    state: &AppState,
    actor: &Actor,
    officer: &StaffAccount,
    id: ApplicationId,
) -> ApiResult<Vec<u8>> {
    let stored = visible(state, id, actor).await?;
    let document = approvals::document_to_sign(state, actor, officer, &stored).await?;
    Ok(document.canonical_bytes())
}

/// Approves the application with the officer's e-signature (R11): it goes to production
/// with the signed approval, in one transaction.
pub async fn approve(
    state: &AppState,
    actor: &Actor,
    officer: &StaffAccount,
    id: ApplicationId,
    signing: Signing,
) -> ApiResult<StoredApplication> {
    let stored = visible(state, id, actor).await?;
    let approval = approvals::sign_approval(state, actor, officer, &stored, signing).await?;
    let now = state.clock.now();
    change(
        state,
        &stored,
        &[(actor.clone(), Command::Approve)],
        |_, _, changes| {
            changes.audit.push(audit(
                actor,
                now,
                "approval.signed",
                Some(id.to_string()),
                json!({ "method": approval.method.as_str() }),
            ));
            changes.approval = Some(approval);
            Ok(())
        },
    )
    .await
}

/// Returns reviews left longer than the policy's timeout to their region's queue (the core
/// checks the timeout again for each one).
pub async fn release_abandoned(state: &AppState) {
    let now = state.clock.now();
    let filter = QueueFilter {
        taken_before: now.checked_sub(kuelik_core::lifecycle::REVIEW_TIMEOUT).ok(),
        ..QueueFilter::state(ApplicationState::UnderReview)
    };
    let Ok(stale) = state.store.work_queue(&filter, 100).await else {
        return;
    };
    for stored in stale {
        let steps = [(Actor::System, Command::Release)];
        if let Err(e) = change(state, &stored, &steps, |_, _, _| Ok(())).await {
            tracing::warn!(code = %e.code, "release of an abandoned review failed");
        }
    }
}
