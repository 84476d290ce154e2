//! Background work, each loop stopping when the server stops:
//! - the outbox: delivers notices, SMS and the document changes for the population
//!   register, retrying with exponential backoff;
//! - refunds: asks the gateway to refund payments of annulled or withdrawn applications;
//! - abandoned reviews: returns applications taken but left untouched to the queue;
//! - reminders: tells citizens whose card enters the online window that they can renew;
//! - retention: deletes the images of applications finished longer ago than configured;
//! - the audit sequencer: chains written events and audit entries, one signed checkpoint
//!   per batch;
//! - archiving: moves the histories of finished, quiet applications into one row each;
//! - rule sets: re-reads the administrators' activations (made on any instance);
//! - the simulated gateway's callbacks, handled like a real gateway's.

use std::time::Duration;

use jiff::SignedDuration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use kuelik_core::lifecycle::Actor;
use kuelik_store::PaymentStatus;

use crate::AppState;

const OUTBOX_LEASE: SignedDuration = SignedDuration::from_secs(60);

/// Delay before retry `attempts` (1, 2, 4 … seconds, at most 10 minutes).
pub fn backoff(attempts: u32) -> SignedDuration {
    SignedDuration::from_secs(1i64 << attempts.min(10)).min(SignedDuration::from_mins(10))
}

async fn pause(
    stop: &mut watch::Receiver<bool>,
    wake: Option<&tokio::sync::Notify>,
    every: Duration,
) -> bool {
    let notified = async {
        match wake {
            Some(n) => n.notified().await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = stop.changed() => {},
        _ = notified => {},
        _ = tokio::time::sleep(every) => {},
    }
    *stop.borrow()
}

/// Delivers what is due in the outbox; returns how many messages were handled.
///
/// Messages for different people go out side by side; those for one person (one phone, one
/// IIN, one register holder) go in the order they were written, so a citizen never reads
/// "approved" before "submitted" and the register never sees a card issued before the one it
/// replaced. Side by side matters: each delivery is a network call and a write, and one after
/// the other they held every citizen's one-time code behind the notices of everyone else's
/// (the writes of a batch's deliveries now share one commit).
pub async fn run_outbox_once(state: &AppState) -> usize {
    let now = state.clock.now();
    let messages = match state.store.claim_outbox(now, OUTBOX_LEASE, 50).await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "outbox claim failed");
            return 0;
        }
    };
    let handled = messages.len();
    let mut deliveries = tokio::task::JoinSet::new();
    for queue in by_recipient(messages) {
        let state = state.clone();
        deliveries.spawn(async move {
            for message in &queue {
                deliver_one(&state, message).await;
            }
        });
    }
    while let Some(done) = deliveries.join_next().await {
        if let Err(e) = done {
            tracing::warn!(error = %e, "an outbox delivery task failed");
        }
    }
    handled
}

/// Who a message is for, so that one person's messages keep their order: the phone of an
/// SMS, the citizen of a notice, the holder of a register change; other topics (the audit
/// witness) go one after the other.
fn recipient(message: &kuelik_store::OutboxMessage) -> String {
    ["to", "iin", "holder"]
        .iter()
        .find_map(|key| message.payload.get(*key).and_then(|v| v.as_str()))
        .map_or_else(
            || message.topic.clone(),
            |who| format!("{}:{who}", message.topic),
        )
}

/// The claimed messages as one queue per recipient, each in the order it was claimed.
fn by_recipient(
    messages: Vec<kuelik_store::OutboxMessage>,
) -> Vec<Vec<kuelik_store::OutboxMessage>> {
    let mut queues: Vec<(String, Vec<kuelik_store::OutboxMessage>)> = Vec::new();
    for message in messages {
        let who = recipient(&message);
        match queues.iter_mut().find(|(w, _)| *w == who) {
            Some((_, queue)) => queue.push(message),
            None => queues.push((who, vec![message])),
        }
    }
    queues.into_iter().map(|(_, queue)| queue).collect()
}

async fn deliver_one(state: &AppState, message: &kuelik_store::OutboxMessage) {
    let now = state.clock.now();
    let delivered = if message.topic == crate::register_sync::TOPIC {
        match state.register_link.get() {
            Some(link) => link.send(&message.payload).await.map(|()| None),
            None => Err("the population register link is not started".into()),
        }
    } else if message.topic == crate::audit_chain::WITNESS_TOPIC {
        match &state.config.audit_witness_url {
            Some(url) => crate::audit_chain::send_witness(url, &message.payload)
                .await
                .map(|()| None),
            None => Err("no audit witness endpoint is configured".into()),
        }
    } else {
        crate::notify::deliver(state, message).await
    };
    match delivered {
        Ok(notice) => {
            if let Err(e) = state
                .store
                .outbox_delivered(message.id, now, notice.as_ref())
                .await
            {
                tracing::warn!(error = %e, "outbox delivery mark failed");
            }
        }
        Err(error) => {
            let next = now.checked_add(backoff(message.attempts)).unwrap_or(now);
            tracing::warn!(topic = %message.topic, attempts = message.attempts, %error, "outbox delivery failed");
            let _ = state.store.outbox_failed(message.id, &error, next).await;
        }
    }
}

