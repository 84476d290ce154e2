//! Demo data for `kuelik serve --demo`: people in the register whose cards are eligible,
//! too early and too late; staff of every role; and applications in every state, so every
//! screen has something to show. Idempotent: a second start finds the data and adds nothing.

use std::fmt::Write as _;

use jiff::civil::Date;
use uuid::Uuid;

use kuelik_core::digest::Sha256Digest;
use kuelik_core::document::DocumentKind;
use kuelik_core::iin::{Iin, Sex};
use kuelik_core::lang::Lang;
use kuelik_core::lifecycle::{
    Actor, AnnulmentComment, AnnulmentReason, Application, ApplicationId, ApplicationState,
    Command, LifecyclePolicy, Payment, Role, StaffId,
};
use kuelik_core::register::{Person, Phone, RegisteredDocument};
use kuelik_core::ticket::TicketNumber;
use kuelik_core::time::{add_days, almaty_date};
use kuelik_store::{
    ApplicationWrite, Blob, Changes, PaymentRecord, PaymentStatus, RegisterPhoto, StaffAccount,
};

use crate::app::rules_at;
use crate::auth::{hash_password, random_bytes, sha256};
use crate::AppState;

/// The demo staff's password (demo mode only; printed at start).
pub const DEMO_PASSWORD: &str = "kuelik-demo-2025";
/// The demo officers' PIN for remote signing (demo mode only; printed at start).
pub const DEMO_PIN: &str = "246810";
/// The demo officers, who get a certificate from the demo CA at every start.
const DEMO_OFFICERS: [&str; 2] = ["officer71", "officer75"];

/// The persons the demo officers are (their accounts are bound to these IINs, so any
/// certificate the demo CA issues to the IIN signs for them), and one person who is no
/// officer: whose key NCALayer may offer, and the service refuses.
const OFFICER_PERSONS: [(&str, (i16, i8, i8), Sex); 3] = [
    ("officer71", (1985, 3, 14), Sex::Female),
    ("officer75", (1988, 7, 2), Sex::Male),
    ("another-person", (1990, 11, 20), Sex::Male),
];

/// The IIN of the demo person `name` in [`OFFICER_PERSONS`].
fn officer_iin(name: &str) -> Option<Iin> {
    let (_, (y, m, d), sex) = OFFICER_PERSONS.iter().find(|(n, _, _)| *n == name)?;
    let birth = jiff::civil::date(*y, *m, *d);
    (0..50).find_map(|k| Iin::from_parts(birth, *sex, 7100 + k))
}

/// A PKCS#12 key file the demo hands out for NCALayer.
pub struct DemoKeyFile {
    /// `officer71.p12`, …
    pub name: String,
    pub bytes: Vec<u8>,
    /// Whose key it is, for the instructions printed at start.
    pub about: String,
}

/// НУЦ РК-profile signing keys from `ca`, as PKCS#12 files under [`DEMO_PIN`]: one for each
/// demo officer (a certificate of their IIN, a key the service never saw), one of another
/// person, which an officer's approval refuses (`certificate_of_another_person`), and one of
/// officer71 that `ca` revokes (`certificate_revoked`, when its OCSP responder is asked);
/// and each demo citizen's own (`citizen-IIN.p12`), to submit an application with an ЭЦП.
pub fn ncalayer_key_files(
    ca: &mut kuelik_trust::DemoCa,
    now: jiff::Timestamp,
) -> Result<Vec<DemoKeyFile>, String> {
    use kuelik_trust::profile::{EKU_EMPLOYEE, EKU_INDIVIDUAL, EKU_ORGANISATION, EKU_SIGNING};
    let validity = kuelik_trust::Validity::days_from(now, 365).map_err(|e| e.to_string())?;
    let mut files = Vec::new();
    let holders = OFFICER_PERSONS
        .iter()
        .map(|(name, _, _)| (*name, *name))
        .chain([("officer71-revoked", "officer71")]);
    for (file, name) in holders {
        let iin = officer_iin(name).ok_or("a demo officer's IIN")?;
        let employee = [EKU_SIGNING, EKU_ORGANISATION, EKU_EMPLOYEE];
        let (serial, bytes) =
            key_file(ca, &format!("{name} (demo ЭЦП)"), iin, &employee, validity)?;
        let revoked = file.ends_with("-revoked");
        if revoked {
            // The CA's OCSP responder says so; the CRL the service loaded at start does not.
            ca.revoke(&serial, now).map_err(|e| e.to_string())?;
        }
        files.push(DemoKeyFile {
            name: format!("{file}.p12"),
            bytes,
            about: format!("IIN {iin}{}", if revoked { ", revoked" } else { "" }),
        });
    }
    // Each demo citizen's own signing key, to submit with an ЭЦП instead of a code.
    for p in PEOPLE {
        let birth = jiff::civil::date(p.birth.0, p.birth.1, p.birth.2);
        let iin = (0..50)
            .find_map(|k| Iin::from_parts(birth, p.sex, p.serial + k))
            .ok_or("a demo citizen's IIN")?;
        let name = format!("{} {}", p.surname, p.given);
        let (_, bytes) = key_file(ca, &name, iin, &[EKU_SIGNING, EKU_INDIVIDUAL], validity)?;
        files.push(DemoKeyFile {
            name: format!("citizen-{iin}.p12"),
            bytes,
            about: format!("{} {}, citizen", p.given, p.surname),
        });
    }
    Ok(files)
}

