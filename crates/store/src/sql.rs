//! The SQL both backends run word for word, written once. Placeholders are PostgreSQL's
//! `$1`, `$2`, …; SQLite reads `$1` as a named parameter and numbers named parameters in the
//! order they first appear, so a statement here works on both as long as its placeholders
//! first appear in ascending order, each once — which the test below checks for every one.
//! Statements whose text differs between the backends (types, JSON operators, upserts of
//! a different shape) stay in `sqlite/` and `postgres/`. Public so that tools (the national
//! run's `EXPLAIN`) show the very statements the store runs.

/// The rows of one source in a batch chained by reach: numbered in `(from, to]`, read by `sql`
/// (`$1` from, `$2` to, `$3` how many at most), as `source` and `source_pos`.
pub struct ChainStretch {
    pub source: crate::ChainSource,
    pub from: i64,
    pub to: i64,
    pub sql: &'static str,
}

/// The rows after `after` up to `upto` in the chain's order — the events, then the audit
/// entries — leaving out a source with nothing in between.
pub fn chain_stretches(
    after: crate::ChainReach,
    upto: crate::ChainReach,
) -> impl Iterator<Item = ChainStretch> {
    [
        ChainStretch {
            source: crate::ChainSource::Event,
            from: after.events,
            to: upto.events,
            sql: CHAIN_EVENTS,
        },
        ChainStretch {
            source: crate::ChainSource::Audit,
            from: after.audit,
            to: upto.audit,
            sql: CHAIN_AUDIT_ENTRIES,
        },
    ]
    .into_iter()
    .filter(|s| s.to > s.from)
}