/// Asks the gateway to refund every payment waiting for it.
pub async fn run_refunds_once(state: &AppState) {
    let Ok(pending) = state
        .store
        .payments_in(PaymentStatus::RefundPending, 100)
        .await
    else {
        return;
    };
    for payment in pending {
        if let Err(e) = state
            .gateway
            .request_refund(&payment.gateway_reference, payment.amount)
            .await
        {
            tracing::warn!(error = %e, "refund request failed; will retry");
        }
    }
}

/// Deletes the images of applications finished more than `retention_days` ago (each purge
/// audited); returns how many applications were purged.
pub async fn run_retention_once(state: &AppState) -> usize {
    let days = state.config.retention_days;
    if days == 0 {
        return 0;
    }
    let now = state.clock.now();
    let Ok(cutoff) = now.checked_sub(SignedDuration::from_hours(24 * i64::from(days))) else {
        return 0;
    };
    let Ok(ids) = state.store.applications_to_purge(cutoff, 200).await else {
        return 0;
    };
    let mut purged = 0;
    for id in ids {
        let entry = crate::app::audit(
            &Actor::System,
            now,
            "retention.purge",
            Some(id.to_string()),
            serde_json::json!({ "retention_days": days }),
        );
        match state.store.purge_application_images(id, entry, now).await {
            Ok(_) => {
                purged += 1;
                metrics::counter!("kuelik_retention_purged_total").increment(1);
            }
            Err(e) => tracing::warn!(error = %e, "retention purge failed"),
        }
    }
    purged
}

/// Returns abandoned reviews to their region's queue.
pub async fn release_abandoned_once(state: &AppState) {
    crate::app::review::release_abandoned(state).await
}

/// Moves written events and audit entries into the signed hash chain; returns how many.
pub async fn run_audit_sequencer_once(state: &AppState) -> usize {
    let now = state.clock.now();
    match crate::audit_chain::sequence_once(&*state.store, &state.config.secrets.audit_key, now)
        .await
    {
        Ok(n) => {
            if n > 0 {
                if let Some(path) = &state.config.audit_witness {
                    if let Err(e) = crate::audit_chain::keep_witness(&*state.store, path).await {
                        tracing::warn!(error = %e, "the audit witness file was not updated");
                    }
                }
                if state.config.audit_witness_url.is_some() {
                    if let Err(e) = crate::audit_chain::publish_witness(&*state.store, now).await {
                        tracing::warn!(error = %e, "the audit checkpoint was not queued for the witness");
                    }
                }
            }
            n
        }
        Err(e) => {
            tracing::warn!(error = %e, "audit sequencing failed");
            0
        }
    }
}

