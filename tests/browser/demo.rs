//! A small, realistic panel for the accessibility run and the screenshots: an operator, two
//! customer tenants, a customer owner, invoices in several states, running pods, their jobs,
//! an API token; and the main pages each role uses.

use reqwest::StatusCode;

use crate::browser::Browser;
use crate::helpers::{PASSWORD, TestApp, TestClient, location, token_for, wait_until};

pub const CUSTOMER: &str = "owner@acme.test";

pub struct Demo {
    pub app: TestApp,
    pub staff: TestClient,
    pub customer: TestClient,
    pub invoice: String,
    pub product: String,
    pub pod: String,
    pub job: String,
    /// The subscription that pod `web-01` came from.
    pub subscription: String,
}

/// Who looks at a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    Staff,
    Customer,
}

async fn invoice(staff: &TestClient, tenant: &str, lines: &[(&str, &str, &str)]) -> String {
    let res = staff
        .post(
            "/billing/invoices",
            &[("tenant_id", tenant), ("currency", "")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let id = location(&res)
        .trim_start_matches("/billing/invoices/")
        .to_string();
    for (description, quantity, price) in lines {
        let res = staff
            .post(
                &format!("/billing/invoices/{id}/lines"),
                &[
                    ("kind", "ITEM"),
                    ("description", description),
                    ("quantity", quantity),
                    ("unit_price", price),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{description}");
    }
    id
}

async fn issue(staff: &TestClient, id: &str) {
    let res = staff
        .post(&format!("/billing/invoices/{id}/issue"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

async fn tenant(staff: &TestClient, name: &str, slug: &str, country: &str) -> String {
    let res = staff
        .post(
            "/tenants",
            &[
                ("name", name),
                ("slug", slug),
                ("billing_email", &format!("billing@{slug}.test")),
                ("country", country),
                ("region", "eu-central"),
                ("currency", "EUR"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "tenant {slug}");
    location(&res).trim_start_matches("/tenants/").to_string()
}

pub async fn seed() -> Demo {
    let app = TestApp::spawn().await;
    let staff = app.setup_owner().await;
    let acme = tenant(&staff, "Acme Web GmbH", "acme", "DE").await;
    let globex = tenant(&staff, "Globex Studio", "globex", "NL").await;
    for (email, role, name) in [
        (CUSTOMER, "OWNER", "Anna Becker"),
        ("billing@acme.test", "BILLING", "Jonas Weber"),
    ] {
        app.create_user(&staff, &acme, email, role).await;
        sqlx::query("UPDATE users SET name = $1 WHERE email = $2")
            .bind(name)
            .bind(email)
            .execute(&app.state.db.pool)
            .await
            .unwrap();
    }

    let paid = invoice(
        &staff,
        &acme,
        &[
            ("CloudPod PRO, October", "1", "29.00"),
            ("Daily backups", "1", "4.50"),
        ],
    )
    .await;
    issue(&staff, &paid).await;
    let total: i64 = sqlx::query_scalar("SELECT total_minor FROM invoices WHERE id = $1")
        .bind(&paid)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    let total = format!("{}.{:02}", total / 100, total % 100);
    let res = staff
        .post(
            &format!("/billing/invoices/{paid}/pay"),
            &[
                ("amount", &total),
                ("method", "Bank transfer"),
                ("reference", "ACME-2611"),
                ("paid_on", ""),
                ("status", "SUCCESS"),
                ("idempotency_key", &mpanel::db::new_id()),
            ],
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "pay: {}",
        res.text().await.unwrap_or_default()
    );
    let open = invoice(
        &staff,
        &acme,
        &[
            ("CloudPod PRO, November", "1", "29.00"),
            (
                "Managed hosting with a rather long description, November",
                "2",
                "25.00",
            ),
        ],
    )
    .await;
    issue(&staff, &open).await;
    invoice(&staff, &globex, &[("CloudPod MINI, November", "1", "9.00")]).await;

    app.order_pod(&staff, &acme, "web-01", "PRO").await;
    app.order_pod(&staff, &acme, "db-01", "BUSINESS").await;
    app.order_pod(&staff, &globex, "shop", "MINI").await;
    let pool = app.state.db.pool.clone();
    let pod = wait_until("the pods to be provisioned", 30, || async {
        let rows: Vec<(String, String, String)> =
            sqlx::query_as("SELECT id, name, status FROM cloudpods ORDER BY name")
                .fetch_all(&pool)
                .await
                .unwrap();
        rows.iter()
            .all(|r| r.2 == "ACTIVE")
            .then(|| rows.iter().find(|r| r.1 == "web-01").unwrap().0.clone())
    })
    .await;
    let job: String =
        sqlx::query_scalar("SELECT id FROM jobs WHERE subject = $1 ORDER BY created_at LIMIT 1")
            .bind(format!("cloudpod:{pod}"))
            .fetch_one(&pool)
            .await
            .unwrap();
    let product: String =
        sqlx::query_scalar("SELECT product_id FROM cloudpod_plans WHERE code = 'PRO'")
            .fetch_one(&pool)
            .await
            .unwrap();

    let subscription: String =
        sqlx::query_scalar("SELECT subscription_id FROM cloudpods WHERE id = $1")
            .bind(&pod)
            .fetch_one(&pool)
            .await
            .unwrap();

    let customer = app.signed_in(CUSTOMER).await;
    token_for(&customer, &["READ"]).await;
    Demo {
        app,
        staff,
        customer,
        invoice: open,
        product,
        pod,
        job,
        subscription,
    }
}

impl Demo {
    /// The main pages `who` uses, as (name, path).
    pub fn pages(&self, who: Who) -> Vec<(&'static str, String)> {
        let (invoice, product, pod, job) = (&self.invoice, &self.product, &self.pod, &self.job);
        let subscription = &self.subscription;
        let mut pages = vec![
            ("dashboard", "/".to_string()),
            ("invoices", "/billing/invoices".to_string()),
            ("invoice", format!("/billing/invoices/{invoice}")),
            ("pods", "/cloudpods".to_string()),
            ("pod", format!("/cloudpods/{pod}")),
            ("services", "/billing/subscriptions".to_string()),
            ("service", format!("/billing/subscriptions/{subscription}")),
            ("order", "/billing/subscriptions/new".to_string()),
            ("security", "/security".to_string()),
            ("mfa", "/security/mfa".to_string()),
            ("sessions", "/security/sessions".to_string()),
            ("tokens", "/security/tokens".to_string()),
            ("events", "/security/events".to_string()),
            ("policy", "/security/policy".to_string()),
            ("users", "/users".to_string()),
            ("audit", "/audit".to_string()),
            ("catalog", "/catalog".to_string()),
            ("api-reference", "/api/docs".to_string()),
        ];
        if who == Who::Staff {
            pages.extend([
                ("new-pod", "/cloudpods/new".to_string()),
                ("products", "/billing/products".to_string()),
                ("product", format!("/billing/products/{product}")),
                ("jobs", "/ops/jobs".to_string()),
                ("job", format!("/ops/jobs/{job}")),
                ("tenants", "/tenants".to_string()),
                ("bill-runs", "/billing/bill-runs".to_string()),
                ("dry-run", "/billing/bill-runs/preview".to_string()),
            ]);
        }
        pages
    }

    /// The signed-in HTTP client of `who`.
    pub fn client(&self, who: Who) -> &TestClient {
        match who {
            Who::Staff => &self.staff,
            Who::Customer => &self.customer,
        }
    }

    /// A page that does not exist: the 404 page inside the shell.
    pub fn missing(&self) -> String {
        format!("/billing/invoices/{}", mpanel::db::new_id())
    }
}

pub fn email(who: Who) -> &'static str {
    match who {
        Who::Staff => crate::helpers::OWNER_EMAIL,
        Who::Customer => CUSTOMER,
    }
}

pub async fn sign_in(b: &Browser, base: &str, who: Who) {
    b.goto(&format!("{base}/login")).await;
    b.fill("E-mail", email(who)).await;
    b.fill("Password", PASSWORD).await;
    b.press("Sign in").await;
    b.expect_text("Sign out").await;
}

pub async fn js(b: &Browser, script: &str) -> serde_json::Value {
    b.client.execute(script, vec![]).await.unwrap()
}

/// Resizes the window so that the page's viewport is `width` × `height` CSS pixels (the
/// window's frame takes some of the window: made up once).
pub async fn viewport(b: &Browser, width: u32, height: u32) {
    b.client.set_window_size(width, height).await.unwrap();
    let inner = js(b, "return [window.innerWidth, window.innerHeight]").await;
    let (w, h) = (
        inner[0].as_u64().unwrap() as u32,
        inner[1].as_u64().unwrap() as u32,
    );
    if (w, h) != (width, height) {
        b.client
            .set_window_size(
                width + width.saturating_sub(w),
                height + height.saturating_sub(h),
            )
            .await
            .unwrap();
    }
    let inner = js(b, "return window.innerWidth").await.as_u64().unwrap();
    assert!(
        inner <= u64::from(width) + 10,
        "the window could not be made {width} px wide (inner width {inner})"
    );
}

/// The relative luminance (0 black … 1 white) of the page's background (the body's, or the
/// root's where the body is transparent, as with Pico).
pub async fn background_luminance(b: &Browser) -> f64 {
    js(
        b,
        r#"const paint = e => getComputedStyle(e).backgroundColor.match(/[\d.]+/g).map(Number);
        let c = paint(document.body);
        if (c.length > 3 && c[3] === 0) c = paint(document.documentElement);
        const [r, g, bl] = c.slice(0, 3).map(v => { v /= 255;
          return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
        return 0.2126 * r + 0.7152 * g + 0.0722 * bl;"#,
    )
    .await
    .as_f64()
    .unwrap()
}