/// A new P-256 key with a certificate from `ca` for `iin` with the extended key usages
/// `ekus`, as a PKCS#12 file under [`DEMO_PIN`]; returns the certificate's serial too.
fn key_file(
    ca: &kuelik_trust::DemoCa,
    common_name: &str,
    iin: Iin,
    ekus: &[&str],
    validity: kuelik_trust::Validity,
) -> Result<(String, Vec<u8>), String> {
    let creds = ca
        .issue(&kuelik_trust::OfficerRequest {
            common_name: common_name.to_string(),
            organizational_unit: None,
            algorithm: kuelik_trust::KeyAlgorithm::EcdsaP256,
            validity,
            digital_signature: true,
            iin: Some(iin.to_string()),
            bin: None,
            extended_key_usages: ekus.iter().map(|e| e.to_string()).collect(),
        })
        .map_err(|e| e.to_string())?;
    let bytes = kuelik_trust::pkcs12::write(
        &creds.key_pem,
        &[&creds.cert_der, ca.cert_der()],
        &iin.to_string(),
        DEMO_PIN,
    )
    .map_err(|e| e.to_string())?;
    Ok((creds.serial, bytes))
}

/// Issues each demo officer a certificate from `ca`, binds it and seals its key under
/// [`DEMO_PIN`]; returns officer71's credentials (it signs the demo's approvals).
async fn bind_demo_officers(
    state: &AppState,
    ca: &kuelik_trust::DemoCa,
) -> Result<Option<kuelik_trust::OfficerCredentials>, String> {
    let now = state.clock.now();
    let validity = kuelik_trust::Validity::days_from(now, 365).map_err(|e| e.to_string())?;
    let mut first = None;
    for username in DEMO_OFFICERS {
        let Some(account) = state
            .store
            .staff_by_username(username)
            .await
            .map_err(|e| e.to_string())?
        else {
            continue;
        };
        let creds = ca
            .issue_officer(username, kuelik_trust::KeyAlgorithm::EcdsaP256, validity)
            .map_err(|e| e.to_string())?;
        let sealed = kuelik_trust::seal(&creds.key_pem, DEMO_PIN).map_err(|e| e.to_string())?;
        state
            .store
            .put_officer_credential(&kuelik_store::OfficerCredential {
                staff: account.id,
                fingerprint: creds.sha256_fingerprint.clone(),
                certificate: creds.cert_der.clone(),
                sealed_key: Some(serde_json::to_string(&sealed).map_err(|e| e.to_string())?),
                bound_at: now,
            })
            .await
            .map_err(|e| e.to_string())?;
        first.get_or_insert(creds);
    }
    Ok(first)
}

/// The media crate's compliant corpus images (a public-domain portrait, a drawn signature),
/// so that every demo application has a photo and a signature an officer can look at.
const DEMO_PHOTO: &[u8] = include_bytes!("../../media/corpus/portrait.jpg");
const DEMO_SIGNATURE: &[u8] = include_bytes!("../../media/corpus/signature.jpg");