pub fn spawn(state: AppState, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    let mut handles = Vec::new();

    let (s, mut st) = (state.clone(), stop.clone());
    handles.push(tokio::spawn(async move {
        loop {
            if let Ok(now) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
                s.outbox_heartbeat
                    .store(now.as_secs() as i64, std::sync::atomic::Ordering::Relaxed);
            }
            let handled = run_outbox_once(&s).await;
            if handled == 0 && pause(&mut st, Some(&s.outbox_wakeup), Duration::from_secs(1)).await
            {
                break;
            }
            if *st.borrow() {
                break;
            }
        }
    }));

    let (s, mut st) = (state.clone(), stop.clone());
    handles.push(tokio::spawn(async move {
        loop {
            run_refunds_once(&s).await;
            if pause(&mut st, None, Duration::from_secs(2)).await {
                break;
            }
        }
    }));

    let (s, mut st) = (state.clone(), stop.clone());
    handles.push(tokio::spawn(async move {
        loop {
            release_abandoned_once(&s).await;
            if pause(&mut st, None, Duration::from_secs(30)).await {
                break;
            }
        }
    }));

    let (s, mut st) = (state.clone(), stop.clone());
    handles.push(tokio::spawn(async move {
        loop {
            let sent = crate::reminders::run_once(&s).await;
            if sent > 0 {
                tracing::info!(sent, "reminders sent");
            }
            // Hourly: a card enters the window once a day; a restart catches up at once.
            if pause(&mut st, None, Duration::from_secs(3600)).await {
                break;
            }
        }
    }));

    let (s, mut st) = (state.clone(), stop.clone());
    handles.push(tokio::spawn(async move {
        loop {
            while run_retention_once(&s).await > 0 {}
            if pause(&mut st, None, Duration::from_secs(3600)).await {
                break;
            }
        }
    }));

    let (s, mut st) = (state.clone(), stop.clone());
    handles.push(tokio::spawn(async move {
        loop {
            let sequenced = run_audit_sequencer_once(&s).await;
            // A full batch means more may wait: go again at once.
            if sequenced < crate::audit_chain::BATCH as usize
                && pause(&mut st, None, Duration::from_millis(500)).await
            {
                break;
            }
            if *st.borrow() {
                break;
            }
        }
    }));

    // Finished histories into one archived row each: a pass over the events table, then a
    // rest; rounds back to back while a pass finds work.
    let (s, mut st) = (state.clone(), stop.clone());
    handles.push(tokio::spawn(async move {
        let mut after = 0i64;
        loop {
            let now = s.clock.now();
            let rows = crate::history_archive::ROWS_PER_ROUND;
            let rest =
                match crate::history_archive::archive_round(&*s.store, now, after, rows).await {
                    Ok(round) => {
                        if round.applications > 0 {
                            metrics::counter!("kuelik_histories_archived_total")
                                .increment(round.applications);
                        }
                        // A pass done: rest, then start again from the first row.
                        let (next, rest) = if round.at_end {
                            (0, Duration::from_secs(600))
                        } else {
                            (round.scanned_to, Duration::from_millis(50))
                        };
                        after = next;
                        rest
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "archiving histories failed");
                        Duration::from_secs(60)
                    }
                };
            if pause(&mut st, None, rest).await {
                break;
            }
        }
    }));

    // Rule-set activations made on another instance.
    let (s, mut st) = (state.clone(), stop.clone());
    handles.push(tokio::spawn(async move {
        loop {
            if pause(&mut st, None, crate::live_rules::REFRESH).await {
                break;
            }
            if let Err(e) = crate::live_rules::reload(&s).await {
                tracing::warn!(error = %e, "cannot re-read the rule-set activations");
            }
        }
    }));

    let receiver = state.sim_callbacks.lock().ok().and_then(|mut r| r.take());
    if let Some(mut callbacks) = receiver {
        let (s, mut st) = (state.clone(), stop);
        handles.push(tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = st.changed() => break,
                    next = callbacks.recv() => match next {
                        // Each on its own task, as a real gateway's callbacks arrive: side by
                        // side, so one payment's commit does not hold up the next citizen's.
                        Some((body, signature)) => {
                            let s = s.clone();
                            tokio::spawn(async move {
                                if let Err(e) = crate::app::payment::record_callback(&s, &body, &signature).await {
                                    tracing::warn!(code = %e.code, "simulated gateway callback refused");
                                }
                            });
                        }
                        None => break,
                    },
                }
            }
        }));
    }
    handles
}

#[cfg(test)]
mod tests {
    use super::*;
    use kuelik_store::OutboxMessage;
    use serde_json::json;

    fn message(n: u32, topic: &str, payload: serde_json::Value) -> OutboxMessage {
        let at = jiff::Timestamp::UNIX_EPOCH;
        OutboxMessage {
            id: uuid::Uuid::from_u128(u128::from(n)),
            topic: topic.into(),
            payload,
            created_at: at,
            attempts: 0,
            next_attempt_at: at,
            delivered_at: None,
            last_error: None,
        }
    }

    #[test]
    fn one_persons_messages_stay_in_order_and_other_peoples_go_apart() {
        let claimed = vec![
            message(1, "sms", json!({ "to": "+77010000001", "text": "code 1" })),
            message(
                2,
                "notice",
                json!({ "iin": "900101300001", "kind": "submitted" }),
            ),
            message(3, "sms", json!({ "to": "+77010000002", "text": "code 2" })),
            message(
                4,
                "notice",
                json!({ "iin": "900101300001", "kind": "approved" }),
            ),
            message(5, "sms", json!({ "to": "+77010000001", "text": "code 3" })),
            message(
                6,
                crate::register_sync::TOPIC,
                json!({ "holder": "900101300001" }),
            ),
            message(7, crate::audit_chain::WITNESS_TOPIC, json!({ "seq": 1 })),
            message(8, crate::audit_chain::WITNESS_TOPIC, json!({ "seq": 2 })),
        ];
        let ids = |queue: &Vec<OutboxMessage>| -> Vec<u128> {
            queue.iter().map(|m| m.id.as_u128()).collect()
        };
        let queues: Vec<Vec<u128>> = by_recipient(claimed).iter().map(ids).collect();
        // The same IIN on a notice and a register change are different deliveries (different
        // receivers), so they need no order between them.
        assert_eq!(
            queues,
            vec![vec![1, 5], vec![2, 4], vec![3], vec![6], vec![7, 8]],
        );
    }
}
