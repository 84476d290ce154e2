//! A change's core in one statement. A change to an application is its new row, its events,
//! audit entries, outbox messages and payments; sent as one statement per row between `BEGIN`
//! and `COMMIT`, that was six or more round trips, each a wake-up of a server process. Here
//! the rows go as arrays into data-modifying CTEs of one statement. A change of only these
//! ([`fits`]) is that statement alone, which PostgreSQL runs as a transaction of its own: one
//! round trip, all or nothing. A change that carries more (an image, an approval, documents, an
//! idempotency record) runs it first inside its transaction, then the rest.
//!
//! The rows' inserts depend on the application's write (`WHERE EXISTS (SELECT 1 FROM app)`),
//! so when the version check of the `UPDATE` fails nothing is written and the statement
//! answers 0: [`StoreError::Conflict`]. A unique violation aborts the whole statement and is
//! reported by its index name. Foreign keys are checked at the end of the statement, so events
//! may refer to an application inserted beside them.

use super::*;

/// Whether `c` holds only what [`write`] writes, so that it is one statement alone.
pub(super) fn fits(c: &ChangeRows) -> bool {
    // Spelled out field by field so that a new kind of row has to be placed here.
    let ChangeRows {
        application: _,
        events: _,
        payments: _,
        outbox: _,
        audit: _,
        blobs,
        idempotency,
        reminders,
        image_checks,
        approval,
        signature_checks,
        contacts,
        rule_activations,
        documents,
        current_documents,
        staff,
        reminder_choices,
        officer_credentials,
        register_photos,
    } = c;
    blobs.is_empty()
        && idempotency.is_none()
        && reminders.is_empty()
        && image_checks.is_empty()
        && approval.is_none()
        && signature_checks.is_empty()
        && contacts.is_empty()
        && rule_activations.is_empty()
        && documents.is_empty()
        && current_documents.is_empty()
        && staff.is_empty()
        && reminder_choices.is_empty()
        && officer_credentials.is_empty()
        && register_photos.is_empty()
}

