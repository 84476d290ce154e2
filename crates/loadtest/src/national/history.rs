//! One synthetic application's whole history, made by core's own state machine
//! ([`Application::handle`]), so every loaded row is one the service could have written:
//! the application at its final state, its events in order, its payment and, while it is
//! live, the checks of its photo and signature.
//!
//! Everything is a pure function of (seed, index, now): the measurements regenerate an
//! application to know its id without asking the database.

use kuelik_core::document::{OldCard, ReplacedCard};
use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use uuid::Uuid;

use kuelik_core::calendar::WorkingCalendar;
use kuelik_core::digest::Sha256Digest;
use kuelik_core::document::DocumentKind;
use kuelik_core::lifecycle::{
    Actor, AnnulmentComment, AnnulmentReason, Application, ApplicationId, ApplicationState,
    Command, Event, LifecyclePolicy, Payment, StaffId,
};
use kuelik_core::money::Tiyn;
use kuelik_core::region::{PointId, RegionCode, Regions, RegistrationPoints};
use kuelik_core::register::Person;
use kuelik_core::ticket::TicketNumber;
use kuelik_store::{ImageCheck, PaymentRecord, PaymentStatus};

/// The rules' processing time (core/rules/*.toml: 15 working days).
const PROCESSING_WORKING_DAYS: u32 = 15;
/// The state duty, in tenge (its order of size; the amount plays no part in the reads).
const DUTY_TENGE: u64 = 786;
/// Officers per region, production operators and point operators per point (their ids only
/// appear inside events; no staff rows are needed for the reads measured).
const OFFICERS_PER_REGION: u64 = 10;
/// History starts where the built-in working calendar does (due dates need it).
const HISTORY_START: &str = "2025-01-06T04:00:00Z";
const MINUTE: i64 = 60;
const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

/// Final states, per ten thousand applications. Live ones are recent (submitted in the last
/// two weeks, as a 15-working-day deadline keeps them); the rest are spread over the history.
/// The live share is ~1.4 %: at 20 million that is ~100,000 queued nationally, ~5,000 per
/// region, the order of one peak week's submissions.
const MIX: [(ApplicationState, u32); 11] = [
    (ApplicationState::Draft, 20),
    (ApplicationState::Submitted, 2),
    (ApplicationState::Queued, 50),
    (ApplicationState::UnderReview, 10),
    (ApplicationState::Approved, 10),
    (ApplicationState::InProduction, 10),
    (ApplicationState::Dispatched, 15),
    (ApplicationState::ReadyForPickup, 25),
    (ApplicationState::Annulled, 200),
    (ApplicationState::Withdrawn, 100),
    (ApplicationState::Issued, 9_558),
];

/// One application's rows.
#[derive(Debug, Clone)]
pub struct Life {
    pub application: Application,
    pub events: Vec<Event>,
    pub payment: PaymentRecord,
    pub checks: Vec<ImageCheck>,
}

/// What every history shares: the seed, "now", the calendar and the registration points.
pub struct Histories {
    seed: u64,
    now: Timestamp,
    start: Timestamp,
    calendar: WorkingCalendar,
    points: BTreeMap<RegionCode, Vec<PointId>>,
}

impl Histories {
    pub fn new(seed: u64, now: Timestamp) -> Result<Histories, String> {
        let start: Timestamp = HISTORY_START
            .parse()
            .map_err(|e| format!("history start: {e}"))?;
        let regions = Regions::builtin();
        let mut points: BTreeMap<RegionCode, Vec<PointId>> = BTreeMap::new();
        for p in RegistrationPoints::builtin(&regions).iter() {
            points.entry(p.region).or_default().push(p.id.clone());
        }
        Ok(Histories {
            seed,
            now,
            start,
            calendar: WorkingCalendar::builtin(),
            points,
        })
    }

    /// The regions that have registration points (every built-in one).
    pub fn regions(&self) -> Vec<RegionCode> {
        self.points.keys().copied().collect()
    }

