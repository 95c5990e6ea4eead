//! `/metrics`: the token is required on the main address, the exposition parses as
//! OpenMetrics text, and its figures are the ones the test made.

use mpanel::db::Timestamp;
use mpanel::jobs::{NewJob, store};
use openmetrics_parser::{MetricsExposition, OpenMetricsType, OpenMetricsValue};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

const TOKEN: &str = "metrics-token-metrics-token-metrics-token";

type Exposition = MetricsExposition<OpenMetricsType, OpenMetricsValue>;

async fn scrape(app: &TestApp) -> Exposition {
    let res = app
        .client()
        .http
        .get(format!("{}/metrics", app.base))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let text = res.text().await.unwrap();
    openmetrics_parser::openmetrics::parse_openmetrics(&text)
        .unwrap_or_else(|e| panic!("not OpenMetrics text: {e:?}\n{text}"))
}

/// The value of the one sample of `family` whose labels include `labels`.
fn sample(exp: &Exposition, family: &str, labels: &[(&str, &str)]) -> Option<OpenMetricsValue> {
    let fam = exp
        .families
        .get(family)
        .unwrap_or_else(|| panic!("no family {family}"));
    let found: Vec<OpenMetricsValue> = fam
        .iter_samples()
        .filter(|s| {
            let set = s.get_labelset().unwrap();
            labels
                .iter()
                .all(|(k, v)| set.get_label_value(k) == Some(*v))
        })
        .map(|s| s.value.clone())
        .collect();
    assert!(found.len() <= 1, "{family} {labels:?}: {found:?}");
    found.into_iter().next()
}

fn number(v: Option<OpenMetricsValue>) -> f64 {
    match v {
        Some(OpenMetricsValue::Gauge(n)) => n.as_f64(),
        Some(OpenMetricsValue::Counter(c)) => c.value.as_f64(),
        other => panic!("not a number: {other:?}"),
    }
}

fn histogram_count(v: Option<OpenMetricsValue>) -> u64 {
    match v {
        Some(OpenMetricsValue::Histogram(h)) => h.count.unwrap(),
        other => panic!("not a histogram: {other:?}"),
    }
}

fn all_labels(exp: &Exposition, family: &str, label: &str) -> Vec<String> {
    exp.families[family]
        .iter_samples()
        .filter_map(|s| {
            s.get_labelset()
                .unwrap()
                .get_label_value(label)
                .map(str::to_string)
        })
        .collect()
}

#[tokio::test]
async fn the_token_is_required_and_figures_match_the_queue_and_the_requests() {
    let app = TestApp::spawn_with(|c| {
        c.no_worker = true;
        c.ops.metrics_token = Some(TOKEN.into());
    })
    .await;
    let url = format!("{}/metrics", app.base);
    let http = app.client().http;
    // no token, a wrong one, another scheme: refused, and nothing of the figures shown
    for req in [
        http.get(&url),
        http.get(&url)
            .bearer_auth("metrics-token-but-not-the-right-one-at-all"),
        http.get(&url).basic_auth("prometheus", Some(TOKEN)),
    ] {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            res.headers()["www-authenticate"],
            "Bearer realm=\"metrics\""
        );
        assert!(!res.text().await.unwrap().contains("mpanel_"));
    }

    // The queue: one given up, three due now, one due two minutes ago, one scheduled.
    let now = Timestamp::now();
    let failed = app
        .enqueue(NewJob::new("report.build", &json!({})).max_attempts(1))
        .await;
    let claimed_at = Timestamp::now();
    let claimed = store::claim(&app.state.db, "w-test", 1, claimed_at, now.plus_secs(30))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let recorded = store::fail(
        &app.state.db,
        &store::Failure {
            id: &failed.id,
            worker: "w-test",
            attempt: 1,
            error: "boom",
            state: "discarded",
            run_at: claimed_at,
            now: claimed_at,
        },
    )
    .await
    .unwrap();
    assert!(recorded);
    for _ in 0..3 {
        app.enqueue(NewJob::new("mail.send", &json!({}))).await;
    }
    app.enqueue(NewJob::new("mail.send", &json!({})).run_at(now.plus_secs(-120)))
        .await;
    app.enqueue(NewJob::new("cloudpod.provision", &json!({})).run_at(now.plus_secs(3600)))
        .await;

    // Requests: three health checks, a job page by id, an unknown address.
    let c = app.client();
    for _ in 0..3 {
        assert_eq!(c.get("/healthz").await.status(), StatusCode::OK);
    }
    c.get("/ops/jobs/0190-secret-looking-id").await;
    c.get("/no/such/place-xyz").await;

    let m = scrape(&app).await;
    let jobs = |kind, state| {
        number(sample(
            &m,
            "mpanel_jobs",
            &[("kind", kind), ("state", state)],
        ))
    };
    assert_eq!(jobs("mail.send", "available"), 4.0);
    assert_eq!(jobs("report.build", "discarded"), 1.0);
    assert_eq!(jobs("cloudpod.provision", "scheduled"), 1.0);
    assert!(
        sample(
            &m,
            "mpanel_jobs",
            &[("kind", "cloudpod.provision"), ("state", "available")]
        )
        .is_none()
    );
    let age = number(sample(
        &m,
        "mpanel_job_oldest_waiting_age_seconds",
        &[("kind", "mail.send")],
    ));
    assert!((120.0..180.0).contains(&age), "{age}");
    // nothing of these kinds waits for a worker
    assert!(
        sample(
            &m,
            "mpanel_job_oldest_waiting_age_seconds",
            &[("kind", "cloudpod.provision")]
        )
        .is_none()
    );
    assert!(
        sample(
            &m,
            "mpanel_job_oldest_waiting_age_seconds",
            &[("kind", "report.build")]
        )
        .is_none()
    );

    let healthz = [("method", "GET"), ("route", "/healthz"), ("status", "200")];
    assert_eq!(number(sample(&m, "mpanel_http_requests", &healthz)), 3.0);
    assert_eq!(
        histogram_count(sample(&m, "mpanel_http_request_duration_seconds", &healthz)),
        3
    );
    // the refused scrapes are counted under the route template too
    assert_eq!(
        number(sample(
            &m,
            "mpanel_http_requests",
            &[("route", "/metrics"), ("status", "401")]
        )),
        3.0
    );
    // route templates, never the raw path
    let routes = all_labels(&m, "mpanel_http_requests", "route");
    assert!(routes.contains(&"/ops/jobs/{id}".to_string()), "{routes:?}");
    assert!(routes.contains(&"unmatched".to_string()), "{routes:?}");
    assert!(
        !routes
            .iter()
            .any(|r| r.contains("secret-looking") || r.contains("xyz")),
        "{routes:?}"
    );
    let build = sample(
        &m,
        "mpanel_build",
        &[("version", env!("CARGO_PKG_VERSION"))],
    );
    assert!(matches!(build, Some(OpenMetricsValue::Info)), "{build:?}");
}

