//! The "peak day": N citizens through the whole life cycle while officers, production and
//! desks work the queues, then the ceilings on the same server.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kuelik_core::lifecycle::Role;
use kuelik_core::region::{PointId, RegionCode, RegistrationPoints};
use kuelik_core::register::Person;
use kuelik_server::clock::Clock;

use crate::ceilings;
use crate::http::{Api, Recorder};
use crate::people::{self, Images};
use crate::report::{DaySummary, Machine, Memory, Report};
use crate::roles::{self, Day, Submitted};
use crate::server::{Server, PASSWORD};

#[derive(Debug, Clone)]
pub struct Options {
    pub citizens: u64,
    /// Citizen clients at once (and clients per ceiling).
    pub concurrency: usize,
    /// Seconds per ceiling; 0 skips the ceilings.
    pub ceiling_secs: f64,
    /// The day stops here even if not everyone is issued (the run then fails).
    pub timeout_secs: u64,
    /// A PostgreSQL server to run on (a fresh database is created there); SQLite in a
    /// temp dir otherwise.
    pub database_url: Option<String>,
    /// Run the server as a child process of this executable (`serve-child`), so that its
    /// memory is measured alone; `None`: in this process.
    pub server_exe: Option<std::path::PathBuf>,
}

/// The staff of the day: one officer per region, two production operators, one desk per
/// registration point. All share one password hash (argon2 is slow on purpose; one
/// hash is enough for a harness).
struct Staff {
    officers: Vec<(String, kuelik_trust::OfficerCredentials)>,
    production: Vec<String>,
    desks: Vec<String>,
}

async fn add_staff(server: &Server) -> Result<Staff, String> {
    let hash = kuelik_server::auth::hash_password(PASSWORD)?;
    let mut staff = Staff {
        officers: Vec::new(),
        production: Vec::new(),
        desks: Vec::new(),
    };
    for region in server.regions.iter() {
        let name = format!("officer{}", region.code);
        let creds = server
            .add_staff(&hash, &name, Role::Officer, Some(region.code), None)
            .await?
            .ok_or("an officer got no certificate")?;
        staff.officers.push((name, creds));
    }
    for i in 1..=2 {
        let name = format!("production{i}");
        server
            .add_staff(&hash, &name, Role::ProductionOperator, None, None)
            .await?;
        staff.production.push(name);
    }
    for point in server.points.iter() {
        let name = format!("desk{}", point.id.as_str().replace('-', ""));
        server
            .add_staff(
                &hash,
                &name,
                Role::PointOperator,
                None,
                Some(point.id.clone()),
            )
            .await?;
        staff.desks.push(name);
    }
    Ok(staff)
}

/// The point citizen `n` of `region` chooses (spread over the region's points).
fn point_for(points: &RegistrationPoints, region: RegionCode, n: u64) -> Option<PointId> {
    let here: Vec<&PointId> = points.in_region(region).map(|p| &p.id).collect();
    here.get((n % here.len().max(1) as u64) as usize)
        .map(|p| (*p).clone())
}

/// Extra people for the durability ceiling: one per client, each in a region with two
/// registration points to move between.
fn togglers(
    today: jiff::civil::Date,
    points: &RegistrationPoints,
    first: u64,
    count: usize,
) -> Result<Vec<(Person, [String; 2])>, String> {
    let mut out = Vec::with_capacity(count);
    let mut n = first;
    while out.len() < count {
        let batch = people::citizens(today, n, 64)?;
        n += 64;
        for person in batch {
            let here: Vec<String> = points
                .in_region(person.region)
                .map(|p| p.id.to_string())
                .collect();
            if let [a, b, ..] = here.as_slice() {
                let pair = [a.clone(), b.clone()];
                out.push((person, pair));
                if out.len() == count {
                    break;
                }
            }
        }
        if n > first + 1_000_000 {
            return Err("no region has two registration points".into());
        }
    }
    Ok(out)
}