    /// Application `index` of `applicant`. Only a person's first application (`live_allowed`)
    /// may be live: one live application per person (R13).
    pub fn life(&self, index: u64, applicant: &Person, live_allowed: bool) -> Result<Life, String> {
        let region = applicant.region;
        let Opening {
            mut rng,
            target,
            point,
            created,
        } = self.opening(index, region, live_allowed)?;
        let id = ApplicationId(v7_shaped(created, index, rng.next()));
        let mut app = Application::new_draft(
            id,
            applicant.iin,
            DocumentKind::IdentityCard,
            region,
            created,
        );
        let policy = LifecyclePolicy {
            calendar: &self.calendar,
            processing_working_days: PROCESSING_WORKING_DAYS,
            review_timeout: kuelik_core::lifecycle::REVIEW_TIMEOUT,
        };
        let citizen = Actor::Citizen { iin: applicant.iin };
        let officer = Actor::Officer {
            staff: self.staff(u64::from(region.get()) * 100 + rng.below(OFFICERS_PER_REGION)),
            region,
        };
        let production = Actor::ProductionOperator {
            staff: self.staff(1 + rng.below(4)),
        };
        let desk = Actor::PointOperator {
            staff: self.staff(10_000 + u64::from(region.get()) * 100 + rng.below(3)),
            point: point.clone(),
        };
        let photo = digest(self.seed, index, 1);
        let signature = digest(self.seed, index, 2);
        let ticket = ticket(self.seed, index);
        let reference = format!("nat-{:x}-{index}", self.seed);
        let mut life = Walk {
            app: &mut app,
            events: Vec::with_capacity(16),
            at: created,
            policy: &policy,
            // Never into the future: a step that would be is left undone, and every one
            // after it.
            now: self.now,
            stopped: false,
        };
        let s = |secs: i64, rng: &mut Rng| secs + rng.below(secs as u64 + 1) as i64;
        life.step(
            &Command::ChooseRegistrationPoint(point),
            &citizen,
            s(MINUTE, &mut rng),
        )?;
        life.step(&Command::AttachPhoto(photo), &citizen, s(MINUTE, &mut rng))?;
        life.step(
            &Command::AttachSignature(signature),
            &citizen,
            s(MINUTE, &mut rng),
        )?;
        let paid_at = life.at + SignedDuration::from_secs(s(2 * MINUTE, &mut rng));
        let payment = Payment {
            reference: reference.clone(),
            amount: Tiyn::from_tenge(DUTY_TENGE),
            paid_at,
        };
        let mut paid = None;
        if (target != ApplicationState::Draft || rng.below(2) == 0)
            && life.step(&Command::RecordPayment(payment), &Actor::System, 2 * MINUTE)?
        {
            paid = Some(paid_at);
        }
        let plan = path(target, rng.below(3) as usize);
        for (command, actor, secs) in plan {
            let actor = match actor {
                Who::Citizen => &citizen,
                Who::System => &Actor::System,
                Who::Officer => &officer,
                Who::Production => &production,
                Who::Desk => &desk,
            };
            let command = match command {
                // A synthetic history: its images and people are made to pass.
                Step::Submit => Command::Submit {
                    ticket,
                    facts: kuelik_core::lifecycle::SubmissionFacts::ALL_CLEAR,
                },
                Step::Route => Command::Route,
                Step::Take => Command::Take,
                Step::Approve => Command::Approve,
                Step::Annul(reason) => Command::Annul {
                    reason,
                    comment: AnnulmentComment::parse(
                        "Фото не соответствует требованиям / photo does not comply",
                    )
                    .map_err(|e| e.to_string())?,
                },
                Step::StartProduction => Command::StartProduction,
                Step::Dispatch => Command::Dispatch {
                    document_number: format!("{:09}", mix64(self.seed ^ index) % 1_000_000_000),
                },
                Step::Receive => Command::Receive,
                // The synthetic history records which card was replaced in the event; it does
                // not write the person's document records (the load measures application
                // reads, and the register rows stay as generated).
                Step::HandOver => Command::HandOver {
                    ticket,
                    replaced: ReplacedCard {
                        kind: applicant.document.kind,
                        number: applicant.document.number.clone(),
                        old_card: OldCard::Surrendered,
                    },
                },
                Step::Withdraw => Command::Withdraw,
                Step::ConfirmRefund => Command::ConfirmRefund,
            };
            if !life.step(&command, actor, s(secs, &mut rng))? {
                break;
            }
        }
        let events = life.events;
        let last = events.last().map(|e| e.at).unwrap_or(created);
        let refunded =
            app.state == ApplicationState::Annulled || app.state == ApplicationState::Withdrawn;
        let payment = PaymentRecord {
            id: Uuid::from_u64_pair(mix64(self.seed ^ 0x0070_6179), index),
            application: id,
            payer: applicant.iin,
            amount: Tiyn::from_tenge(DUTY_TENGE),
            status: match (paid, refunded) {
                (None, _) => PaymentStatus::Pending,
                (Some(_), true) => PaymentStatus::Refunded,
                (Some(_), false) => PaymentStatus::Confirmed,
            },
            gateway_reference: reference,
            created_at: created + SignedDuration::from_secs(4 * MINUTE),
            updated_at: if refunded {
                last
            } else {
                paid.unwrap_or(created)
            },
        };
        // Retention purges the images (and their checks) of finished applications, so only
        // live ones keep them.
        let checks = if app.state.is_live() {
            vec![
                check(photo, "photo", created, Some(mix64(index))),
                check(signature, "signature", created, None),
            ]
        } else {
            Vec::new()
        };
        Ok(Life {
            application: app,
            events,
            payment,
            checks,
        })
    }

