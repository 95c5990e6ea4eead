//! `TestApp`: the real app on port 0 with a fresh database, and cookie-keeping clients.
//!
//! SQLite by default (a temp file per test); PostgreSQL when `MPANEL_TEST_DATABASE_URL` is set,
//! with a fresh schema per test inside that database.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use mpanel::app::{self, AppState};
use mpanel::config::Config;
use reqwest::cookie::{CookieStore, Jar};
use reqwest::{Response, StatusCode};

pub const OWNER_EMAIL: &str = "owner@operator.test";
pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub base: String,
    pub state: AppState,
    dir: PathBuf,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

pub struct TestClient {
    pub base: String,
    pub http: reqwest::Client,
    pub jar: Arc<Jar>,
}

pub fn test_config(dir: &std::path::Path) -> Config {
    Config {
        database_url: None,
        bind: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.to_path_buf(),
        base_url: None,
        secret_key: Some("test-secret-key-test-secret-key-test-secret".into()),
        db_max_connections: 8,
        session_ttl_minutes: 720,
        session_idle_minutes: 120,
        login_account_burst: 5,
        login_account_interval_secs: 60,
        login_ip_burst: 1000,
        login_ip_interval_secs: 1,
        trusted_proxies: vec![],
        log: "warn".into(),
        no_worker: false,
        worker_concurrency: 4,
        job_lease_secs: 30,
        job_poll_ms: 200,
        worker_shutdown_grace_secs: 5,
        smtp_url: None,
        mail_from: "mPanel <panel@operator.test>".into(),
        provisioner: "manual".into(),
        proxmox_url: None,
        proxmox_token_id: None,
        proxmox_token_secret: None,
        proxmox_node: None,
        proxmox_template_vmid: None,
        proxmox_storage: None,
        proxmox_backup_storage: None,
        proxmox_disk: "scsi0".into(),
        proxmox_ca_file: None,
        proxmox_fingerprint: None,
        proxmox_task_timeout_secs: 10,
        proxmox_poll_ms: 50,
        order_expiry_days: 7,
        // Tests run bill runs themselves, on the movable clock.
        bill_run_every_secs: 0,
        renewal_lead_days: 7,
        dunning_remind_before_days: 3,
        dunning_remind_after_days: "1,7,14".into(),
        dunning_suspend_after_days: 7,
        dunning_cancel_after_days: 30,
        late_fee: String::new(),
        payments: mpanel::config::PaymentConfig {
            stripe_api_url: "https://api.stripe.com".into(),
            stripe_checkout_origin: "https://checkout.stripe.com".into(),
            ..Default::default()
        },
        api_rate_per_minute: 600,
        api_rate_burst: 120,
        ops: mpanel::config::OpsConfig {
            ops_refresh_secs: 10,
            ops_tile_memo_ms: 0,
            metrics_token: None,
            metrics_bind: None,
            probe_down_after: 3,
            probe_up_after: 2,
            probe_flap_changes: 4,
            probe_flap_window_secs: 900,
            probe_concurrency: 8,
        },
    }
}

/// A database URL for one test: a temp SQLite file, or a new Postgres schema.
pub async fn test_database_url(dir: &std::path::Path) -> Option<String> {
    let base = std::env::var("MPANEL_TEST_DATABASE_URL").ok()?;
    let schema = format!("t_{}", uuid_simple());
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&base)
        .await
        .expect("connect to MPANEL_TEST_DATABASE_URL");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .expect("create test schema");
    let _ = dir;
    let sep = if base.contains('?') { '&' } else { '?' };
    Some(format!("{base}{sep}options[search_path]={schema}"))
}