pub async fn run(options: &Options) -> Result<Report, String> {
    if options.citizens == 0 || options.concurrency == 0 {
        return Err("--citizens and --concurrency must be at least 1".into());
    }
    let setup = Instant::now();
    let server = Server::start(
        options.database_url.as_deref(),
        options.server_exe.as_deref(),
    )
    .await?;
    let today = kuelik_core::time::almaty_date(server.clock.now());
    let points = server.points.clone();
    let citizens = people::citizens(today, 0, options.citizens)?;
    let togglers = if options.ceiling_secs > 0.0 {
        togglers(today, &points, options.citizens, options.concurrency)?
    } else {
        Vec::new()
    };
    let mut register: Vec<Person> = citizens.clone();
    register.extend(togglers.iter().map(|(p, _)| p.clone()));
    server.add_people(&register).await?;
    drop(register);
    let staff = add_staff(&server).await?;

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(options.concurrency * 2 + 64)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let recorder = Arc::new(Recorder::default());
    let api = Api::new(client, &server.base, recorder.clone());
    let images = Images::new()?;
    let day = Arc::new(Day::new(
        api.clone(),
        server.codes.clone(),
        server.clock.clone(),
        images,
        options.citizens,
    ));

    // Staff sign in before the day (argon2 is slow on purpose; it is a shift's start,
    // not the rush), on a recorder of their own.
    let shift = api.recording_to(Arc::new(Recorder::default()));
    let sign_in = |name: String| {
        let shift = shift.clone();
        async move {
            roles::staff_sign_in(&shift, &name)
                .await
                .map_err(|e| format!("{name} cannot sign in: {e}"))
        }
    };
    let mut officers = Vec::new();
    for (name, creds) in staff.officers {
        officers.push((sign_in(name).await?, creds));
    }
    let mut production = Vec::new();
    for name in staff.production {
        production.push(sign_in(name).await?);
    }
    let mut desks = Vec::new();
    for name in staff.desks {
        desks.push(sign_in(name).await?);
    }
    let setup_secs = setup.elapsed().as_secs_f64();

    // Staff first, so the queues are worked from the first submission on.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut staff_tasks = Vec::new();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next_seed = || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        seed
    };
    for (i, (token, creds)) in officers.into_iter().enumerate() {
        let task = roles::officer(day.clone(), token, creds, stop_rx.clone(), next_seed());
        staff_tasks.push((format!("officer {i}"), tokio::spawn(task)));
    }
    for (i, token) in production.into_iter().enumerate() {
        let task = roles::production(day.clone(), token, i % 2 == 1, stop_rx.clone(), next_seed());
        staff_tasks.push((format!("production operator {i}"), tokio::spawn(task)));
    }
    for (i, token) in desks.into_iter().enumerate() {
        let task = roles::desk(day.clone(), token, stop_rx.clone(), next_seed());
        staff_tasks.push((format!("desk {i}"), tokio::spawn(task)));
    }

    let started = Instant::now();
    let citizens = Arc::new(citizens);
    let next = Arc::new(AtomicU64::new(0));
    let submitted: Arc<Mutex<Vec<Submitted>>> = Arc::new(Mutex::new(Vec::new()));
    let image_bytes = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::with_capacity(options.concurrency);
    for _ in 0..options.concurrency {
        let (day, citizens, next, submitted, points, image_bytes) = (
            day.clone(),
            citizens.clone(),
            next.clone(),
            submitted.clone(),
            points.clone(),
            image_bytes.clone(),
        );
        clients.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let Some(person) = citizens.get(n as usize) else {
                    return;
                };
                let Some(point) = point_for(&points, person.region, n) else {
                    let why = crate::http::Failure::Unexpected {
                        status: 0,
                        body: format!("region {} has no registration point", person.region),
                    };
                    roles::citizen_failed(&day, n, &why);
                    continue;
                };
                match roles::citizen(&day, n, person, point.as_str()).await {
                    Ok(done) => {
                        let bytes = day.images.photo(n).len() + day.images.signature(n).len();
                        image_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
                        if let Ok(mut s) = submitted.lock() {
                            s.push(done);
                        }
                    }
                    Err(why) => roles::citizen_failed(&day, n, &why),
                }
            }
        }));
    }

    // The day ends when every citizen's story has ended, or at the timeout.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(options.timeout_secs);
    let mut timed_out = false;
    loop {
        let settled = day.settled.notified();
        tokio::pin!(settled);
        settled.as_mut().enable();
        if day.is_settled() {
            break;
        }
        if tokio::time::timeout_at(deadline, settled).await.is_err() {
            timed_out = !day.is_settled();
            break;
        }
    }
    let wall_secs = started.elapsed().as_secs_f64();
    let server_memory = server.child_pid().map(Memory::of_server_process);
    let mut memory = Memory::now();
    if server_memory.is_some() {
        memory.note = crate::report::CLIENT_MEMORY_NOTE;
    }
    let _ = stop_tx.send(true);
    for c in &clients {
        c.abort();
    }
    for (name, task) in staff_tasks {
        match task.await {
            Ok(Ok(())) => {}
            Ok(Err(why)) => eprintln!("{name} stopped: {why}"),
            Err(e) if e.is_cancelled() => {}
            Err(e) => eprintln!("{name} panicked: {e}"),
        }
    }
    let submitted: Vec<Submitted> = submitted.lock().map(|s| s.clone()).unwrap_or_default();

    // Read back every ticket holder's application (not part of the day's figures).
    let check = Arc::new(Recorder::default());
    let reader = api.recording_to(check.clone());
    let mut verified_issued = 0;
    for s in &submitted {
        let r = reader
            .send(
                "GET /api/v1/applications/{id} (read back)",
                reader
                    .client
                    .get(reader.api(&format!("/applications/{}", s.id)))
                    .bearer_auth(&s.token),
                &[200],
                &[],
            )
            .await;
        if r.is_ok_and(|r| r.field("state").as_deref() == Some("issued")) {
            verified_issued += 1;
        }
    }

    let ceilings = if options.ceiling_secs > 0.0 {
        let images = Images::new()?;
        Some(
            ceilings::measure(ceilings::Inputs {
                api: &api,
                codes: &server.codes,
                submitted: &submitted,
                togglers: &togglers,
                images: &images,
                scratch: &server.scratch,
                today,
                concurrency: options.concurrency,
                secs: options.ceiling_secs,
            })
            .await?,
        )
    } else {
        None
    };
    let backend = server.backend.to_string();
    server.stop().await;

    let issued = day.issued.load(Ordering::SeqCst);
    let mut errors = recorder.errors();
    errors.extend(check.errors());
    let overall = recorder.overall();
    let applications_per_sec = issued as f64 / wall_secs.max(0.001);
    let mut report = Report {
        date: kuelik_core::time::almaty_date(jiff::Timestamp::now()).to_string(),
        machine: Machine::here(),
        day: DaySummary {
            citizens: options.citizens,
            concurrency: options.concurrency,
            backend,
            setup_secs,
            wall_secs,
            timed_out,
            issued,
            verified_issued,
            failed: day.failed.load(Ordering::SeqCst),
            lost: day.lost(),
            applications_per_sec,
            projected_secs_for_20000: 20_000.0 / applications_per_sec.max(0.001),
            image_mib: image_bytes.load(Ordering::Relaxed) as f64 / (1024.0 * 1024.0),
        },
        overall,
        endpoints: recorder.latencies(),
        errors,
        tolerated: recorder.tolerated(),
        memory,
        server_memory,
        ceilings,
        targets: Vec::new(),
    };
    report.fill_targets();
    Ok(report)
}