    /// When application `index` (of a person of `region`) was created — what the load sorts
    /// by, without making the rest of the history.
    pub fn created(
        &self,
        index: u64,
        region: RegionCode,
        live_allowed: bool,
    ) -> Result<Timestamp, String> {
        Ok(self.opening(index, region, live_allowed)?.created)
    }

    /// The first draws of application `index`'s history.
    fn opening(
        &self,
        index: u64,
        region: RegionCode,
        live_allowed: bool,
    ) -> Result<Opening, String> {
        let mut rng = Rng(mix64(self.seed ^ mix64(index ^ 0x6170_706c)));
        let mut target = pick_state(rng.below(10_000));
        if !live_allowed && target.is_live() {
            target = ApplicationState::Issued;
        }
        let points = self
            .points
            .get(&region)
            .ok_or_else(|| format!("region {region} has no registration point"))?;
        let point = points
            .get(rng.below(points.len() as u64) as usize)
            .ok_or("no registration point")?
            .clone();
        let created = if target.is_live() {
            // The last two weeks; a few days more for those further down the line.
            let back = rng.below(14 * DAY as u64) as i64 + progress_days(target) * DAY;
            self.now - SignedDuration::from_secs(back)
        } else {
            let span = (self.now - self.start).as_secs() - 45 * DAY;
            self.start + SignedDuration::from_secs(rng.below(span.max(1) as u64) as i64)
        };
        Ok(Opening {
            rng,
            target,
            point,
            created,
        })
    }

    fn staff(&self, n: u64) -> StaffId {
        StaffId(Uuid::from_u64_pair(mix64(self.seed ^ 0x7374_6166), n))
    }
}

/// What an application's history starts from: what it ends as, where it is collected, when
/// it is created, and the draws that make the rest.
struct Opening {
    rng: Rng,
    target: ApplicationState,
    point: PointId,
    created: Timestamp,
}

/// Drives an application forward through core's state machine, recording the events.
struct Walk<'a> {
    app: &'a mut Application,
    events: Vec<Event>,
    at: Timestamp,
    policy: &'a LifecyclePolicy<'a>,
    now: Timestamp,
    /// A step was left undone: the history ends there.
    stopped: bool,
}

impl Walk<'_> {
    /// Takes `command` `secs` after the previous step; `false` (and nothing done) if that
    /// would be later than now, or an earlier step was left undone — a step after it with a
    /// shorter wait could otherwise be taken without it (a submission without its payment,
    /// for an application created minutes before now).
    fn step(&mut self, command: &Command, actor: &Actor, secs: i64) -> Result<bool, String> {
        let at = self.at + SignedDuration::from_secs(secs);
        if self.stopped || at > self.now {
            self.stopped = true;
            return Ok(false);
        }
        let event = self
            .app
            .handle(command, actor, at, self.policy)
            .map_err(|e| format!("{} on {}: {e}", command.name(), self.app.id))?;
        self.events.push(event);
        self.at = at;
        Ok(true)
    }
}

#[derive(Clone, Copy)]
enum Who {
    Citizen,
    System,
    Officer,
    Production,
    Desk,
}

#[derive(Clone, Copy)]
enum Step {
    Submit,
    Route,
    Take,
    Approve,
    Annul(AnnulmentReason),
    StartProduction,
    Dispatch,
    Receive,
    HandOver,
    Withdraw,
    ConfirmRefund,
}

/// The steps after payment that lead to `target`, each with the typical seconds it waits
/// (the actual wait is that to twice that).
fn path(target: ApplicationState, variant: usize) -> Vec<(Step, Who, i64)> {
    use ApplicationState as S;
    let submit = [
        (Step::Submit, Who::Citizen, MINUTE),
        (Step::Route, Who::System, 1),
    ];
    let review = [(Step::Take, Who::Officer, DAY)];
    let to_issue = [
        (Step::Approve, Who::Officer, 10 * MINUTE),
        (Step::StartProduction, Who::Production, 12 * HOUR),
        (Step::Dispatch, Who::Production, 2 * DAY),
        (Step::Receive, Who::Desk, DAY),
        (Step::HandOver, Who::Desk, 2 * DAY),
    ];
    let take = |n: usize| -> Vec<(Step, Who, i64)> {
        let mut v = submit.to_vec();
        v.extend_from_slice(&review);
        v.extend_from_slice(&to_issue[..n]);
        v
    };
    match target {
        S::Draft => Vec::new(),
        S::Submitted => submit[..1].to_vec(),
        S::Queued => submit.to_vec(),
        S::UnderReview => take(0),
        S::Approved => take(1),
        S::InProduction => take(2),
        S::Dispatched => take(3),
        S::ReadyForPickup => take(4),
        S::Issued => take(5),
        S::Annulled => {
            let reason = AnnulmentReason::ALL[variant % AnnulmentReason::ALL.len()];
            let mut v = take(0);
            v.push((Step::Annul(reason), Who::Officer, 10 * MINUTE));
            v.push((Step::ConfirmRefund, Who::System, DAY));
            v
        }
        S::Withdrawn => {
            let mut v = submit.to_vec();
            v.push((Step::Withdraw, Who::Citizen, HOUR));
            v.push((Step::ConfirmRefund, Who::System, DAY));
            v
        }
    }
}