fn uuid_simple() -> String {
    mpanel::db::new_id().replace('-', "")
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
        let dir = std::env::temp_dir().join(format!("mpanel-it-{}", uuid_simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut config = test_config(&dir);
        config.database_url = test_database_url(&dir).await;
        // Bound first, so a tweak can name the port (e.g. a base URL on localhost).
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        config.bind = addr;
        tweak(&mut config);
        let state = app::build_state_with_clock(config, mpanel::clock::Clock::movable())
            .await
            .expect("app state");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(app::serve(state.clone(), listener, async {
            let _ = rx.await;
        }));
        TestApp {
            base: format!("http://{addr}"),
            state,
            dir,
            shutdown: Some(tx),
        }
    }

    /// The app with its public URL on `localhost` (a domain name: passkeys need one; browsers
    /// refuse WebAuthn on an IP address). The server still listens on 127.0.0.1.
    pub async fn spawn_localhost() -> TestApp {
        TestApp::spawn_with(|c| c.base_url = Some(format!("http://localhost:{}", c.bind.port())))
            .await
    }

    /// The panel's public URL (`MPANEL_BASE_URL`, or the bound address).
    pub fn public_base(&self) -> String {
        self.state.config.base_url()
    }

    pub fn client(&self) -> TestClient {
        let jar = Arc::new(Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("mpanel-it/1.0")
            .build()
            .unwrap();
        TestClient {
            base: self.base.clone(),
            http,
            jar,
        }
    }

    /// Completes first-run setup; returns the signed-in operator OWNER's client.
    pub async fn setup_owner(&self) -> TestClient {
        let c = self.client();
        let res = c
            .post(
                "/setup",
                &[
                    ("company", "Operator Hosting"),
                    ("email", OWNER_EMAIL),
                    ("password", PASSWORD),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "setup failed");
        c
    }

    /// Creates a customer tenant as `staff`; returns its id.
    pub async fn create_tenant(&self, staff: &TestClient, slug: &str) -> String {
        let res = staff
            .post(
                "/tenants",
                &[
                    ("name", &format!("Tenant {slug}")),
                    ("slug", slug),
                    ("billing_email", &format!("billing@{slug}.test")),
                    ("country", "DE"),
                    ("region", "eu-central"),
                    ("currency", "EUR"),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "create tenant {slug}");
        location(&res).trim_start_matches("/tenants/").to_string()
    }

    /// Creates a user through the real invitation flow: `admin` invites `email` with `role`,
    /// then the invitee opens the e-mailed link and sets [`PASSWORD`]. Returns the user id.
    /// The link is read from the queued mail job, so this works with or without a worker.
    pub async fn create_user(
        &self,
        admin: &TestClient,
        tenant_id: &str,
        email: &str,
        role: &str,
    ) -> String {
        let res = admin
            .post(
                "/users",
                &[
                    ("tenant_id", tenant_id),
                    ("email", email),
                    ("name", "Test User"),
                    ("role", role),
                ],
            )
            .await;
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "invite {email}: {}",
            res.text().await.unwrap_or_default()
        );
        let link = self
            .queued_invite_link(email)
            .await
            .unwrap_or_else(|| panic!("no invitation link queued for {email}"));
        let res = self.accept_invitation(&link, PASSWORD).await;
        assert_eq!(location(&res), "/login", "accept the invitation of {email}");
        sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
            .bind(email)
            .fetch_one(&self.state.db.pool)
            .await
            .unwrap()
    }

    /// Opens `link` (`/invite/<token>`) as a visitor and sets `password`.
    pub async fn accept_invitation(&self, link: &str, password: &str) -> Response {
        self.client()
            .post(
                link,
                &[
                    ("name", "Test User"),
                    ("password", password),
                    ("confirm", password),
                ],
            )
            .await
    }

    /// The text bodies of every mail queued (sent or not) to `email`, oldest first.
    pub async fn queued_mails_to(&self, email: &str) -> Vec<mpanel::mail::OutgoingMail> {
        let payloads: Vec<String> = sqlx::query_scalar(
            "SELECT payload FROM jobs WHERE kind = 'mail.send' ORDER BY created_at, id",
        )
        .fetch_all(&self.state.db.pool)
        .await
        .unwrap();
        payloads
            .iter()
            .filter_map(|p| serde_json::from_str::<mpanel::mail::OutgoingMail>(p).ok())
            .filter(|m| m.to == email)
            .collect()
    }

    /// The invitation link in the newest mail queued to `email`, if that mail has one.
    pub async fn queued_invite_link(&self, email: &str) -> Option<String> {
        let mails = self.queued_mails_to(email).await;
        invite_link_in(&mails.last()?.text_body)
    }

    /// The `.eml` files the worker wrote (no SMTP configured) to `email`, decoded enough to
    /// search: headers and body, quoted-printable soft line breaks removed.
    pub fn delivered_mails_to(&self, email: &str) -> Vec<String> {
        let Ok(dir) = std::fs::read_dir(self.dir.join("mail")) else {
            return Vec::new();
        };
        dir.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
            .map(|raw| raw.replace("=\r\n", "").replace("=\n", ""))
            .filter(|m| {
                m.lines()
                    .any(|l| l.eq_ignore_ascii_case(&format!("To: {email}")))
            })
            .collect()
    }

    /// Waits for a delivered mail to `email` with an invitation link not in `seen`; returns it.
    pub async fn wait_for_invite_link(&self, email: &str, seen: &[String]) -> String {
        wait_until(&format!("an invitation e-mail to {email}"), 10, || async {
            self.delivered_mails_to(email)
                .iter()
                .filter_map(|m| invite_link_in(m))
                .find(|l| !seen.contains(l))
        })
        .await
    }

    /// Waits for `n` delivered mails to `email` containing `needle`; returns them.
    pub async fn wait_for_mails_containing(
        &self,
        email: &str,
        needle: &str,
        n: usize,
    ) -> Vec<String> {
        wait_until(
            &format!("{n} e-mail(s) to {email} with {needle:?}"),
            10,
            || async {
                let found: Vec<String> = self
                    .delivered_mails_to(email)
                    .into_iter()
                    .filter(|m| m.contains(needle))
                    .collect();
                (found.len() >= n).then_some(found)
            },
        )
        .await
    }

    /// A new client signed in as `email`.
    pub async fn signed_in(&self, email: &str) -> TestClient {
        let c = self.client();
        let res = c.login(email, PASSWORD).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "login {email}");
        c
    }

    /// The operator (staff) tenant's id.
    pub async fn operator_tenant_id(&self) -> String {
        sqlx::query_scalar("SELECT id FROM tenants WHERE kind = 'OPERATOR'")
            .fetch_one(&self.state.db.pool)
            .await
            .unwrap()
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(&self.state.db.pool)
            .await
            .unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl TestClient {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.http.get(self.url(path)).send().await.unwrap()
    }

    pub async fn get_htmx(&self, path: &str) -> Response {
        self.http
            .get(self.url(path))
            .header("HX-Request", "true")
            .send()
            .await
            .unwrap()
    }

    /// A same-origin form POST, as a browser sends it.
    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.http
            .post(self.url(path))
            .header("Origin", &self.base)
            .header("Sec-Fetch-Site", "same-origin")
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_htmx(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.http
            .post(self.url(path))
            .header("Origin", &self.base)
            .header("Sec-Fetch-Site", "same-origin")
            .header("HX-Request", "true")
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post("/login", &[("email", email), ("password", password)])
            .await
    }

    /// The value of a cookie this client holds.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let url = self.base.parse().unwrap();
        let header = self.jar.cookies(&url)?;
        header.to_str().ok()?.split("; ").find_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            (k == name).then(|| v.to_string())
        })
    }

    pub fn set_cookie(&self, name: &str, value: &str) {
        let url = self.base.parse().unwrap();
        self.jar
            .add_cookie_str(&format!("{name}={value}; Path=/"), &url);
    }
}

