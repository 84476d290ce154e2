//! A finished application's history kept as one row (issue #19).
//!
//! An event row costs ≈ 290 bytes with its index entries, and an application has a dozen: at
//! national scale the events were half the database. Once an application is finished (issued,
//! withdrawn or annulled, and quiet for a while) its history never changes, so a worker moves
//! its event rows into one `archived_histories` row: the rows' columns, exactly as the
//! database gave them as text, one JSON array per line, compressed with zstd against a fixed
//! dictionary (`history_dictionary.zdict`) — ≈ 300 bytes for a dozen events instead of
//! ≈ 3,400. Keeping the columns as text keeps what the audit chain hashes (an event's entry is
//! made of its columns' text) reproducible byte for byte from the archive.
//!
//! The dictionary (8 KiB) was trained once with zstd's dictionary builder (`zstd --train
//! --maxdict=8192`, level 6) on 20,000 histories of the national load (`kuelik-loadtest
//! national`, seed 1), in this form: what histories share — keys, kinds, states, roles, the
//! shape of digests and dates — costs next to nothing. Measured on 20,000 other histories of
//! that load: 297 bytes each; against one sample history as a plain-text dictionary, 339;
//! without a dictionary, ≈ 740 (docs/PERFORMANCE.md).
//!
//! The first byte says the form, so a later dictionary or layout can be told apart from this
//! one: [`FORM_ZSTD_V1`] is the only one written and read. The dictionary's bytes are part of
//! every archived history: never replace `history_dictionary.zdict`; a new one needs a new
//! form.

use std::cell::RefCell;
use std::sync::OnceLock;

use zstd::dict::{DecoderDictionary, EncoderDictionary};

use crate::{StoreError, StoreResult};

/// zstd against `history_dictionary.zdict`, one JSON array of the row's columns per line.
pub const FORM_ZSTD_V1: u8 = 1;

/// The trained dictionary (see the module's documentation).
const DICTIONARY: &[u8] = include_bytes!("history_dictionary.zdict");

/// zstd's level: with the dictionary, 6 gives ≈ 297 bytes per history, 3 ≈ 312 at half the
/// time (≈ 7 µs); higher levels gain little more.
const LEVEL: i32 = 6;

/// No real history comes near this (a dozen events are ≈ 2 KB): a damaged or forged row that
/// claims more is refused rather than allowed to fill the memory.
const MAX_DECODED: usize = 4 << 20;

/// One archived event: its row's columns as the database gave them as text (`seq` and `at`
/// as numbers). The application is the archive row's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedEvent {
    pub seq: i64,
    pub kind: String,
    pub from_state: String,
    pub to_state: String,
    pub actor_role: String,
    pub actor_staff: Option<String>,
    pub at: i64,
    pub data: String,
}

/// A line of the archive: the columns in the order of the `events` table.
type Line<'a> = (
    i64,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    Option<&'a str>,
    i64,
    &'a str,
);
type OwnedLine = (
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
    String,
);

fn encoder_dictionary() -> &'static EncoderDictionary<'static> {
    static DICT: OnceLock<EncoderDictionary<'static>> = OnceLock::new();
    DICT.get_or_init(|| EncoderDictionary::copy(DICTIONARY, LEVEL))
}

fn decoder_dictionary() -> &'static DecoderDictionary<'static> {
    static DICT: OnceLock<DecoderDictionary<'static>> = OnceLock::new();
    DICT.get_or_init(|| DecoderDictionary::copy(DICTIONARY))
}

fn unencodable(error: impl std::fmt::Display) -> StoreError {
    StoreError::Database(format!("cannot archive a history: {error}"))
}

fn corrupt(error: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("archived_histories.events: {error}"))
}

/// The archived form of `events` (in `seq` order).
pub fn encode(events: &[ArchivedEvent]) -> StoreResult<Vec<u8>> {
    let mut text = Vec::with_capacity(events.len() * 180);
    for e in events {
        let line: Line<'_> = (
            e.seq,
            &e.kind,
            &e.from_state,
            &e.to_state,
            &e.actor_role,
            e.actor_staff.as_deref(),
            e.at,
            &e.data,
        );
        // serde_json escapes control characters: a line never holds a raw newline.
        serde_json::to_writer(&mut text, &line).map_err(unencodable)?;
        text.push(b'\n');
    }
    let packed = COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let compressor = match slot.as_mut() {
            Some(c) => c,
            None => slot.insert(compressor().map_err(unencodable)?),
        };
        compressor.compress(&text).map_err(unencodable)
    })?;
    let mut stored = Vec::with_capacity(packed.len() + 1);
    stored.push(FORM_ZSTD_V1);
    stored.extend_from_slice(&packed);
    Ok(stored)
}

