//! Background work, each loop stopping when the server stops:
//! - the outbox: delivers notices, SMS and the document changes for the population
//!   register, retrying with exponential backoff;
//! - refunds: asks the gateway to refund payments of annulled or withdrawn applications;
//! - abandoned reviews: returns applications taken but left untouched to the queue;
//! - reminders: tells citizens whose card enters the online window that they can renew;
//! - retention: deletes the images of applications finished longer ago than configured;
//! - the audit sequencer: chains written events and audit entries, one signed checkpoint
//!   per batch;
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
pub async fn run_outbox_once(state: &AppState) -> usize {
    let now = state.clock.now();
    let messages = match state.store.claim_outbox(now, OUTBOX_LEASE, 50).await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "outbox claim failed");
            return 0;
        }
    };
    for message in &messages {
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
    messages.len()
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
                        Some((body, signature)) => {
                            if let Err(e) = crate::app::payment::record_callback(&s, &body, &signature).await {
                                tracing::warn!(code = %e.code, "simulated gateway callback refused");
                            }
                        }
                        None => break,
                    },
                }
            }
        }));
    }
    handles
}