/// The demo register's document photo: the portrait in greyscale, as a JPEG.
fn register_photo() -> Result<Vec<u8>, String> {
    let portrait = image::load_from_memory(DEMO_PHOTO).map_err(|e| e.to_string())?;
    let mut out = std::io::Cursor::new(Vec::new());
    portrait
        .grayscale()
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .map_err(|e| e.to_string())?;
    Ok(out.into_inner())
}

struct DemoPerson {
    serial: u16,
    birth: (i16, i8, i8),
    sex: Sex,
    surname: &'static str,
    given: &'static str,
    patronymic: &'static str,
    region: &'static str,
    language: Lang,
    /// Days from today to the card's last valid day.
    days_left: i32,
    note: &'static str,
}

const PEOPLE: &[DemoPerson] = &[
    DemoPerson {
        serial: 101,
        birth: (1988, 3, 12),
        sex: Sex::Female,
        surname: "Нұрланова",
        given: "Айгерім",
        patronymic: "Серікқызы",
        region: "71",
        language: Lang::Kk,
        days_left: 12,
        note: "eligible (card expires in 12 days)",
    },
    DemoPerson {
        serial: 102,
        birth: (1979, 11, 2),
        sex: Sex::Male,
        surname: "Иванов",
        given: "Сергей",
        patronymic: "Петрович",
        region: "75",
        language: Lang::Ru,
        days_left: -5,
        note: "eligible (card expired 5 days ago)",
    },
    DemoPerson {
        serial: 103,
        birth: (1995, 7, 30),
        sex: Sex::Male,
        surname: "Ахметов",
        given: "Данияр",
        patronymic: "Болатұлы",
        region: "79",
        language: Lang::Kk,
        days_left: 90,
        note: "too early (card expires in 90 days)",
    },
    DemoPerson {
        serial: 104,
        birth: (1983, 1, 19),
        sex: Sex::Female,
        surname: "Ким",
        given: "Елена",
        patronymic: "Викторовна",
        region: "35",
        language: Lang::Ru,
        days_left: -40,
        note: "expired too long (40 days): the ЦОН message",
    },
    DemoPerson {
        serial: 105,
        birth: (1992, 5, 21),
        sex: Sex::Male,
        surname: "Тоқтаров",
        given: "Ансар",
        patronymic: "Ерланұлы",
        region: "75",
        language: Lang::En,
        days_left: 20,
        note: "eligible (card expires in 20 days; messages in English)",
    },
    DemoPerson {
        serial: 106,
        birth: (1990, 9, 14),
        sex: Sex::Female,
        surname: "Петренко",
        given: "Ольга",
        patronymic: "Николаевна",
        region: "71",
        language: Lang::Ru,
        days_left: 25,
        note: "eligible (card expires in 25 days)",
    },
];

fn demo_person(p: &DemoPerson, index: usize, today: Date) -> Option<Person> {
    let birth = jiff::civil::date(p.birth.0, p.birth.1, p.birth.2);
    let iin = (0..50).find_map(|k| Iin::from_parts(birth, p.sex, p.serial + k))?;
    let last_valid_day = add_days(today, p.days_left);
    Some(Person {
        iin,
        surname: p.surname.into(),
        given_name: p.given.into(),
        patronymic: Some(p.patronymic.into()),
        phone: Phone::parse(&format!("+7701555{:04}", index)).ok()?,
        language: p.language,
        region: p.region.parse().ok()?,
        address: "Demo street 1, apt. 1".into(),
        document: RegisteredDocument {
            kind: DocumentKind::IdentityCard,
            number: format!("09{:07}", index),
            issued_on: add_days(last_valid_day, -3652),
            last_valid_day,
        },
    })
}

fn staff(
    username: &str,
    name: &str,
    role: Role,
    region: Option<&str>,
    point: Option<&str>,
    now: jiff::Timestamp,
) -> Result<StaffAccount, String> {
    Ok(StaffAccount {
        id: StaffId(Uuid::now_v7()),
        username: username.into(),
        display_name: name.into(),
        password_hash: hash_password(DEMO_PASSWORD)?,
        role,
        region: region.and_then(|r| r.parse().ok()),
        point: point.and_then(|p| p.parse().ok()),
        active: true,
        created_at: now,
        iin: None,
    })
}