/// Days an application in `state` has typically been on its way (so recent live ones do
/// not all sit in the last two weeks' first steps).
fn progress_days(state: ApplicationState) -> i64 {
    use ApplicationState as S;
    match state {
        S::Approved | S::InProduction => 2,
        S::Dispatched => 5,
        S::ReadyForPickup => 7,
        _ => 0,
    }
}

fn pick_state(roll: u64) -> ApplicationState {
    let mut acc = 0u64;
    for (state, share) in MIX {
        acc += u64::from(share);
        if roll < acc {
            return state;
        }
    }
    ApplicationState::Issued
}

fn check(digest: Sha256Digest, kind: &str, at: Timestamp, phash: Option<u64>) -> ImageCheck {
    ImageCheck {
        digest,
        kind: kind.to_string(),
        verdict: "pass".to_string(),
        perceptual_hash: phash,
        report: serde_json::json!({ "verdict": "pass", "measures": [] }),
        checked_at: at,
    }
}

/// A UUID shaped like the server's v7 ids (time first, so the primary key grows at its end),
/// unique by `index`.
fn v7_shaped(at: Timestamp, index: u64, random: u64) -> Uuid {
    let millis = at.as_millisecond().max(0) as u64;
    let high = (millis << 16) | 0x7000 | (random & 0x0fff);
    let low = (0b10 << 62) | (index & ((1 << 62) - 1));
    Uuid::from_u64_pair(high, low)
}

/// Distinct tickets: an odd multiplier is a bijection modulo 2^45 (random tickets would
/// collide a few times in 20 million).
fn ticket(seed: u64, index: u64) -> TicketNumber {
    let mask = (1u64 << kuelik_core::ticket::RANDOM_BITS) - 1;
    let bits = index
        .wrapping_mul(0x9E37_79B9_7F4A_7C15 | 1)
        .wrapping_add(mix64(seed))
        & mask;
    TicketNumber::from_random_bits(bits)
}

fn digest(seed: u64, index: u64, which: u64) -> Sha256Digest {
    let mut bytes = [0u8; 32];
    for (k, chunk) in bytes.chunks_mut(8).enumerate() {
        let word = mix64(seed ^ mix64(index ^ mix64(which * 8 + k as u64)));
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    Sha256Digest::from_bytes(bytes)
}

/// SplitMix64's finaliser.
fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.0)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_adds_up_to_ten_thousand() {
        assert_eq!(MIX.iter().map(|(_, n)| n).sum::<u32>(), 10_000);
    }

    #[test]
    fn a_step_left_undone_ends_the_history() {
        let histories = Histories::new(7, Timestamp::UNIX_EPOCH).unwrap();
        let policy = LifecyclePolicy {
            calendar: &histories.calendar,
            processing_working_days: PROCESSING_WORKING_DAYS,
            review_timeout: kuelik_core::lifecycle::REVIEW_TIMEOUT,
        };
        let created: Timestamp = HISTORY_START.parse().unwrap();
        let region = histories.regions()[0];
        let point = histories.points[&region][0].clone();
        let iin = kuelik_core::iin::Iin::parse("880625351024").unwrap();
        let mut app = Application::new_draft(
            ApplicationId(Uuid::from_u64_pair(1, 2)),
            iin,
            DocumentKind::IdentityCard,
            region,
            created,
        );
        let citizen = Actor::Citizen { iin };
        let mut walk = Walk {
            app: &mut app,
            events: Vec::new(),
            at: created,
            policy: &policy,
            // A minute and a half after the application was created.
            now: created + SignedDuration::from_secs(90),
            stopped: false,
        };
        let choose = Command::ChooseRegistrationPoint(point);
        assert!(walk.step(&choose, &citizen, 60).unwrap());
        // Two minutes on would be in the future: left undone, and so is a step after it
        // that alone would still be in the past.
        let photo = Command::AttachPhoto(digest(7, 1, 1));
        assert!(!walk.step(&photo, &citizen, 120).unwrap());
        assert!(!walk.step(&photo, &citizen, 1).unwrap());
        assert_eq!(walk.events.len(), 1);
    }

    #[test]
    fn tickets_are_distinct() {
        let a: std::collections::HashSet<_> = (0..10_000).map(|i| ticket(7, i).compact()).collect();
        assert_eq!(a.len(), 10_000);
    }
}
