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
