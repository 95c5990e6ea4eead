//! The process's own instruments for Prometheus (`prometheus-client`): HTTP requests and
//! their latency by route template and status, job run durations by kind and outcome, and
//! the build. One `Telemetry` per app state, never a process-wide recorder, so two instances
//! in one process (the tests) keep their own figures. Figures read from the database at
//! scrape time (jobs by state, the oldest waiting job) are added by `ops::metrics`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

/// The route label of a request no route matched (404 pages, probes for unknown paths): one
/// series for all of them, never the raw path.
pub const UNMATCHED: &str = "unmatched";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    /// The route template (`/ops/jobs/{id}`), never the path as requested.
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobRunLabels {
    pub kind: String,
    /// The job's state after the attempt: completed, retryable or discarded.
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
}

/// Cheap to clone: the instruments are shared.
#[derive(Clone)]
pub struct Telemetry(Arc<Inner>);

struct Inner {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: Family<HttpLabels, Histogram>,
    job_runs: Family<JobRunLabels, Histogram>,
}

/// 5 ms … ~20 s: page answers are milliseconds, slow ones seconds.
fn http_buckets() -> Histogram {
    Histogram::new([
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0,
    ])
}

/// 10 ms … 10 min: a mail is sent in milliseconds, a pod cloned in minutes.
fn job_buckets() -> Histogram {
    Histogram::new([
        0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0,
    ])
}

impl Default for Telemetry {
    fn default() -> Self {
        Telemetry::new()
    }
}

impl Telemetry {
    pub fn new() -> Telemetry {
        let mut registry = Registry::with_prefix("mpanel");
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            http_requests.clone(),
        );
        let http_duration =
            Family::<HttpLabels, Histogram>::new_with_constructor(http_buckets as fn() -> _);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by method, route template and status",
            http_duration.clone(),
        );
        let job_runs =
            Family::<JobRunLabels, Histogram>::new_with_constructor(job_buckets as fn() -> _);
        registry.register(
            "job_run_duration_seconds",
            "Time a job attempt's handler ran, by kind and the state it left the job in",
            job_runs.clone(),
        );
        registry.register(
            "build",
            "The running build",
            Info::new(BuildLabels {
                version: env!("CARGO_PKG_VERSION").to_string(),
            }),
        );
        Telemetry(Arc::new(Inner {
            registry,
            http_requests,
            http_duration,
            job_runs,
        }))
    }

    pub fn observe_http(&self, labels: HttpLabels, took: Duration) {
        self.0.http_requests.get_or_create(&labels).inc();
        self.0
            .http_duration
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
    }

    /// One job attempt's handler run; `outcome` is the state it left the job in.
    pub fn observe_job_run(&self, kind: &str, outcome: &str, took: Duration) {
        self.0
            .job_runs
            .get_or_create(&JobRunLabels {
                kind: kind.to_string(),
                outcome: outcome.to_string(),
            })
            .observe(took.as_secs_f64());
    }

    /// The text exposition of these instruments followed by `extra` (figures read at scrape
    /// time), ended once.
    pub fn encode(&self, extra: &Registry) -> Result<String, std::fmt::Error> {
        use prometheus_client::encoding::text::{encode_eof, encode_registry};
        let mut out = String::new();
        encode_registry(&mut out, &self.0.registry)?;
        encode_registry(&mut out, extra)?;
        encode_eof(&mut out)?;
        Ok(out)
    }
}

/// Middleware (added with `Router::layer`, so the matched route is known): counts and times
/// every answer by its route template.
pub async fn track_http(State(t): State<Telemetry>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, |m| m.as_str())
        .to_string();
    let method = known_method(req.method()).to_string();
    let started = Instant::now();
    let res = next.run(req).await;
    t.observe_http(
        HttpLabels {
            method,
            route,
            status: res.status().as_u16(),
        },
        started.elapsed(),
    );
    res
}

/// Methods outside the standard set share one label, so made-up methods cannot add series.
fn known_method(m: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    for known in [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
    ] {
        if *m == known {
            return match known.as_str() {
                "GET" => "GET",
                "HEAD" => "HEAD",
                "POST" => "POST",
                "PUT" => "PUT",
                "PATCH" => "PATCH",
                "DELETE" => "DELETE",
                _ => "OPTIONS",
            };
        }
    }
    "other"
}
