//! A small peak day end to end: every citizen issued, no unexpected error, and the
//! ceilings measured (briefly) without errors.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_citizens_are_all_issued_without_errors() {
    let report = kuelik_loadtest::run(&kuelik_loadtest::Options {
        citizens: 5,
        concurrency: 4,
        ceiling_secs: 0.3,
        timeout_secs: 300,
        database_url: None,
        server_exe: None,
    })
    .await
    .expect("the run finishes");
    assert_eq!(report.day.verified_issued, 5, "{report:#?}");
    assert_eq!(report.day.issued, 5);
    assert_eq!((report.day.failed, report.day.lost), (0, 0));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let ceilings = report.ceilings.as_ref().expect("ceilings measured");
    assert_eq!(ceilings.errors, 0);
    assert!(ceilings.static_http.per_sec > 0.0 && ceilings.durable_changes.per_sec > 0.0);
    assert!(report.succeeded());
    // The endpoints of every role appear, under their route templates.
    for route in [
        "PUT /api/v1/applications/{id}/photo",
        "POST /api/v1/officer/applications/{id}/approve",
        "POST /api/v1/production/applications/{id}/dispatch",
        "POST /api/v1/point/tickets/{ticket}/hand-over",
    ] {
        assert!(report.endpoints.iter().any(|e| e.route == route), "{route}");
    }
}

/// The same day with the server in a process of its own: codes reach the harness over HTTP
/// (as from an SMS gateway), and the report gives the server's memory alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_with_the_server_in_its_own_process_reports_its_memory() {
    let report = kuelik_loadtest::run(&kuelik_loadtest::Options {
        citizens: 3,
        concurrency: 3,
        ceiling_secs: 0.0,
        timeout_secs: 300,
        database_url: None,
        server_exe: Some(env!("CARGO_BIN_EXE_kuelik-loadtest").into()),
    })
    .await
    .expect("the run finishes");
    assert_eq!(report.day.verified_issued, 3, "{report:#?}");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let server = report
        .server_memory
        .as_ref()
        .expect("the server's own memory");
    assert!(
        server.peak_mib > 1.0 && server.peak_mib >= server.rss_mib,
        "{server:?}"
    );
    let rss = report
        .targets
        .iter()
        .find(|t| t.name.starts_with("peak RSS"))
        .unwrap();
    assert_eq!(rss.name, "peak RSS (server process)");
}
