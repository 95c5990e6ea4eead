//! The screenshots in `docs/screenshots/`: the main pages at 1280 px, at 390 px and in dark
//! mode, from the demo panel. Ignored in the normal run; `scripts/screenshots` runs it.

use std::path::PathBuf;

use fantoccini::Locator;

use crate::browser::Browser;
use crate::demo::{self, Demo, Who, sign_in, viewport};

/// Where the PNGs go: `$MPANEL_SCREENSHOT_DIR`, else `docs/screenshots` in the repository.
fn out_dir() -> PathBuf {
    std::env::var_os("MPANEL_SCREENSHOT_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots"),
        PathBuf::from,
    )
}

/// (file name, page name from `Demo::pages` or "login"/"menu") for one browser session.
struct Shot {
    file: &'static str,
    page: &'static str,
}

const fn shot(file: &'static str, page: &'static str) -> Shot {
    Shot { file, page }
}

async fn take(b: &Browser, d: &Demo, who: Who, shots: &[Shot]) {
    let dir = out_dir();
    std::fs::create_dir_all(&dir).unwrap();
    for s in shots {
        if s.page == "menu" {
            b.goto(&format!("{}/", d.app.base)).await;
            b.expect_text("Sign out").await;
            b.client
                .find(Locator::XPath("//label[normalize-space(.)='Menu']"))
                .await
                .unwrap()
                .click()
                .await
                .unwrap();
        } else {
            let path = d
                .pages(who)
                .into_iter()
                .find(|(name, _)| *name == s.page)
                .unwrap_or_else(|| panic!("no page {} for {who:?}", s.page))
                .1;
            b.goto(&format!("{}{path}", d.app.base)).await;
            b.expect_text("Sign out").await;
        }
        let png = b.client.screenshot().await.unwrap();
        std::fs::write(dir.join(format!("{}.png", s.file)), png).unwrap();
    }
}

/// One browser at `width`×`height`, optionally switched to Dark on the sign-in page (which
/// is then shot as `login_shot`), signed in as `who`, taking `shots`.
async fn session(
    d: &Demo,
    who: Who,
    (width, height): (u32, u32),
    dark: bool,
    login_shot: Option<&str>,
    shots: &[Shot],
) {
    let b = Browser::start().await;
    viewport(&b, width, height).await;
    b.goto(&format!("{}/login", d.app.base)).await;
    if dark {
        b.press("Dark").await;
    }
    b.expect_heading("Sign in").await;
    if let Some(name) = login_shot {
        let png = b.client.screenshot().await.unwrap();
        std::fs::write(out_dir().join(format!("{name}.png")), png).unwrap();
    }
    sign_in(&b, &d.app.base, who).await;
    take(&b, d, who, shots).await;
    b.stop().await;
}

#[tokio::test]
#[ignore = "writes docs/screenshots; run by scripts/screenshots"]
async fn regenerate_docs_screenshots() {
    let d = demo::seed().await;
    std::fs::create_dir_all(out_dir()).unwrap();
    let desktop = (1280, 800);
    let phone = (390, 844);
    session(
        &d,
        Who::Staff,
        desktop,
        false,
        Some("desktop-login"),
        &[
            shot("desktop-staff-dashboard", "dashboard"),
            shot("desktop-staff-invoices", "invoices"),
            shot("desktop-staff-invoice", "invoice"),
            shot("desktop-staff-pod", "pod"),
            shot("desktop-staff-jobs", "jobs"),
            shot("desktop-staff-tenants", "tenants"),
        ],
    )
    .await;
    session(
        &d,
        Who::Customer,
        desktop,
        false,
        None,
        &[shot("desktop-customer-security", "security")],
    )
    .await;
    session(
        &d,
        Who::Customer,
        phone,
        false,
        Some("phone-login"),
        &[
            shot("phone-customer-dashboard", "dashboard"),
            shot("phone-customer-menu", "menu"),
            shot("phone-customer-invoice", "invoice"),
            shot("phone-customer-pod", "pod"),
        ],
    )
    .await;
    session(
        &d,
        Who::Staff,
        desktop,
        true,
        None,
        &[
            shot("dark-desktop-staff-dashboard", "dashboard"),
            shot("dark-desktop-staff-invoice", "invoice"),
        ],
    )
    .await;
    session(
        &d,
        Who::Customer,
        phone,
        true,
        None,
        &[
            shot("dark-phone-customer-invoices", "invoices"),
            shot("dark-phone-customer-pod", "pod"),
        ],
    )
    .await;
}