/// Writes the application, events, payments, outbox messages and audit entries of `c` in one
/// statement, on `executor` (the pool: a transaction of its own; or an open transaction).
pub(super) async fn write<'e>(
    executor: impl sqlx::PgExecutor<'e>,
    c: &ChangeRows,
) -> StoreResult<()> {
    let mut q = QueryBuilder::<Postgres>::new("WITH app AS (");
    match &c.application {
        None => {
            q.push("SELECT 1");
        }
        Some(a) => {
            match a.expected_version {
                None => {
                    q.push(
                        "INSERT INTO applications (id, applicant, region, registration_point, \
                         state, ticket, due_date, submitted_at, taken_at, reviewer, created_at, \
                         version, data) VALUES (",
                    );
                    let mut v = q.separated(", ");
                    v.push_bind(a.id)
                        .push_bind(&a.applicant)
                        .push_bind(&a.region)
                        .push_bind(&a.registration_point)
                        .push_bind(a.state)
                        .push_bind(&a.ticket)
                        .push_bind(&a.due_date)
                        .push_bind(a.submitted_at)
                        .push_bind(a.taken_at)
                        .push_bind(a.reviewer)
                        .push_bind(a.created_at)
                        .push("1")
                        .push_bind(&a.data)
                        .push_unseparated("::jsonb");
                    q.push(")");
                }
                Some(expected) => {
                    q.push("UPDATE applications SET applicant = ")
                        .push_bind(&a.applicant)
                        .push(", region = ")
                        .push_bind(&a.region)
                        .push(", registration_point = ")
                        .push_bind(&a.registration_point)
                        .push(", state = ")
                        .push_bind(a.state)
                        .push(", ticket = ")
                        .push_bind(&a.ticket)
                        .push(", due_date = ")
                        .push_bind(&a.due_date)
                        .push(", submitted_at = ")
                        .push_bind(a.submitted_at)
                        .push(", taken_at = ")
                        .push_bind(a.taken_at)
                        .push(", reviewer = ")
                        .push_bind(a.reviewer)
                        .push(", data = ")
                        .push_bind(&a.data)
                        .push("::jsonb, version = version + 1 WHERE id = ")
                        .push_bind(a.id)
                        .push(" AND version = ")
                        .push_bind(expected);
                }
            }
            q.push(" RETURNING 1");
        }
    }
    q.push(")");
    if !c.events.is_empty() {
        let e = &c.events;
        q.push(
            ", events_written AS (INSERT INTO events (application_id, kind, from_state, to_state, \
             actor_role, actor_staff, at, data) \
             SELECT u.application_id, u.kind, u.from_state, u.to_state, u.actor_role, \
             u.actor_staff, u.at, u.data::jsonb FROM UNNEST(",
        );
        q.push_bind(e.iter().map(|r| r.application_id).collect::<Vec<_>>())
            .push("::uuid[], ")
            .push_bind(e.iter().map(|r| r.kind).collect::<Vec<_>>())
            .push("::text[], ")
            .push_bind(e.iter().map(|r| r.from_state).collect::<Vec<_>>())
            .push("::text[], ")
            .push_bind(e.iter().map(|r| r.to_state).collect::<Vec<_>>())
            .push("::text[], ")
            .push_bind(e.iter().map(|r| r.actor_role).collect::<Vec<_>>())
            .push("::text[], ")
            .push_bind(e.iter().map(|r| r.actor_staff).collect::<Vec<_>>())
            .push("::uuid[], ")
            .push_bind(e.iter().map(|r| r.at).collect::<Vec<_>>())
            .push("::bigint[], ")
            .push_bind(e.iter().map(|r| r.data.as_str()).collect::<Vec<_>>())
            .push(
                "::text[]) WITH ORDINALITY AS u(application_id, kind, from_state, to_state, \
                 actor_role, actor_staff, at, data, n) \
                 WHERE EXISTS (SELECT 1 FROM app) ORDER BY u.n)",
            );
    }
    if !c.payments.is_empty() {
        let p = &c.payments;
        q.push(
            ", payments_written AS (INSERT INTO payments (id, application_id, payer, amount, \
             status, gateway_reference, created_at, updated_at) \
             SELECT u.id, u.application_id, u.payer, u.amount, u.status, u.gateway_reference, \
             u.created_at, u.updated_at FROM UNNEST(",
        );
        q.push_bind(p.iter().map(|r| r.id).collect::<Vec<_>>())
            .push("::uuid[], ")
            .push_bind(p.iter().map(|r| r.application_id).collect::<Vec<_>>())
            .push("::uuid[], ")
            .push_bind(p.iter().map(|r| r.payer.as_str()).collect::<Vec<_>>())
            .push("::text[], ")
            .push_bind(p.iter().map(|r| r.amount).collect::<Vec<_>>())
            .push("::bigint[], ")
            .push_bind(p.iter().map(|r| r.status).collect::<Vec<_>>())
            .push("::text[], ")
            .push_bind(
                p.iter()
                    .map(|r| r.gateway_reference.as_str())
                    .collect::<Vec<_>>(),
            )
            .push("::text[], ")
            .push_bind(p.iter().map(|r| r.created_at).collect::<Vec<_>>())
            .push("::bigint[], ")
            .push_bind(p.iter().map(|r| r.updated_at).collect::<Vec<_>>())
            .push(
                "::bigint[]) WITH ORDINALITY AS u(id, application_id, payer, amount, status, \
                 gateway_reference, created_at, updated_at, n) \
                 WHERE EXISTS (SELECT 1 FROM app) ORDER BY u.n \
                 ON CONFLICT (id) DO UPDATE SET amount = excluded.amount, \
                 status = excluded.status, gateway_reference = excluded.gateway_reference, \
                 updated_at = excluded.updated_at)",
            );
    }
    if !c.outbox.is_empty() {
        let m = &c.outbox;
        q.push(
            ", outbox_written AS (INSERT INTO outbox (id, topic, payload, created_at, attempts, \
             next_attempt_at, delivered_at, last_error) \
             SELECT u.id, u.topic, u.payload::jsonb, u.created_at, u.attempts, \
             u.next_attempt_at, u.delivered_at, u.last_error FROM UNNEST(",
        );
        q.push_bind(m.iter().map(|r| r.id).collect::<Vec<_>>())
            .push("::uuid[], ")
            .push_bind(m.iter().map(|r| r.topic.as_str()).collect::<Vec<_>>())
            .push("::text[], ")
            .push_bind(m.iter().map(|r| r.payload.as_str()).collect::<Vec<_>>())
            .push("::text[], ")
            .push_bind(m.iter().map(|r| r.created_at).collect::<Vec<_>>())
            .push("::bigint[], ")
            .push_bind(m.iter().map(|r| r.attempts).collect::<Vec<_>>())
            .push("::bigint[], ")
            .push_bind(m.iter().map(|r| r.next_attempt_at).collect::<Vec<_>>())
            .push("::bigint[], ")
            .push_bind(m.iter().map(|r| r.delivered_at).collect::<Vec<_>>())
            .push("::bigint[], ")
            .push_bind(
                m.iter()
                    .map(|r| r.last_error.as_deref())
                    .collect::<Vec<_>>(),
            )
            .push(
                "::text[]) WITH ORDINALITY AS u(id, topic, payload, created_at, attempts, \
                 next_attempt_at, delivered_at, last_error, n) \
                 WHERE EXISTS (SELECT 1 FROM app) ORDER BY u.n)",
            );
    }
    if !c.audit.is_empty() {
        let a = &c.audit;
        q.push(
            ", audit_written AS (INSERT INTO audit_entries (id, at, actor_role, actor, action, \
             target, details) \
             SELECT u.id, u.at, u.actor_role, u.actor::jsonb, u.action, u.target, \
             u.details::jsonb FROM UNNEST(",
        );
        q.push_bind(a.iter().map(|r| r.id).collect::<Vec<_>>())
            .push("::uuid[], ")
            .push_bind(a.iter().map(|r| r.at).collect::<Vec<_>>())
            .push("::bigint[], ")
            .push_bind(a.iter().map(|r| r.actor_role).collect::<Vec<_>>())
            .push("::text[], ")
            .push_bind(a.iter().map(|r| r.actor.as_str()).collect::<Vec<_>>())
            .push("::text[], ")
            .push_bind(a.iter().map(|r| r.action.as_str()).collect::<Vec<_>>())
            .push("::text[], ")
            .push_bind(a.iter().map(|r| r.target.as_deref()).collect::<Vec<_>>())
            .push("::text[], ")
            .push_bind(a.iter().map(|r| r.details.as_str()).collect::<Vec<_>>())
            .push(
                "::text[]) WITH ORDINALITY AS u(id, at, actor_role, actor, action, target, \
                 details, n) WHERE EXISTS (SELECT 1 FROM app) ORDER BY u.n)",
            );
    }
    q.push(" SELECT count(*) FROM app");
    let written: i64 = q
        .build_query_scalar()
        .fetch_one(executor)
        .await
        .map_err(db_err)?;
    if written != 1 {
        // Only an UPDATE can match no row: the version changed since the read.
        return Err(StoreError::Conflict);
    }
    Ok(())
}