#[tokio::test]
async fn the_worker_records_how_long_each_attempt_ran() {
    let app = TestApp::spawn_with(|c| c.ops.metrics_token = Some(TOKEN.into())).await;
    let job = app
        .enqueue(NewJob::new(
            "mail.send",
            &json!({"to": "ann@acme.test", "subject": "Hello", "text_body": "Hi", "html_body": null}),
        ))
        .await;
    app.wait_for_job(&job.id, "completed", 10).await;
    let m = scrape(&app).await;
    let runs = sample(
        &m,
        "mpanel_job_run_duration_seconds",
        &[("kind", "mail.send"), ("outcome", "completed")],
    );
    assert_eq!(histogram_count(runs), 1);
    assert!(
        sample(
            &m,
            "mpanel_job_run_duration_seconds",
            &[("outcome", "retryable")]
        )
        .is_none()
    );
}

#[tokio::test]
async fn without_a_token_it_is_not_served_on_the_main_address_but_on_its_own() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let app = TestApp::spawn_with(|c| {
        c.no_worker = true;
        c.ops.metrics_bind = Some(format!("127.0.0.1:{port}").parse().unwrap());
    })
    .await;
    let c = app.client();
    assert_eq!(c.get("/metrics").await.status(), StatusCode::NOT_FOUND);
    let separate = client_for(&format!("http://127.0.0.1:{port}"));
    let res = separate.get("/metrics").await;
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    openmetrics_parser::openmetrics::parse_openmetrics(&text).unwrap();
    assert!(text.contains("mpanel_build_info"));
    // only /metrics there: not the panel
    assert_eq!(separate.get("/login").await.status(), StatusCode::NOT_FOUND);

    // a token too short to be a secret refuses to start
    let dir = std::env::temp_dir().join(format!("mpanel-it-{}", mpanel::db::new_id()));
    let mut config = test_config(&dir);
    config.database_url = test_database_url(&dir).await;
    config.ops.metrics_token = Some("short".into());
    let err = mpanel::app::build_state(config).await.err().unwrap();
    assert!(err.to_string().contains("MPANEL_METRICS_TOKEN"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn node_probe_status_and_latency_are_exposed() {
    let app = TestApp::spawn_with(|c| {
        c.ops.metrics_token = Some(TOKEN.into());
        c.no_worker = true;
    })
    .await;
    let owner = app.setup_owner().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    crate::ops::nodes::register(
        &owner,
        &crate::ops::nodes::tcp_node("m1.example.net", "127.0.0.1", &port),
    )
    .await;
    let exp = scrape(&app).await;
    assert_eq!(
        number(sample(
            &exp,
            "mpanel_node_status",
            &[("node", "m1.example.net"), ("status", "UNKNOWN")]
        )),
        1.0
    );
    let settings =
        mpanel::ops::nodes::model::ProbeSettings::from_config(&app.state.config).unwrap();
    for _ in 0..2 {
        mpanel::ops::nodes::probing::probe_pass(&app.state.db, &settings, app.state.clock.now(), 4)
            .await
            .unwrap();
        app.state.clock.advance(5);
    }
    let exp = scrape(&app).await;
    assert_eq!(
        number(sample(
            &exp,
            "mpanel_node_status",
            &[
                ("node", "m1.example.net"),
                ("status", "UP"),
                ("node_type", "WEB")
            ]
        )),
        1.0
    );
    assert!(sample(&exp, "mpanel_node_status", &[("status", "UNKNOWN")]).is_none());
    let latency = number(sample(
        &exp,
        "mpanel_node_probe_latency_seconds",
        &[("node", "m1.example.net")],
    ));
    assert!((0.0..1.0).contains(&latency), "{latency}");
}