/// Declares each statement as a `const` and lists them all for the test.
macro_rules! statements {
    ($($(#[$doc:meta])* $name:ident = $sql:expr;)*) => {
        $($(#[$doc])* pub const $name: &str = $sql;)*
        #[cfg(test)]
        const ALL: &[(&str, &str)] = &[$((stringify!($name), $name)),*];
    };
}

statements! {
    // Applications, their events, images and approvals
    APPLICATION = "SELECT data, version FROM applications WHERE id = $1";
    APPLICATION_BY_TICKET = "SELECT data, version FROM applications WHERE ticket = $1";
    APPLICATIONS_OF =
        "SELECT data, version FROM applications WHERE applicant = $1 ORDER BY created_at DESC, \
         id DESC";
    HISTORY =
        "SELECT application_id, kind, from_state, to_state, actor_role, actor_staff, at, \
         CAST(data AS TEXT) AS data FROM events WHERE application_id = $1 ORDER BY seq";
    TIMELINE =
        "SELECT kind, from_state, to_state, actor_role, at FROM events WHERE application_id = \
         $1 ORDER BY seq";
    /// An application's archived history (`history_archive.rs`): its events before any row
    /// in `events` (rows written after it was archived).
    ARCHIVED_HISTORY = "SELECT events FROM archived_histories WHERE application_id = $1";
    /// Audit verification's read of archived histories, in the order of their first event.
    ARCHIVED_HISTORIES_FROM =
        "SELECT first_seq, CAST(application_id AS TEXT) AS application_id, events FROM \
         archived_histories WHERE first_seq > $1 ORDER BY first_seq LIMIT $2";
    /// The stretch of event rows one round of archiving looks at, each marked when it is a
    /// quiet event of a finished application (`$1`: the quiet instant): only those
    /// applications are read in full (`history_archive::window`).
    ARCHIVE_WINDOW =
        "SELECT CAST(application_id AS TEXT) AS application_id, seq, (to_state IN ('issued', \
         'annulled', 'withdrawn') AND at < $1) AS finished FROM events WHERE seq > $2 AND seq \
         <= $3 ORDER BY seq LIMIT $4";
    /// Writes an archived history, or grows one archived before.
    UPSERT_ARCHIVED_HISTORY =
        "INSERT INTO archived_histories (application_id, first_seq, last_at, events) VALUES \
         ($1, $2, $3, $4) ON CONFLICT (application_id) DO UPDATE SET last_at = excluded.last_at, \
         events = excluded.events";
    BLOB = "SELECT digest, content_type, bytes, created_at FROM blobs WHERE digest = $1";
    IDEMPOTENCY_RECORD =
        "SELECT scope, idempotency_key, request_digest, status, body, created_at FROM \
         idempotency WHERE scope = $1 AND idempotency_key = $2";
    IMAGE_CHECK =
        "SELECT digest, kind, verdict, perceptual_hash, report, checked_at FROM image_checks \
         WHERE digest = $1";
    APPLICATIONS_TO_PURGE =
        "SELECT a.id FROM applications a WHERE a.state IN ('issued', 'annulled', 'withdrawn') \
         AND NOT EXISTS (SELECT 1 FROM purged_applications p WHERE p.application_id = a.id) AND \
         COALESCE((SELECT MAX(e.at) FROM events e WHERE e.application_id = a.id), (SELECT \
         h.last_at FROM archived_histories h WHERE h.application_id = a.id)) < $1 ORDER BY \
         a.created_at, a.id LIMIT $2";
    DELETE_IMAGE_CHECK = "DELETE FROM image_checks WHERE digest = $1";
    DELETE_NOTICES_OF = "DELETE FROM notices WHERE application_id = $1";
    INSERT_PURGED =
        "INSERT INTO purged_applications (application_id, purged_at, images_deleted) VALUES \
         ($1, $2, $3)";
    APPROVAL =
        "SELECT application_id, officer, method, document, signature, signed_at FROM approvals \
         WHERE application_id = $1";
    SIGNATURE_CHECKS =
        "SELECT id, application_id, at, outcome, code, detail FROM signature_checks WHERE \
         application_id = $1 ORDER BY at, id";

    // People, their documents, contacts and reminders
    PERSON = "SELECT data FROM people WHERE iin = $1";
    COUNT_PEOPLE = "SELECT COUNT(*) FROM people";
    PEOPLE_TO_REMIND =
        "SELECT p.data FROM people p WHERE p.last_valid_day BETWEEN $1 AND $2 AND NOT EXISTS \
         (SELECT 1 FROM reminders r WHERE r.iin = p.iin AND r.last_valid_day = \
         p.last_valid_day) AND NOT EXISTS (SELECT 1 FROM reminder_opt_outs o WHERE o.iin = \
         p.iin) AND NOT EXISTS (SELECT 1 FROM applications a WHERE a.applicant = p.iin AND \
         a.state NOT IN ('issued', 'annulled', 'withdrawn')) ORDER BY p.last_valid_day, p.iin \
         LIMIT $3";
    REMINDER_OPTED_OUT = "SELECT COUNT(*) FROM reminder_opt_outs WHERE iin = $1";
    CONTACT_DETAILS =
        "SELECT iin, phone, language, updated_at FROM contact_details WHERE iin = $1";
    REGISTER_PHOTO =
        "SELECT iin, document_number, content_type, bytes FROM register_photos WHERE iin = $1";
    REGISTER_PHOTO_NUMBER = "SELECT document_number FROM register_photos WHERE iin = $1";

    // Staff, one-time codes, sessions, rule activations and officers' certificates
    STAFF = "SELECT data FROM staff WHERE id = $1";
    STAFF_BY_USERNAME = "SELECT data FROM staff WHERE username = $1";
    LIST_STAFF = "SELECT data FROM staff ORDER BY username";
    CONSUME_OTP =
        "UPDATE otp_challenges SET consumed_at = $1 WHERE id = $2 AND consumed_at IS NULL";
    SESSION =
        "SELECT token_hash, subject, created_at, expires_at FROM sessions WHERE token_hash = $1 \
         AND expires_at > $2";
    DELETE_SESSION = "DELETE FROM sessions WHERE token_hash = $1";
    RULE_ACTIVATIONS =
        "SELECT id, version, active_from, activated_by, activated_at FROM rule_activations \
         ORDER BY activated_at, id";
    OFFICER_CREDENTIAL =
        "SELECT staff_id, fingerprint, certificate, sealed_key, bound_at FROM \
         officer_credentials WHERE staff_id = $1 ORDER BY bound_at DESC LIMIT 1";
    OFFICER_CREDENTIAL_BY_FINGERPRINT =
        "SELECT staff_id, fingerprint, certificate, sealed_key, bound_at FROM \
         officer_credentials WHERE fingerprint = $1";
    OTP_ATTEMPT =
        "UPDATE otp_challenges SET attempts = attempts + 1 WHERE id = $1 AND attempts < $2 AND \
         consumed_at IS NULL AND expires_at > $3 RETURNING id, iin, purpose, code_hash, \
         created_at, expires_at, attempts, consumed_at";
    OTP_CHALLENGE =
        "SELECT id, iin, purpose, code_hash, created_at, expires_at, attempts, consumed_at FROM \
         otp_challenges WHERE id = $1";

    // Payments
    PAYMENTS_COUNT = "SELECT COUNT(*) FROM payments WHERE status = $1";

    PAYMENT =
        "SELECT id, application_id, payer, amount, status, gateway_reference, created_at, \
         updated_at FROM payments WHERE id = $1";
    PAYMENT_BY_REFERENCE =
        "SELECT id, application_id, payer, amount, status, gateway_reference, created_at, \
         updated_at FROM payments WHERE gateway_reference = $1";
    PAYMENTS_OF =
        "SELECT id, application_id, payer, amount, status, gateway_reference, created_at, \
         updated_at FROM payments WHERE application_id = $1 ORDER BY created_at, id";
    PAYMENTS_IN =
        "SELECT id, application_id, payer, amount, status, gateway_reference, created_at, \
         updated_at FROM payments WHERE status = $1 ORDER BY created_at, id LIMIT $2";
    PAYMENTS_STALE =
        "SELECT id, application_id, payer, amount, status, gateway_reference, created_at, \
         updated_at FROM payments WHERE status = $1 AND updated_at < $2 ORDER BY updated_at, id \
         LIMIT $3";

    // Outbox and notices
    // One message by id, while undelivered. "Undelivered" is spelled `COALESCE(delivered_at,
    // 0) = 0` (an instant is never 0), not `delivered_at IS NULL`: with the latter PostgreSQL
    // may answer from the partial index `outbox_due_idx` (its predicate) by scanning all of it
    // for the id, dead entries included — 85–177 buffers per call on a busy day instead of
    // the primary key's few.
    OUTBOX_DELIVERED =
        "UPDATE outbox SET delivered_at = $1 WHERE id = $2 AND COALESCE(delivered_at, 0) = 0";
    OUTBOX_FAILED =
        "UPDATE outbox SET last_error = $1, next_attempt_at = $2 WHERE id = $3 \
         AND COALESCE(delivered_at, 0) = 0";
    OUTBOX_BACKLOG = "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL";
    OUTBOX_RETRY =
        "UPDATE outbox SET next_attempt_at = $1 WHERE id = $2 AND COALESCE(delivered_at, 0) = 0";
    OUTBOX_EXISTS = "SELECT 1 FROM outbox WHERE id = $1";
    NOTICE_READ = "UPDATE notices SET read_at = COALESCE(read_at, $1) WHERE id = $2 AND iin = $3";

    OUTBOX_STUCK =
        "SELECT id, topic, payload, created_at, attempts, next_attempt_at, delivered_at, \
         last_error FROM outbox WHERE delivered_at IS NULL AND (attempts >= $1 OR created_at < \
         $2) ORDER BY created_at, id LIMIT $3";
    NOTICES_OF =
        "SELECT id, iin, application_id, kind, message, created_at, read_at FROM notices WHERE \
         iin = $1 ORDER BY created_at DESC, id DESC";

    // The audit chain
    LAST_AUDIT_CHECKPOINT =
        "SELECT seq, at, data, events_to, audit_to, tags FROM audit_checkpoints ORDER BY seq \
         DESC LIMIT 1";
    INSERT_AUDIT_CHECKPOINT =
        "INSERT INTO audit_checkpoints (seq, at, data, events_to, audit_to, tags) VALUES ($1, \
         $2, $3, $4, $5, $6)";
    NEWEST_AUDIT_CHECKPOINT_SEQ = "SELECT MAX(seq) FROM audit_checkpoints";
    AUDIT_CHECKPOINTS_AFTER =
        "SELECT seq, at, data, events_to, audit_to, tags FROM audit_checkpoints WHERE seq > $1 \
         ORDER BY seq LIMIT $2";
    /// Rows not chained yet: those still listed from before migration 15, and those past
    /// the chain's reach (`$1`, `$2`).
    AUDIT_WAITING_COUNT =
        "SELECT (SELECT COUNT(*) FROM audit_pending) + (SELECT COUNT(*) FROM events WHERE seq \
         > $1) + (SELECT COUNT(*) FROM audit_entries WHERE pos > $2)";
    /// How far the rows sequenced one by one (before migration 15) reach.
    AUDIT_LEGACY_REACH =
        "SELECT COALESCE((SELECT MAX(source_pos) FROM audit_chain WHERE source = 'event'), 0) \
         AS events, COALESCE((SELECT MAX(source_pos) FROM audit_chain WHERE source = \
         'audit'), 0) AS audit";
    /// The events of a batch chained by reach: `seq` in `($1, $2]`, at most `$3`.
    CHAIN_EVENTS =
        "SELECT 'event' AS source, seq AS source_pos FROM events WHERE seq > $1 AND seq <= $2 \
         ORDER BY seq LIMIT $3";
    /// The audit entries of a batch chained by reach: `pos` in `($1, $2]`, at most `$3`.
    CHAIN_AUDIT_ENTRIES =
        "SELECT 'audit' AS source, pos AS source_pos FROM audit_entries WHERE pos > $1 AND pos \
         <= $2 ORDER BY pos LIMIT $3";
    /// Rows within the legacy reach (`$1`, `$2`) neither in `audit_chain` nor waiting.
    AUDIT_UNCHAINED =
        "SELECT 'event' AS source, seq AS source_pos FROM events e WHERE e.seq <= $1 AND NOT \
         EXISTS (SELECT 1 FROM audit_chain c WHERE c.source = 'event' AND c.source_pos = \
         e.seq) AND NOT EXISTS (SELECT 1 FROM audit_pending p WHERE p.source = 'event' AND \
         p.source_pos = e.seq) UNION ALL SELECT 'audit', pos FROM audit_entries a WHERE a.pos \
         <= $2 AND NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.source = 'audit' AND \
         c.source_pos = a.pos) AND NOT EXISTS (SELECT 1 FROM audit_pending p WHERE p.source = \
         'audit' AND p.source_pos = a.pos) LIMIT $3";

    // Reports
    /// Decision times per region for decisions in `[$1, $2)`: how many approved and
    /// annulled, and the nearest-rank median and 90th percentile of submission → decision
    /// (µs), ranked by a window function so the database does the sorting. (The national run
    /// `EXPLAIN`s it.)
    DECISION_TIMES =
        "WITH decided AS ( SELECT a.region, e.to_state AS outcome, e.at - a.submitted_at AS \
         waited FROM (SELECT application_id, to_state, at FROM events WHERE kind IN \
         ('approved', 'annulled') AND at >= $1 AND at < $2 UNION ALL SELECT application_id, kind, \
         at FROM archived_decisions WHERE at >= $1 AND at < $2) e JOIN applications a \
         ON a.id = e.application_id WHERE a.submitted_at IS NOT NULL), \
         ranked AS ( SELECT region, outcome, waited, ROW_NUMBER() OVER (PARTITION BY region \
         ORDER BY waited) AS rn, COUNT(*) OVER (PARTITION BY region) AS n FROM decided) SELECT \
         region, SUM(CASE WHEN outcome = 'approved' THEN 1 ELSE 0 END), SUM(CASE WHEN outcome = \
         'annulled' THEN 1 ELSE 0 END), MIN(CASE WHEN rn * 2 >= n THEN waited END), MIN(CASE \
         WHEN rn * 10 >= n * 9 THEN waited END) FROM ranked GROUP BY region ORDER BY region";
    /// The reasons of the annulments in `[$1, $2)`. The reason is `data.reason` in an event
    /// stored in its compact form, `data.kind.reason` in one stored whole before it
    /// (`event_data.rs`). `->>` with a plain key reads JSON alike on both backends.
    ANNULMENT_REASONS =
        "SELECT reason, COUNT(*) FROM (SELECT COALESCE(data ->> 'reason', data -> 'kind' ->> \
         'reason') AS reason FROM events WHERE kind = 'annulled' AND at >= $1 AND at < $2 UNION \
         ALL SELECT reason FROM archived_decisions WHERE kind = 'annulled' AND at >= $1 AND at \
         < $2) r GROUP BY 1 ORDER BY 2 DESC, 1";
    /// What the reports read of an application's approvals and annulments, copied from its
    /// event rows as they are archived (`$1` the application, `$2` its last archived `seq`).
    ARCHIVE_DECISIONS =
        "INSERT INTO archived_decisions (application_id, kind, at, reason) SELECT \
         application_id, kind, at, COALESCE(data ->> 'reason', data -> 'kind' ->> 'reason') \
         FROM events WHERE application_id = $1 AND seq <= $2 AND kind IN ('approved', \
         'annulled')";
    APPLICATION_COUNTS =
        "SELECT region, state, COUNT(*) FROM applications GROUP BY region, state ORDER BY \
         region, state";
    APPLICATIONS_WAITING_SINCE =
        "SELECT data, version FROM ( SELECT a.id, a.data, a.version, (SELECT MAX(e.at) FROM \
         events e WHERE e.application_id = a.id AND e.to_state = a.state AND e.from_state <> \
         e.to_state) AS entered FROM applications a WHERE a.state = $1) w WHERE entered < $2 \
         ORDER BY entered, id LIMIT $3";
    SUBMITTED_PER_DAY =
        "SELECT (submitted_at + $1) / $2 AS day, COUNT(*) FROM applications WHERE submitted_at \
         >= $3 AND submitted_at < $4 GROUP BY 1 ORDER BY 1";
    SUBMITTED_PER_REGION =
        "SELECT region, COUNT(*) FROM applications WHERE submitted_at >= $1 AND submitted_at < \
         $2 GROUP BY region ORDER BY region";

    // Rows a commit writes
    INSERT_BLOB =
        "INSERT INTO blobs (digest, content_type, size, bytes, created_at) VALUES ($1, $2, $3, \
         $4, $5) ON CONFLICT (digest) DO NOTHING";
    INSERT_REMINDER = "INSERT INTO reminders (iin, last_valid_day, sent_at) VALUES ($1, $2, $3)";
    INSERT_APPROVAL =
        "INSERT INTO approvals (application_id, officer, method, document, signature, \
         signed_at) VALUES ($1, $2, $3, $4, $5, $6)";
    UPSERT_REGISTER_PHOTO =
        "INSERT INTO register_photos (iin, document_number, content_type, bytes) VALUES ($1, \
         $2, $3, $4) ON CONFLICT (iin) DO UPDATE SET document_number = \
         excluded.document_number, content_type = excluded.content_type, bytes = excluded.bytes";
    UPSERT_CONTACT_DETAILS =
        "INSERT INTO contact_details (iin, phone, language, updated_at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (iin) DO UPDATE SET phone = excluded.phone, language = excluded.language, \
         updated_at = excluded.updated_at";
    INSERT_RULE_ACTIVATION =
        "INSERT INTO rule_activations (id, version, active_from, activated_by, activated_at) \
         VALUES ($1, $2, $3, $4, $5)";
    UPSERT_DOCUMENT =
        "INSERT INTO documents (kind, number, holder, issued_on, last_valid_day, issued_for, \
         status, reason, invalidated_at, invalidated_by, old_card) VALUES ($1, $2, $3, $4, $5, \
         $6, $7, $8, $9, $10, $11) ON CONFLICT (kind, number) DO UPDATE SET status = \
         excluded.status, reason = excluded.reason, invalidated_at = excluded.invalidated_at, \
         invalidated_by = excluded.invalidated_by, old_card = excluded.old_card, issued_for = \
         COALESCE(documents.issued_for, excluded.issued_for)";
    INSERT_REMINDER_OPT_OUT =
        "INSERT INTO reminder_opt_outs (iin, at) VALUES ($1, $2) ON CONFLICT (iin) DO NOTHING";
    DELETE_REMINDER_OPT_OUT = "DELETE FROM reminder_opt_outs WHERE iin = $1";
    UPSERT_OFFICER_CREDENTIAL =
        "INSERT INTO officer_credentials (staff_id, fingerprint, certificate, sealed_key, \
         bound_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (fingerprint) DO UPDATE SET \
         sealed_key = excluded.sealed_key, bound_at = excluded.bound_at WHERE \
         officer_credentials.staff_id = excluded.staff_id";
    INSERT_SIGNATURE_CHECK =
        "INSERT INTO signature_checks (id, application_id, at, outcome, code, detail) VALUES \
         ($1, $2, $3, $4, $5, $6)";

}

#[cfg(test)]
mod tests {
    use super::ALL;

    /// The placeholders of `sql` in the order they appear.
    fn placeholders(sql: &str) -> Vec<u32> {
        let mut found = Vec::new();
        let bytes = sql.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'$' {
                let digits: String = sql[i + 1..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                if let Ok(n) = digits.parse() {
                    found.push(n);
                }
                i += 1 + digits.len();
            } else {
                i += 1;
            }
        }
        found
    }

    #[test]
    fn every_shared_statement_numbers_its_placeholders_as_sqlite_does() {
        for (name, sql) in ALL {
            // SQLite numbers named parameters by first appearance, and a name used again is
            // the same parameter: $1, $2, … must first appear in order (repeats are fine).
            let mut first: Vec<u32> = Vec::new();
            for n in placeholders(sql) {
                if !first.contains(&n) {
                    first.push(n);
                }
            }
            let expected: Vec<u32> = (1..=u32::try_from(first.len()).unwrap()).collect();
            assert_eq!(first, expected, "{name}: $1, $2, … first appear in order");
            assert!(
                !sql.contains('?'),
                "{name}: PostgreSQL has no `?` placeholder"
            );
        }
        assert!(ALL.len() >= 50, "the shared statements are listed");
    }

    #[test]
    fn the_check_sees_a_placeholder_out_of_order() {
        assert_eq!(
            placeholders("x = $2 AND y = $1 AND z = $10"),
            vec![2, 1, 10]
        );
        assert_eq!(placeholders("SELECT 1"), Vec::<u32>::new());
    }
}