/// A 9-digit number for a made demo card, derived from its ticket.
fn demo_document_number(ticket: TicketNumber) -> String {
    let n = ticket
        .compact()
        .bytes()
        .fold(7u64, |a, b| (a * 31 + u64::from(b)) % 10_000_000);
    format!("07{n:07}")
}

/// The commands (and actors) that bring a fresh draft to `target`.
fn road_to(
    target: ApplicationState,
    citizen: &Actor,
    officer: &Actor,
    point: &Actor,
    ticket: TicketNumber,
) -> Vec<(Actor, Command)> {
    use ApplicationState::*;
    let production = Actor::ProductionOperator {
        staff: StaffId(Uuid::nil()),
    };
    let mut road = vec![
        // The demo's images are the compliant corpus ones and its people are in the window.
        (
            citizen.clone(),
            Command::Submit {
                ticket,
                facts: kuelik_core::lifecycle::SubmissionFacts::ALL_CLEAR,
            },
        ),
        (Actor::System, Command::Route),
    ];
    let later: &[(Actor, Command)] = &[
        (officer.clone(), Command::Take),
        (officer.clone(), Command::Approve),
        (production.clone(), Command::StartProduction),
        (
            production,
            Command::Dispatch {
                document_number: demo_document_number(ticket),
            },
        ),
        (point.clone(), Command::Receive),
    ];
    let steps = match target {
        Draft => return vec![],
        Withdrawn => {
            return vec![
                (citizen.clone(), Command::Withdraw),
                (Actor::System, Command::ConfirmRefund),
            ]
        }
        Submitted => {
            road.pop();
            0
        }
        Queued => 0,
        UnderReview | Annulled => 1,
        Approved => 2,
        InProduction => 3,
        Dispatched => 4,
        // The hand-over is the seeding's own step: it also replaces the person's card.
        ReadyForPickup | Issued => 5,
    };
    road.extend(later.iter().take(steps).cloned());
    if let (Annulled, Ok(comment)) = (
        target,
        AnnulmentComment::parse("Фотография слишком тёмная: лицо в тени."),
    ) {
        road.push((
            officer.clone(),
            Command::Annul {
                reason: AnnulmentReason::PhotoNonCompliant,
                comment,
            },
        ));
        road.push((Actor::System, Command::ConfirmRefund));
    }
    road
}

/// The demo's people on `today`: those the start-up message lists, then eleven Astana
/// residents, one per life-cycle state (their applications are seeded in that state).
pub fn people(today: jiff::civil::Date) -> Vec<Person> {
    let mut people: Vec<Person> = PEOPLE
        .iter()
        .enumerate()
        .filter_map(|(i, p)| demo_person(p, i, today))
        .collect();
    // Eleven more Astana residents, one per life-cycle state.
    for (i, target) in ApplicationState::ALL.iter().enumerate() {
        let p = DemoPerson {
            serial: 200 + 60 * i as u16,
            birth: (1990, 1, 1 + i as i8),
            sex: if i % 2 == 0 { Sex::Male } else { Sex::Female },
            surname: if i % 2 == 0 {
                "Сейітов"
            } else {
                "Сейітова"
            },
            given: if i % 2 == 0 { "Арман" } else { "Алия" },
            patronymic: if i % 2 == 0 {
                "Қайратұлы"
            } else {
                "Қайратқызы"
            },
            region: "71",
            language: Lang::Kk,
            days_left: 8,
            note: target.as_str(),
        };
        people.extend(demo_person(&p, 10 + i, today));
    }
    people
}

