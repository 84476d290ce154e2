//! Rows for PostgreSQL `COPY … FROM STDIN` (text format), encoded exactly as
//! [`crate::postgres::PostgresStore`] writes them: the same codec builds the columns, so the
//! store's own reads decode what a bulk load wrote. For loading history at national scale
//! (the load harness), where row-by-row commits would take days.
//!
//! Each `*_line` function appends one line (columns tab-separated, `\N` for NULL, ending in a
//! newline) to a buffer; send the buffer to the matching `COPY_*` statement.

use kuelik_core::lifecycle::{Application, Event};
use kuelik_core::register::Person;
use uuid::Uuid;

use crate::codec;
use crate::{ImageCheck, PaymentRecord, StoreResult};

/// `people`: the generated `last_valid_day` column fills itself.
pub const COPY_PEOPLE: &str = "COPY people (iin, region, data) FROM STDIN";
/// `applications` as first written (version 1); `live` is generated.
pub const COPY_APPLICATIONS: &str = "COPY applications (id, applicant, region, \
    registration_point, state, ticket, due_date, submitted_at, taken_at, reviewer, created_at, \
    version, data) FROM STDIN";
/// `events`: `seq` comes from the identity in line order, so one application's events keep
/// their order when they are written in order.
pub const COPY_EVENTS: &str = "COPY events (application_id, kind, from_state, to_state, \
    actor_role, actor_staff, at, data) FROM STDIN";
pub const COPY_PAYMENTS: &str = "COPY payments (id, application_id, payer, amount, status, \
    gateway_reference, created_at, updated_at) FROM STDIN";
pub const COPY_IMAGE_CHECKS: &str = "COPY image_checks (digest, kind, verdict, perceptual_hash, \
    report, checked_at) FROM STDIN";

/// One person, as [`crate::Store::put_people`] writes them.
pub fn person_line(out: &mut String, person: &Person) -> StoreResult<()> {
    let rows = codec::person_rows(&[person])?;
    for r in rows {
        line(out, &[Some(&r.iin), Some(&r.region), Some(&r.data)]);
    }
    Ok(())
}

/// One application as [`crate::Store::commit`] creates it (version 1; later versions are only
/// a counter, so a loaded history is written at its final state).
pub fn application_line(out: &mut String, application: &Application) -> StoreResult<()> {
    let r = codec::app_row(application, None)?;
    let reviewer = r.reviewer.map(uuid_text);
    line(
        out,
        &[
            Some(&uuid_text(r.id)),
            Some(&r.applicant),
            Some(&r.region),
            r.registration_point.as_deref(),
            Some(r.state),
            r.ticket.as_deref(),
            r.due_date.as_deref(),
            r.submitted_at.map(|v| v.to_string()).as_deref(),
            r.taken_at.map(|v| v.to_string()).as_deref(),
            reviewer.as_deref(),
            Some(&r.created_at.to_string()),
            Some("1"),
            Some(&r.data),
        ],
    );
    Ok(())
}

pub fn event_line(out: &mut String, event: &Event) -> StoreResult<()> {
    let r = codec::event_row(event)?;
    let staff = r.actor_staff.map(uuid_text);
    line(
        out,
        &[
            Some(&uuid_text(r.application_id)),
            Some(r.kind),
            Some(r.from_state),
            Some(r.to_state),
            Some(r.actor_role),
            staff.as_deref(),
            Some(&r.at.to_string()),
            Some(&r.data),
        ],
    );
    Ok(())
}

pub fn payment_line(out: &mut String, payment: &PaymentRecord) -> StoreResult<()> {
    let r = codec::payment_row(payment)?;
    line(
        out,
        &[
            Some(&uuid_text(r.id)),
            Some(&uuid_text(r.application_id)),
            Some(&r.payer),
            Some(&r.amount.to_string()),
            Some(r.status),
            Some(&r.gateway_reference),
            Some(&r.created_at.to_string()),
            Some(&r.updated_at.to_string()),
        ],
    );
    Ok(())
}

/// As [`crate::Store::commit`] writes `Changes::image_checks`.
pub fn image_check_line(out: &mut String, check: &ImageCheck) {
    let hash = check.perceptual_hash.map(|h| format!("{h:016x}"));
    line(
        out,
        &[
            Some(&check.digest.to_string()),
            Some(&check.kind),
            Some(&check.verdict),
            hash.as_deref(),
            Some(&check.report.to_string()),
            Some(&check.checked_at.as_microsecond().to_string()),
        ],
    );
}

fn uuid_text(id: Uuid) -> String {
    id.hyphenated().to_string()
}

/// Appends one COPY text line: backslash, tab, newline and carriage return escaped.
fn line(out: &mut String, columns: &[Option<&str>]) {
    for (i, column) in columns.iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        match column {
            None => out.push_str("\\N"),
            Some(text) => {
                for c in text.chars() {
                    match c {
                        '\\' => out.push_str("\\\\"),
                        '\t' => out.push_str("\\t"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        c => out.push(c),
                    }
                }
            }
        }
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_copy_text_format_reads_specially() {
        let mut out = String::new();
        line(&mut out, &[Some("a\\b\tc\nd\re"), None, Some("")]);
        assert_eq!(out, "a\\\\b\\tc\\nd\\re\t\\N\t\n");
    }

    #[test]
    fn json_with_escapes_survives() {
        let mut out = String::new();
        line(&mut out, &[Some(r#"{"c":"say \"hi\""}"#)]);
        assert_eq!(out, "{\"c\":\"say \\\\\"hi\\\\\"\"}\n");
    }
}