thread_local! {
    // One zstd context per thread, made once: a context costs more to set up for the
    // dictionary than a history takes to compress, and archiving compresses thousands a
    // round (and verification decompresses every archived event).
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { RefCell::new(None) };
}

fn compressor() -> std::io::Result<zstd::bulk::Compressor<'static>> {
    let mut c = zstd::bulk::Compressor::with_prepared_dictionary(encoder_dictionary())?;
    // The dictionary is known by the form byte: its id need not be in every row.
    c.set_parameter(zstd::zstd_safe::CParameter::DictIdFlag(false))?;
    Ok(c)
}

/// The lines of an archived history, uncompressed.
pub fn unpack(stored: &[u8]) -> StoreResult<Vec<u8>> {
    let Some((&form, packed)) = stored.split_first() else {
        return Err(corrupt("empty"));
    };
    if form != FORM_ZSTD_V1 {
        return Err(corrupt(format!("unknown form {form}")));
    }
    // Every frame written here says its size: the buffer is made that size (a frame that
    // claims more than any history is refused before anything is allocated).
    let size = match zstd::zstd_safe::get_frame_content_size(packed) {
        Ok(Some(size)) if size <= MAX_DECODED as u64 => size as usize,
        Ok(Some(size)) => return Err(corrupt(format!("claims {size} bytes"))),
        Ok(None) | Err(_) => return Err(corrupt("no content size")),
    };
    DECOMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let decompressor = match slot.as_mut() {
            Some(d) => d,
            None => slot.insert(
                zstd::bulk::Decompressor::with_prepared_dictionary(decoder_dictionary())
                    .map_err(corrupt)?,
            ),
        };
        decompressor.decompress(packed, size).map_err(corrupt)
    })
}

/// One line of unpacked text.
pub fn parse_line(line: &[u8]) -> StoreResult<ArchivedEvent> {
    let (seq, kind, from_state, to_state, actor_role, actor_staff, at, data): OwnedLine =
        serde_json::from_slice(line).map_err(corrupt)?;
    Ok(ArchivedEvent {
        seq,
        kind,
        from_state,
        to_state,
        actor_role,
        actor_staff,
        at,
        data,
    })
}

/// The lines of unpacked text (the last one ends with a newline too).
pub fn lines(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split(|&b| b == b'\n').filter(|l| !l.is_empty())
}

/// The events of an archived history, in `seq` order as archived.
pub fn decode(stored: &[u8]) -> StoreResult<Vec<ArchivedEvent>> {
    let text = unpack(stored)?;
    lines(&text).map(parse_line).collect()
}

/// What one round of archiving looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveScan {
    /// The event rows after this `seq` (0 at first; then the previous round's `scanned_to`).
    pub after_seq: i64,
    /// How far the audit chain reaches: only events it has chained move (an archived event
    /// is never one the sequencer has still to read).
    pub chained_to: i64,
    /// Only applications whose last event is before this instant (quiet for a while: a late
    /// refund confirmation would otherwise come in just after).
    pub quiet_before: jiff::Timestamp,
    /// At most this many event rows are looked at.
    pub rows: u32,
}

/// What a round of archiving did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ArchiveRound {
    /// Applications whose history moved (or grew) into its archived row.
    pub applications: u64,
    /// Event rows moved.
    pub events: u64,
    /// The last `seq` looked at: the next round starts after it; the chain's reach when the
    /// scan got to the end.
    pub scanned_to: i64,
    /// The scan got to the chain's reach (a new pass starts from the beginning).
    pub at_end: bool,
}

/// An archived history as stored, for audit verification (which reads archived events in
/// the chain's order, by `first_seq`, beside the event rows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchivedHistory {
    pub first_seq: i64,
    /// The application's id as the database writes it as text (part of each entry's bytes).
    pub application_id: String,
    pub events: Vec<u8>,
}

impl ArchivedHistory {
    /// The chain entry of its `index`th event, or `None` past the last. Unpacks the row each
    /// time: verification keeps only the packed rows of the histories it is inside of.
    pub fn chain_entry(&self, index: usize) -> StoreResult<Option<crate::ChainCandidate>> {
        let text = unpack(&self.events)?;
        let Some(line) = lines(&text).nth(index) else {
            return Ok(None);
        };
        let event = parse_line(line)?;
        Ok(Some(crate::ChainCandidate {
            source: crate::ChainSource::Event,
            source_pos: event.seq,
            bytes: crate::codec::event_entry_bytes(&self.application_id, &event)?,
        }))
    }
}