/// Seeds the demo data — what is missing of it — and returns what to print: how to sign in
/// as each role.
pub async fn seed(state: &AppState, ca: Option<&kuelik_trust::DemoCa>) -> Result<String, String> {
    let now = state.clock.now();
    let today = almaty_date(now);
    let store = &state.store;
    let e = |e: kuelik_store::StoreError| e.to_string();

    let people = people(today);
    // Each part is seeded when it is missing, so a start killed half-way through the first
    // one is completed by the next (people, then staff, then each application in its own
    // transaction); a complete demo is left as it is (its people's documents may have
    // changed since: they are not reset).
    let mut out = String::new();
    let mut missing = Vec::new();
    for person in &people {
        if store.person(&person.iin).await.map_err(e)?.is_none() {
            missing.push(person.clone());
        }
    }
    if !missing.is_empty() {
        store.put_people(&missing).await.map_err(e)?;
        // The register holds the photo of each one's current document (the officer compares
        // it with the uploaded one): an older, black-and-white print of the demo portrait.
        let photo = register_photo()?;
        let photos = missing
            .iter()
            .map(|p| RegisterPhoto {
                iin: p.iin,
                document_number: p.document.number.clone(),
                content_type: "image/jpeg".into(),
                bytes: photo.clone(),
            })
            .collect();
        store
            .commit(Changes {
                register_photos: photos,
                ..Changes::default()
            })
            .await
            .map_err(e)?;
    }
    let mut created = (missing.len(), 0, 0);
    {
        let wanted = [
            staff(
                "admin",
                "Demo administrator",
                Role::Administrator,
                None,
                None,
                now,
            )?,
            StaffAccount {
                iin: officer_iin("officer71"),
                ..staff(
                    "officer71",
                    "Demo officer, Astana",
                    Role::Officer,
                    Some("71"),
                    None,
                    now,
                )?
            },
            StaffAccount {
                iin: officer_iin("officer75"),
                ..staff(
                    "officer75",
                    "Demo officer, Almaty",
                    Role::Officer,
                    Some("75"),
                    None,
                    now,
                )?
            },
            staff(
                "production",
                "Demo production centre",
                Role::ProductionOperator,
                None,
                None,
                now,
            )?,
            staff(
                "point7101",
                "Demo registration point 71-01",
                Role::PointOperator,
                None,
                Some("71-01"),
                now,
            )?,
            staff(
                "point7501",
                "Demo registration point 75-01",
                Role::PointOperator,
                None,
                Some("75-01"),
                now,
            )?,
        ];
        let mut accounts = Vec::new();
        for account in wanted {
            match store
                .staff_by_username(&account.username)
                .await
                .map_err(e)?
            {
                Some(existing) => accounts.push(existing),
                None => {
                    store.add_staff(&account).await.map_err(e)?;
                    created.1 += 1;
                    accounts.push(account);
                }
            }
        }
        let signer = match ca {
            Some(ca) => bind_demo_officers(state, ca).await?,
            None => None,
        };
        let officer = Actor::Officer {
            staff: accounts[1].id,
            region: "71".parse().map_err(|_| "region")?,
        };
        let point = Actor::PointOperator {
            staff: accounts[4].id,
            point: "71-01".parse().map_err(|_| "point")?,
        };
        let rules = rules_at(state, now).map_err(|e| e.code.to_string())?;
        let policy = LifecyclePolicy {
            calendar: &state.calendar,
            processing_working_days: u32::from(rules.processing_working_days),
            review_timeout: kuelik_core::lifecycle::REVIEW_TIMEOUT,
        };
        let photo = Sha256Digest::from_bytes(sha256(DEMO_PHOTO));
        let signature = Sha256Digest::from_bytes(sha256(DEMO_SIGNATURE));
        let amount =
            kuelik_core::fees::duty_due(&rules, &state.mrp, DocumentKind::IdentityCard, today)
                .map_err(|e| e.to_string())?
                .amount;
        for (person, target) in people[PEOPLE.len()..].iter().zip(ApplicationState::ALL) {
            if !store
                .applications_of(&person.iin)
                .await
                .map_err(e)?
                .is_empty()
            {
                continue;
            }
            created.2 += 1;
            let citizen = Actor::Citizen { iin: person.iin };
            let mut app = Application::new_draft(
                ApplicationId(Uuid::now_v7()),
                person.iin,
                DocumentKind::IdentityCard,
                person.region,
                now,
            );
            let reference = format!("DEMO-{}", Uuid::now_v7().simple());
            let mut road = vec![
                (
                    citizen.clone(),
                    Command::ChooseRegistrationPoint("71-01".parse().map_err(|_| "point")?),
                ),
                (citizen.clone(), Command::AttachPhoto(photo)),
                (citizen.clone(), Command::AttachSignature(signature)),
                (
                    Actor::System,
                    Command::RecordPayment(Payment {
                        reference: reference.clone(),
                        amount,
                        paid_at: now,
                    }),
                ),
            ];
            let ticket = TicketNumber::from_random_bits(u64::from_le_bytes(
                random_bytes::<8>().map_err(|e| e.code.to_string())?,
            ));
            road.extend(road_to(target, &citizen, &officer, &point, ticket));
            let mut events = Vec::new();
            for (actor, command) in &road {
                events.push(
                    app.handle(command, actor, now, &policy)
                        .map_err(|e| format!("demo {}: {e}", target.as_str()))?,
                );
            }
            // Issued: handed over as at the desk, the old card surrendered and replaced.
            let mut issued = Changes::default();
            if target == ApplicationState::Issued {
                let issuance = kuelik_core::issuance::hand_over(
                    &mut app,
                    ticket,
                    &person.document,
                    None,
                    kuelik_core::document::OldCard::Surrendered,
                    &point,
                    now,
                    &policy,
                )
                .map_err(|e| format!("demo issued: {e}"))?;
                crate::app::desk::record_issuance(&mut issued, &point, &issuance);
                events.push(issuance.event);
            }
            // Past approval: the approval officer71 signed, as production will check it.
            let approval = match (&signer, app.approved_by) {
                (Some(creds), Some(officer)) => {
                    let document = crate::approvals::document_of(
                        &app,
                        person,
                        &photo.to_string(),
                        &signature.to_string(),
                        "officer71",
                        now,
                    )
                    .map_err(|r| r.detail)?
                    .canonical_bytes();
                    let cms = kuelik_trust::cms::sign_detached(
                        &document,
                        &creds.key_pem,
                        &creds.cert_pem,
                        now,
                    )
                    .map_err(|e| e.to_string())?;
                    Some(kuelik_store::Approval {
                        application: app.id,
                        officer,
                        method: kuelik_store::SigningMethod::Remote,
                        document,
                        signature: cms,
                        signed_at: now,
                    })
                }
                _ => None,
            };
            let refund = app.refund.is_some();
            let payment = PaymentRecord {
                id: Uuid::now_v7(),
                application: app.id,
                payer: person.iin,
                amount,
                status: if refund {
                    PaymentStatus::Refunded
                } else {
                    PaymentStatus::Confirmed
                },
                gateway_reference: reference,
                created_at: now,
                updated_at: now,
            };
            store
                .commit(Changes {
                    application: Some(ApplicationWrite {
                        application: app,
                        expected_version: None,
                    }),
                    events,
                    blobs: vec![
                        Blob {
                            digest: photo,
                            content_type: "image/jpeg".into(),
                            bytes: DEMO_PHOTO.to_vec(),
                            created_at: now,
                        },
                        Blob {
                            digest: signature,
                            content_type: "image/jpeg".into(),
                            bytes: DEMO_SIGNATURE.to_vec(),
                            created_at: now,
                        },
                    ],
                    payments: vec![payment],
                    approval,
                    ..issued
                })
                .await
                .map_err(e)?;
        }
    }
    let _ = match created {
        (0, 0, 0) => writeln!(out, "Demo data already present."),
        (people, staff, applications) => writeln!(
            out,
            "Demo data created: {people} people in the register, {staff} staff, {applications} applications (one per state)."
        ),
    };
    let _ = writeln!(out, "Staff (password {DEMO_PASSWORD:?}): admin, officer71, officer75, production, point7101, point7501.");
    if ca.is_some() {
        let _ = writeln!(
            out,
            "Officers approve with their e-signature: PIN {DEMO_PIN:?} (keys from a demo CA)."
        );
    }
    let _ = writeln!(
        out,
        "Citizens (sign in with the IIN; the one-time code appears at /dev/inbox):"
    );
    for (p, person) in PEOPLE.iter().zip(&people) {
        let _ = writeln!(
            out,
            "  {}  {} {}: {}",
            person.iin, person.given_name, person.surname, p.note
        );
    }
    let _ = writeln!(
        out,
        "An application in each state, one person each (to see how each reads):"
    );
    for (person, state) in people[PEOPLE.len()..].iter().zip(ApplicationState::ALL) {
        let _ = writeln!(
            out,
            "  {}  {}  {}",
            person.iin,
            person.phone.as_str(),
            state.as_str()
        );
    }
    Ok(out)
}