pub fn location(res: &Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// The path `/invite/<token>` in a mail text, if there is one.
pub fn invite_link_in(text: &str) -> Option<String> {
    let from = text.find("/invite/")?;
    let token: String = text[from + "/invite/".len()..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    (token.len() == 43).then(|| format!("/invite/{token}"))
}

/// The text between `start` and the next `end` in `html`.
pub fn between<'a>(html: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = html.find(start)? + start.len();
    let len = html[from..].find(end)?;
    Some(&html[from..from + len])
}

// ---------------------------------------------------------------- security centre

/// The code an authenticator app shows for `secret` (base32), `offset_steps` 30-second steps
/// from now.
pub fn totp_code(secret: &str, offset_steps: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    mpanel::security::crypto::code_at(secret, (now + offset_steps * 30) as u64).unwrap()
}

/// The recovery codes listed on a recovery-codes page.
pub fn recovery_codes_in(html: &str) -> Vec<String> {
    html.split("<li><code>")
        .skip(1)
        .filter_map(|s| s.split("</code>").next())
        .map(str::to_string)
        .collect()
}

/// A cookie-keeping client for a panel at `base` (e.g. a `mpanel serve` child process).
pub fn client_for(base: &str) -> TestClient {
    let jar = Arc::new(Jar::default());
    let http = reqwest::Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .user_agent("mpanel-it/1.0")
        .build()
        .unwrap();
    TestClient {
        base: base.to_string(),
        http,
        jar,
    }
}

/// Turns MFA on for the signed-in `c` through the UI; returns the secret (base32) and the
/// recovery codes. The current step is used up by the confirmation.
pub async fn enrol_mfa(c: &TestClient) -> (String, Vec<String>) {
    let res = c.post("/security/mfa/setup", &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "start MFA set-up");
    let html = c.get("/security/mfa").await.text().await.unwrap();
    let secret = between(
        &html,
        "id=\"totp-secret\" type=\"text\" readonly value=\"",
        "\"",
    )
    .expect("secret shown as text")
    .to_string();
    let res = c
        .post("/security/mfa/enable", &[("code", &totp_code(&secret, 0))])
        .await;
    assert_eq!(res.status(), StatusCode::OK, "enable MFA");
    let codes = recovery_codes_in(&res.text().await.unwrap());
    assert_eq!(codes.len(), 10);
    (secret, codes)
}

/// Password then second factor in a new client; returns it and the final response.
pub async fn login_with_code_at(base: &str, email: &str, code: &str) -> (TestClient, Response) {
    let c = client_for(base);
    let res = c.login(email, PASSWORD).await;
    assert_eq!(location(&res), "/login/mfa", "password step of {email}");
    let res = c.post("/login/mfa", &[("code", code)]).await;
    (c, res)
}

impl TestApp {
    pub async fn enrol_mfa(&self, c: &TestClient) -> (String, Vec<String>) {
        enrol_mfa(c).await
    }

    pub async fn login_with_code(&self, email: &str, code: &str) -> (TestClient, Response) {
        login_with_code_at(&self.base, email, code).await
    }
}

/// Polls `check` every 20 ms until it returns `Some`, failing the test after `secs` seconds.
pub async fn wait_until<T, F, Fut>(what: &str, secs: u64, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {secs} s waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

impl TestApp {
    /// An app whose built-in job worker is off, so a test controls which workers run.
    pub async fn spawn_without_worker() -> TestApp {
        TestApp::spawn_with(|c| c.no_worker = true).await
    }

    /// Enqueues `job` in its own committed transaction.
    pub async fn enqueue(&self, job: mpanel::jobs::NewJob) -> mpanel::jobs::Enqueued {
        let mut tx = self.state.db.begin_write().await.unwrap();
        let e = mpanel::jobs::enqueue(&mut tx, job).await.unwrap();
        tx.commit().await.unwrap();
        e
    }

    pub async fn job_state(&self, id: &str) -> String {
        sqlx::query_scalar("SELECT state FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_one(&self.state.db.pool)
            .await
            .unwrap()
    }

    /// Waits until job `id` is in `state`.
    pub async fn wait_for_job(&self, id: &str, state: &str, secs: u64) {
        wait_until(&format!("job {id} to be {state}"), secs, || async {
            (self.job_state(id).await == state).then_some(())
        })
        .await
    }
}

/// A token for `c` with `scopes`, created through /security/tokens.
pub async fn token_for(c: &TestClient, scopes: &[&str]) -> String {
    let expires = mpanel::db::Timestamp::now()
        .plus_secs(30 * 86_400)
        .to_string();
    let mut form: Vec<(String, String)> = vec![
        ("name".into(), "pods api".into()),
        ("expires_on".into(), expires.chars().take(10).collect()),
    ];
    for s in scopes {
        form.push((format!("scope_{}", s.to_lowercase()), "on".into()));
    }
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let html = c
        .post("/security/tokens", &form)
        .await
        .text()
        .await
        .unwrap();
    between(
        &html,
        "id=\"new-token\" type=\"text\" readonly value=\"",
        "\"",
    )
    .expect("token shown")
    .to_string()
}

impl TestApp {
    /// A customer's pod, the way customers get them: `staff` (BILLING+) order a subscription
    /// for `tenant` at a free monthly price (a zero total needs no invoice), and its activation
    /// creates the pod and enqueues provisioning. The activation runs here rather than waiting
    /// for the worker, so tests without a worker get their pod too. Returns the pod's id.
    pub async fn order_pod(
        &self,
        staff: &TestClient,
        tenant: &str,
        name: &str,
        plan: &str,
    ) -> String {
        let product = format!("CLOUDPOD-{plan}");
        self.free_monthly_price(staff, &product).await;
        let key = format!("pod-order-{tenant}-{name}");
        let res = staff
            .post(
                "/billing/subscriptions",
                &[
                    ("tenant_id", tenant),
                    ("product", &product),
                    ("period", "MONTHLY"),
                    ("quantity", "1"),
                    ("pod_name", name),
                    ("region", ""),
                    ("idempotency_key", &key),
                    ("confirm", "yes"),
                ],
            )
            .await;
        assert_eq!(
            res.status(),
            StatusCode::SEE_OTHER,
            "{}",
            res.text().await.unwrap_or_default()
        );
        let sub = location(&res)
            .trim_start_matches("/billing/subscriptions/")
            .to_string();
        mpanel::subscriptions::service::activate(
            &self.state.db,
            self.state.provisioner.name(),
            &sub,
        )
        .await
        .unwrap();
        sqlx::query_scalar("SELECT id FROM cloudpods WHERE subscription_id = $1")
            .bind(&sub)
            .fetch_one(&self.state.db.pool)
            .await
            .unwrap()
    }

    /// A 0.00 EUR monthly price on the product, once.
    async fn free_monthly_price(&self, staff: &TestClient, product: &str) {
        let id: String = sqlx::query_scalar("SELECT id FROM products WHERE code = $1")
            .bind(product)
            .fetch_one(&self.state.db.pool)
            .await
            .unwrap();
        let priced = self
            .count(&format!(
                "SELECT COUNT(*) FROM product_prices WHERE product_id = '{id}' \
                 AND currency = 'EUR' AND period = 'MONTHLY'"
            ))
            .await;
        if priced == 0 {
            let res = staff
                .post(
                    &format!("/billing/products/{id}/prices"),
                    &[
                        ("currency", "EUR"),
                        ("period", "MONTHLY"),
                        ("amount", "0.00"),
                        ("setup_fee", ""),
                    ],
                )
                .await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER, "price for {product}");
        }
    }
}