/// A finished application's events as read for archiving, with its archived row if an
/// earlier round made one (an event written after it — a late refund confirmation — is
/// archived by growing that row).
pub(crate) struct Finished {
    pub application_id: String,
    pub earlier: Option<Vec<u8>>,
    pub rows: Vec<ArchivedEvent>,
}

/// One archived row to write, and what it replaces.
pub(crate) struct Archive {
    pub application_id: String,
    pub first_seq: i64,
    pub last_seq: i64,
    pub last_at: i64,
    pub events: Vec<u8>,
    /// The `seq` of each event row it takes (all of the application's, up to `last_seq`).
    pub rows: Vec<i64>,
}

/// A row of a round's stretch: its application, its `seq`, and whether it is a quiet event
/// of a finished application (its `to_state` issued, annulled or withdrawn — every event
/// after the one that finished the application keeps that state — and its instant before
/// the quiet one).
pub(crate) type WindowRow = (String, i64, bool);

/// The applications a round reads in full: those with a finished, quiet event row in its
/// stretch (in `seq` order), each once in the order first met; and where the scan got to:
/// the last row looked at, or the chain's reach once the stretch came back short of full.
///
/// Reading only those is what keeps a pass to one read of each archivable history: an
/// application still live, or finished too recently, has no such row and is passed over
/// without reading its rows (it has a marked row in the pass after it becomes quiet, as
/// every pass starts again from the first row). An application archived before that has
/// a late event (a refund confirmed after archiving) is read again by that event's row.
pub(crate) fn window(scan: &ArchiveScan, rows: &[WindowRow]) -> (Vec<String>, ArchiveRound) {
    let at_end = rows.len() < scan.rows as usize;
    let scanned_to = match rows.last() {
        Some((_, seq, _)) if !at_end => *seq,
        _ => scan.chained_to.max(scan.after_seq),
    };
    let mut seen = std::collections::HashSet::new();
    let ids = rows
        .iter()
        .filter(|(id, _, finished)| *finished && seen.insert(id.as_str()))
        .map(|(id, _, _)| id.clone())
        .collect();
    let round = ArchiveRound {
        scanned_to,
        at_end,
        ..ArchiveRound::default()
    };
    (ids, round)
}

/// Event rows ordered by application, then `seq`, grouped per application with the archived
/// row each may already have.
pub(crate) fn finished(
    rows: Vec<(String, ArchivedEvent)>,
    mut earlier: std::collections::HashMap<String, Vec<u8>>,
) -> Vec<Finished> {
    let mut out: Vec<Finished> = Vec::new();
    for (application_id, event) in rows {
        match out.last_mut() {
            Some(f) if f.application_id == application_id => f.rows.push(event),
            _ => out.push(Finished {
                earlier: earlier.remove(&application_id),
                application_id,
                rows: vec![event],
            }),
        }
    }
    out
}

/// An event row as read for archiving: the application, then the columns of a line.
pub(crate) type EventRow = (
    String,
    i64,
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
    String,
);

/// `row` as its application and its archived event.
pub(crate) fn event_of(row: EventRow) -> (String, ArchivedEvent) {
    let (application_id, seq, kind, from_state, to_state, actor_role, actor_staff, at, data) = row;
    let event = ArchivedEvent {
        seq,
        kind,
        from_state,
        to_state,
        actor_role,
        actor_staff,
        at,
        data,
    };
    (application_id, event)
}

