//! The web shell: pages fit the window at desktop and phone widths, the PDF link with
//! JavaScript on, error pages inside the shell, one message per action and focus after swaps.

use std::time::Duration;

use fantoccini::Locator;
use reqwest::StatusCode;

use crate::browser::Browser;
use crate::helpers::{OWNER_EMAIL, PASSWORD, TestApp, TestClient, location, wait_until};

const CUSTOMER: &str = "owner@acme.test";

/// An operator, a customer tenant with its owner, an issued invoice and an active pod.
async fn world() -> (TestApp, TestClient, String, String) {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let tenant = app.create_tenant(&owner, "acme").await;
    app.create_user(&owner, &tenant, CUSTOMER, "OWNER").await;
    let res = owner
        .post(
            "/billing/invoices",
            &[("tenant_id", tenant.as_str()), ("currency", "")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let invoice = location(&res)
        .trim_start_matches("/billing/invoices/")
        .to_string();
    let res = owner
        .post(
            &format!("/billing/invoices/{invoice}/lines"),
            &[
                ("kind", "ITEM"),
                (
                    "description",
                    "Managed hosting with a rather long description, November",
                ),
                ("quantity", "2"),
                ("unit_price", "25.00"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = owner
        .post(&format!("/billing/invoices/{invoice}/issue"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    app.order_pod(&owner, &tenant, "web-01", "MINI").await;
    let pool = app.state.db.pool.clone();
    let pod = wait_until("the pod to be provisioned", 20, || async {
        let (id, s): (String, String) =
            sqlx::query_as("SELECT id, status FROM cloudpods WHERE name = 'web-01'")
                .fetch_one(&pool)
                .await
                .unwrap();
        (s == "ACTIVE").then_some(id)
    })
    .await;
    (app, owner, invoice, pod)
}

async fn sign_in(b: &Browser, base: &str, email: &str) {
    b.goto(&format!("{base}/login")).await;
    b.fill("E-mail", email).await;
    b.fill("Password", PASSWORD).await;
    b.press("Sign in").await;
    b.expect_text("Sign out").await;
}

async fn js(b: &Browser, script: &str) -> serde_json::Value {
    b.client.execute(script, vec![]).await.unwrap()
}

/// Resizes the window so that the page's viewport is `width` CSS pixels wide.
async fn viewport(b: &Browser, width: u32) {
    b.client.set_window_size(width, 900).await.unwrap();
    let inner = js(b, "return window.innerWidth").await.as_u64().unwrap() as u32;
    if inner != width {
        // the window frame takes some of it: make up the difference once
        b.client
            .set_window_size(width + (width.max(inner) - inner), 900)
            .await
            .unwrap();
    }
    let inner = js(b, "return window.innerWidth").await.as_u64().unwrap();
    assert!(
        inner <= u64::from(width) + 10,
        "the window could not be made {width} px wide (inner width {inner})"
    );
}

async fn assert_fits(b: &Browser, what: &str) {
    let v = js(
        b,
        "return [document.documentElement.scrollWidth, window.innerWidth]",
    )
    .await;
    let (scroll, inner) = (v[0].as_u64().unwrap(), v[1].as_u64().unwrap());
    if scroll > inner {
        b.screenshot(&format!("overflow-{}", what.replace(['/', ' '], "_")))
            .await;
    }
    assert!(
        scroll <= inner,
        "{what}: the page is {scroll} px wide in a {inner} px window"
    );
}

/// At 1280 px and at 390 px no main page is wider than the window, for an operator and for
/// a customer; on the phone the navigation sits behind the Menu button.
#[tokio::test]
async fn main_pages_fit_the_window_on_desktop_and_phone() {
    let (app, _owner, invoice, pod) = world().await;
    let pages = [
        "/".to_string(),
        "/billing/invoices".to_string(),
        format!("/billing/invoices/{invoice}"),
        "/cloudpods".to_string(),
        format!("/cloudpods/{pod}"),
        "/security".to_string(),
        "/users".to_string(),
    ];
    for email in [OWNER_EMAIL, CUSTOMER] {
        let b = Browser::start().await;
        sign_in(&b, &app.base, email).await;
        for width in [1280, 390] {
            viewport(&b, width).await;
            for page in &pages {
                b.goto(&format!("{}{page}", app.base)).await;
                b.expect_text("Sign out").await;
                assert_fits(&b, &format!("{email} {page} at {width} px")).await;
                let who = email.replace(['@', '.'], "_");
                let name = page.trim_start_matches('/').replace('/', "_");
                b.screenshot(&format!("shell-{who}-{width}-{name}")).await;
            }
            let sidebar_shown = js(
                &b,
                "return getComputedStyle(document.getElementById('sidebar')).display !== 'none'",
            )
            .await;
            if width == 390 {
                assert_eq!(sidebar_shown, false, "the sidebar folds away on a phone");
                b.client
                    .find(Locator::XPath("//label[normalize-space(.)='Menu']"))
                    .await
                    .unwrap()
                    .click()
                    .await
                    .unwrap();
                b.follow("Invoices").await;
                b.expect_heading("Invoices").await;
            } else {
                assert_eq!(sidebar_shown, true, "the sidebar is shown on a desktop");
            }
        }
        b.stop().await;
    }
}

/// With JavaScript on, Download PDF gets the PDF and leaves the page as it was.
#[tokio::test]
async fn download_pdf_with_javascript_keeps_the_page() {
    let (app, _owner, invoice, _pod) = world().await;
    let b = Browser::start().await;
    sign_in(&b, &app.base, OWNER_EMAIL).await;
    b.goto(&format!("{}/billing/invoices/{invoice}", app.base))
        .await;
    b.expect_text("Status: Issued").await;
    let heading = b
        .client
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let link = b
        .client
        .find(Locator::LinkText("Download PDF"))
        .await
        .unwrap();
    let href = link.attr("href").await.unwrap().unwrap();
    link.click().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    b.expect_heading(&heading).await;
    let html = b.client.source().await.unwrap();
    assert!(!html.contains("%PDF"), "the page was replaced by the PDF");
    // what the link answers, fetched as the browser would (same cookies)
    let ct = b
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(arguments[0]).then(r => done(r.status + ' ' + r.headers.get('content-type')));",
            vec![serde_json::json!(href)],
        )
        .await
        .unwrap();
    assert_eq!(ct, "200 application/pdf");
    b.stop().await;
}

/// A missing invoice, asked for by a signed-in customer: the 404 page keeps the shell.
#[tokio::test]
async fn an_error_page_keeps_the_navigation_and_sign_out() {
    let (app, _owner, _invoice, _pod) = world().await;
    let b = Browser::start().await;
    sign_in(&b, &app.base, CUSTOMER).await;
    b.goto(&format!(
        "{}/billing/invoices/{}",
        app.base,
        mpanel::db::new_id()
    ))
    .await;
    b.expect_heading("Not found").await;
    b.client
        .find(Locator::XPath(
            "//nav[@aria-label='Main']//a[normalize-space(.)='Invoices']",
        ))
        .await
        .expect("the navigation on the error page");
    b.press("Sign out").await;
    b.expect_heading("Sign in").await;
    b.stop().await;
}

/// An htmx action replaces the last message (no stale "Draft created") and focus lands in
/// the updated region.
#[tokio::test]
async fn one_message_per_action_and_focus_in_the_updated_region() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    app.create_tenant(&owner, "acme").await;
    let b = Browser::start().await;
    sign_in(&b, &app.base, OWNER_EMAIL).await;
    b.goto(&format!("{}/billing/invoices/new", app.base)).await;
    b.choose("Customer tenant", "Tenant acme").await;
    b.press("Create draft").await;
    b.expect_text("Draft created").await;
    b.client
        .find(Locator::XPath("//summary[normalize-space(.)='Add a line']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.fill("Description", "Managed hosting").await;
    b.fill("Quantity", "1").await;
    b.fill(
        "Unit price (discounts: the amount off; adjustments may be negative)",
        "25.00",
    )
    .await;
    b.press("Add line").await;
    b.expect_text("Line added.").await;
    b.expect_gone("Draft created").await;
    let inside = wait_until("focus in the updated region", 5, || async {
        let v = js(
            &b,
            "const a = document.activeElement;
             return a && a.closest('#invoice') ? a.textContent.trim() : null;",
        )
        .await;
        v.as_str().map(str::to_string)
    })
    .await;
    assert!(
        inside.contains("Line added."),
        "focus is on {inside:?}, not the message"
    );
    b.stop().await;
}

/// In a dark colour scheme the notices, messages and the delete button keep readable colour
/// pairs (WCAG AA, 4.5:1): no light box under light text, no white delete button.
#[tokio::test]
async fn dark_mode_keeps_readable_colour_pairs() {
    let (app, _owner, _invoice, pod) = world().await;
    let b = Browser::start_with(&["--blink-settings=preferredColorScheme=0"]).await;
    sign_in(&b, &app.base, OWNER_EMAIL).await;
    b.goto(&format!("{}/cloudpods/{pod}", app.base)).await;
    b.expect_text("No hypervisor is connected").await;
    let dark = js(
        &b,
        "return matchMedia('(prefers-color-scheme: dark)').matches",
    )
    .await;
    assert_eq!(dark, true, "the browser did not switch to a dark scheme");
    b.screenshot("shell-pod-dark").await;
    js(
        &b,
        "document.querySelector('.danger-zone').scrollIntoView(); return 0",
    )
    .await;
    b.screenshot("shell-pod-dark-actions").await;
    let report = js(
        &b,
        r#"
        function rgb(s) { const m = s.match(/[\d.]+/g).map(Number); return m; }
        function lum(c) {
          const [r, g, b] = c.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
          return 0.2126 * r + 0.7152 * g + 0.0722 * b;
        }
        function bg(el) {
          for (let e = el; e; e = e.parentElement) {
            const c = rgb(getComputedStyle(e).backgroundColor);
            if (c.length < 4 || c[3] > 0) return c;
          }
          return [255, 255, 255];
        }
        const out = [];
        for (const sel of ['.notice', 'button.danger', '.flash', '.badge']) {
          for (const el of document.querySelectorAll(sel)) {
            const fg = rgb(getComputedStyle(el).color), back = bg(el);
            const [a, b] = [lum(fg), lum(back)].sort((x, y) => y - x);
            out.push([sel, (a + 0.05) / (b + 0.05), lum(back)]);
          }
        }
        return out;
        "#,
    )
    .await;
    let rows = report.as_array().unwrap();
    assert!(
        rows.iter().any(|r| r[0] == "button.danger") && rows.iter().any(|r| r[0] == ".notice"),
        "{report}"
    );
    for r in rows {
        let ratio = r[1].as_f64().unwrap();
        assert!(ratio >= 4.5, "{} has a contrast of {ratio:.2}:1", r[0]);
        if r[0] == ".notice" {
            assert!(
                r[2].as_f64().unwrap() < 0.2,
                "the notice keeps a light background in dark mode"
            );
        }
        if r[0] == "button.danger" {
            assert!(
                r[2].as_f64().unwrap() < 0.5,
                "the delete button turned white in dark mode"
            );
        }
    }
    b.stop().await;
}