/// The archives to write for `finished` — those whose last event leaves the application
/// finished (issued, annulled, withdrawn: its state is its last event's `to_state`), is
/// quiet and, like every row before it, chained — and the round they make of the stretch
/// `scanned`. The rule lives here once for both backends, decided from the rows read (the
/// application's own row is not read: at national scale that was one more random page per
/// archived history).
pub(crate) fn archives(
    finished: Vec<Finished>,
    scan: &ArchiveScan,
    scanned: ArchiveRound,
) -> StoreResult<(Vec<Archive>, ArchiveRound)> {
    let quiet_before = scan.quiet_before.as_microsecond();
    let mut out = Vec::new();
    for f in finished {
        let Some(last_row) = f.rows.last() else {
            continue;
        };
        if last_row.seq > scan.chained_to
            || last_row.at >= quiet_before
            || !crate::codec::application_state(&last_row.to_state).is_ok_and(|s| !s.is_live())
        {
            continue;
        }
        let mut events = match &f.earlier {
            Some(stored) => decode(stored)?,
            None => Vec::new(),
        };
        let rows = f.rows.iter().map(|e| e.seq).collect();
        events.extend(f.rows);
        let (Some(first), Some(last)) = (events.first(), events.last()) else {
            continue;
        };
        out.push(Archive {
            first_seq: first.seq,
            last_seq: last.seq,
            last_at: last.at,
            events: encode(&events)?,
            application_id: f.application_id,
            rows,
        });
    }
    let round = ArchiveRound {
        applications: out.len() as u64,
        events: out.iter().map(|a| a.rows.len() as u64).sum(),
        ..scanned
    };
    Ok((out, round))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<ArchivedEvent> {
        vec![
            ArchivedEvent {
                seq: 95,
                kind: "registration_point_chosen".into(),
                from_state: "draft".into(),
                to_state: "draft".into(),
                actor_role: "citizen".into(),
                actor_staff: None,
                at: 1_736_137_646_000_000,
                data: r#"{"actor": {"iin": "880625351024"}, "point": "15-01"}"#.into(),
            },
            ArchivedEvent {
                seq: 3152,
                kind: "approved".into(),
                from_state: "under_review".into(),
                to_state: "approved".into(),
                actor_role: "officer".into(),
                actor_staff: Some("ddab0e35-a404-585b-0000-0000000005e3".into()),
                at: 1_736_288_623_000_001,
                // A newline, quotes and non-ASCII in a stored text come back as they were.
                data: "{\"comment\": \"Фото\\nне \\\"то\\\"\", \"x\": \"\u{1F600}\"}".into(),
            },
        ]
    }

    #[test]
    fn a_history_comes_back_as_archived() {
        let events = sample();
        let stored = encode(&events).unwrap();
        assert_eq!(stored[0], FORM_ZSTD_V1);
        assert_eq!(decode(&stored).unwrap(), events);
        assert!(decode(&encode(&[]).unwrap()).unwrap().is_empty());
    }

    #[test]
    fn a_typical_history_is_small() {
        // An issued history as the national load writes it: ≈ 1.9 KB of text.
        let line = |seq: i64, kind: &str, from: &str, to: &str, role: &str, at: i64, data: &str| {
            ArchivedEvent {
                seq,
                kind: kind.into(),
                from_state: from.into(),
                to_state: to.into(),
                actor_role: role.into(),
                actor_staff: (role != "citizen" && role != "system")
                    .then(|| "ddab0e35-a404-585b-0000-0000000005e3".into()),
                at,
                data: data.into(),
            }
        };
        let iin = r#"{"actor": {"iin": "880625351024"}"#;
        let events = vec![
            line(
                95,
                "registration_point_chosen",
                "draft",
                "draft",
                "citizen",
                1_736_137_646_000_000,
                &format!(r#"{iin}, "point": "15-01"}}"#),
            ),
            line(
                98,
                "photo_attached",
                "draft",
                "draft",
                "citizen",
                1_736_137_763_000_000,
                &format!(
                    r#"{iin}, "photo": "a81061d1f5fede99daba68a20492b177fdba7043ff525c94ca7c62feabaae4c3"}}"#
                ),
            ),
            line(
                101,
                "signature_attached",
                "draft",
                "draft",
                "citizen",
                1_736_137_829_000_000,
                &format!(
                    r#"{iin}, "signature": "8ddb918ea28a9d6b7fb6937ddbbde1952503d1b8174662b1483829a0b0a15fee"}}"#
                ),
            ),
            line(
                104,
                "payment_recorded",
                "draft",
                "draft",
                "system",
                1_736_137_949_000_000,
                r#"{"payment": {"amount": 78600, "paid_at": "2025-01-06T04:33:56Z", "reference": "nat-1-89750"}}"#,
            ),
            line(
                106,
                "submitted",
                "draft",
                "submitted",
                "citizen",
                1_736_138_046_000_000,
                &format!(r#"{iin}, "ticket": "FRHQ4-TKMWS", "due_date": "2025-01-28"}}"#),
            ),
            line(
                108,
                "routed",
                "submitted",
                "queued",
                "system",
                1_736_138_048_000_000,
                "{}",
            ),
            line(
                3133,
                "taken",
                "queued",
                "under_review",
                "officer",
                1_736_287_614_000_000,
                r#"{"actor": {"region": "15"}, "officer": "ddab0e35-a404-585b-0000-0000000005e3"}"#,
            ),
            line(
                3152,
                "approved",
                "under_review",
                "approved",
                "officer",
                1_736_288_623_000_000,
                r#"{"actor": {"region": "15"}, "officer": "ddab0e35-a404-585b-0000-0000000005e3"}"#,
            ),
            line(
                4152,
                "production_started",
                "approved",
                "in_production",
                "production_operator",
                1_736_338_871_000_000,
                "{}",
            ),
        ];
        let text: usize = events
            .iter()
            .map(|e| e.data.len() + e.kind.len() + 60)
            .sum();
        let stored = encode(&events).unwrap();
        assert!(
            stored.len() * 4 < text,
            "{} bytes for a text of ≈ {text}",
            stored.len()
        );
        assert_eq!(decode(&stored).unwrap(), events);
    }

    #[test]
    fn damaged_bytes_are_a_corrupt_row_not_a_panic() {
        let stored = encode(&sample()).unwrap();
        for bad in [
            Vec::new(),
            vec![FORM_ZSTD_V1],
            vec![2, 1, 2, 3],
            stored[..stored.len() - 3].to_vec(),
            {
                let mut s = stored.clone();
                let last = s.len() - 1;
                s[last] ^= 0x55;
                s
            },
        ] {
            match decode(&bad) {
                Err(StoreError::Corrupt(_)) => {}
                Ok(events) => assert_ne!(events, sample(), "{bad:?} decoded as the original"),
                Err(other) => panic!("{bad:?}: {other}"),
            }
        }
    }

    #[test]
    fn a_frame_that_does_not_say_its_size_is_refused() {
        // A streamed frame leaves its size out: the service never writes one.
        let mut encoder =
            zstd::stream::Encoder::with_prepared_dictionary(Vec::new(), encoder_dictionary())
                .unwrap();
        std::io::Write::write_all(&mut encoder, b"[1,\"x\"]\n").unwrap();
        let mut stored = vec![FORM_ZSTD_V1];
        stored.extend(encoder.finish().unwrap());
        assert!(matches!(decode(&stored), Err(StoreError::Corrupt(_))));
    }

    #[test]
    fn a_round_reads_only_the_applications_with_a_finished_quiet_row_in_its_stretch() {
        let scan = ArchiveScan {
            after_seq: 10,
            chained_to: 100,
            quiet_before: jiff::Timestamp::UNIX_EPOCH,
            rows: 5,
        };
        let row = |id: &str, seq, finished| (id.to_string(), seq, finished);
        // "a" finishes in the stretch (twice marked: a late event), "b" is live or not yet
        // quiet, "c" is marked once.
        let rows = [
            row("a", 11, false),
            row("b", 12, false),
            row("a", 13, true),
            row("c", 14, true),
            row("a", 15, true),
        ];
        let (ids, round) = window(&scan, &rows);
        assert_eq!(ids, ["a", "c"]);
        assert_eq!((round.scanned_to, round.at_end), (15, false));
        // A short stretch is the end of the pass: it reaches the chain.
        let (ids, round) = window(&scan, &rows[..2]);
        assert!(ids.is_empty());
        assert_eq!((round.scanned_to, round.at_end), (100, true));
    }

    #[test]
    fn only_a_history_whose_last_event_finished_it_is_archived() {
        let scan = ArchiveScan {
            after_seq: 0,
            chained_to: 10_000,
            quiet_before: jiff::Timestamp::from_second(1_800_000_000).unwrap(),
            rows: 100,
        };
        let history = |id: &str, last_state: &str| {
            let mut rows = sample();
            if let Some(last) = rows.last_mut() {
                last.to_state = last_state.into();
            }
            Finished {
                application_id: id.into(),
                earlier: None,
                rows,
            }
        };
        // Quiet and chained alike: approved is live, the three finished states are not.
        let finished = vec![
            history("live", "approved"),
            history("issued", "issued"),
            history("annulled", "annulled"),
            history("withdrawn", "withdrawn"),
            history("unknown", "lost"),
        ];
        let (archives, round) = archives(finished, &scan, ArchiveRound::default()).unwrap();
        let ids: Vec<&str> = archives.iter().map(|a| a.application_id.as_str()).collect();
        assert_eq!(ids, ["issued", "annulled", "withdrawn"]);
        assert_eq!((round.applications, round.events), (3, 6));
        assert_eq!(archives[0].rows, [95, 3152]);
    }

    #[test]
    fn a_bomb_is_refused() {
        // 16 MiB of one byte compresses to a few hundred: refused by the size it claims.
        let big = vec![b'a'; 16 << 20];
        let mut compressor =
            zstd::bulk::Compressor::with_prepared_dictionary(encoder_dictionary()).unwrap();
        let mut stored = vec![FORM_ZSTD_V1];
        stored.extend(compressor.compress(&big).unwrap());
        assert!(matches!(decode(&stored), Err(StoreError::Corrupt(_))));
    }
}
