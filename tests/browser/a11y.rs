//! Accessibility of every main page: axe-core (vendored, see `vendor/README.md`), run as the
//! staff admin and as a customer owner, in light and in dark, finds no serious or critical
//! violation; and no main page is wider than the window at 1280 or 390 px.
//!
//! Dark comes both ways a visitor gets it: the staff pass follows a dark system scheme, the
//! customer pass chooses Dark with the theme switch on the sign-in page.

use reqwest::StatusCode;

use crate::browser::Browser;
use crate::demo::{self, Demo, Who, background_luminance, js, sign_in, viewport};

const AXE: &str = include_str!("vendor/axe.min.js");

/// A chromium switch that makes the system colour scheme dark.
pub const DARK_SYSTEM: &str = "--blink-settings=preferredColorScheme=0";

/// The serious and critical violations axe finds on the current page, one line per element:
/// rule id, impact, target, what is wrong.
pub async fn axe_violations(b: &Browser) -> Vec<String> {
    let loaded = js(b, "return typeof window.axe").await;
    if loaded != "object" {
        let after = js(b, &format!("{AXE}\n;return typeof window.axe;")).await;
        assert_eq!(after, "object", "axe-core did not load into the page");
    }
    let found = b
        .client
        .execute_async(
            r#"const done = arguments[arguments.length - 1];
            axe.run(document, { resultTypes: ['violations'] })
              .then(r => done(r.violations
                .filter(v => v.impact === 'serious' || v.impact === 'critical')
                .flatMap(v => v.nodes.map(n =>
                  `${v.id} (${v.impact}) at ${n.target.join(' ')}: ${v.help}. ${n.failureSummary}`))))
              .catch(e => done(['axe-core failed: ' + e]));"#,
            vec![],
        )
        .await
        .unwrap();
    found
        .as_array()
        .expect("a list of violations")
        .iter()
        .map(|v| v.as_str().unwrap_or_default().replace('\n', " "))
        .collect()
}

async fn check(b: &Browser, what: &str, failures: &mut Vec<String>) {
    for v in axe_violations(b).await {
        failures.push(format!("{what}: {v}"));
    }
}

/// Every page of `who`, in light and in dark: the sign-in page, the main pages, a 404 page.
async fn axe_pass(d: &Demo, who: Who, dark: bool) -> Vec<String> {
    let base = &d.app.base;
    let b = if dark && who == Who::Staff {
        Browser::start_with(&[DARK_SYSTEM]).await
    } else {
        Browser::start().await
    };
    let scheme = if dark { "dark" } else { "light" };
    let mut failures = Vec::new();
    b.goto(&format!("{base}/login")).await;
    if dark && who == Who::Customer {
        b.press("Dark").await;
        b.expect_heading("Sign in").await;
    }
    let is_dark = background_luminance(&b).await < 0.2;
    assert_eq!(
        is_dark, dark,
        "{who:?}: the page is not in the {scheme} scheme"
    );
    check(&b, &format!("{who:?} {scheme} /login"), &mut failures).await;
    sign_in(&b, base, who).await;
    for (_, path) in d.pages(who) {
        let status = d.client(who).get(&path).await.status();
        assert_eq!(status, StatusCode::OK, "{who:?} cannot open {path}");
        b.goto(&format!("{base}{path}")).await;
        b.expect_text("Sign out").await;
        check(&b, &format!("{who:?} {scheme} {path}"), &mut failures).await;
    }
    b.goto(&format!("{base}{}", d.missing())).await;
    b.expect_heading("Not found").await;
    check(&b, &format!("{who:?} {scheme} 404 page"), &mut failures).await;
    b.stop().await;
    failures
}

fn assert_none(failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} serious or critical accessibility violations:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test]
async fn staff_pages_have_no_serious_violations_in_light_and_dark() {
    let d = demo::seed().await;
    let mut failures = axe_pass(&d, Who::Staff, false).await;
    failures.extend(axe_pass(&d, Who::Staff, true).await);
    assert_none(failures);
}

#[tokio::test]
async fn customer_pages_have_no_serious_violations_in_light_and_dark() {
    let d = demo::seed().await;
    let mut failures = axe_pass(&d, Who::Customer, false).await;
    failures.extend(axe_pass(&d, Who::Customer, true).await);
    assert_none(failures);
}

/// The document is no wider than the window (`scrollWidth <= innerWidth`); when it is, the
/// innermost elements reaching past the window's edge are named.
async fn overflow(b: &Browser, what: &str) -> Option<String> {
    let v = js(
        b,
        r#"const w = window.innerWidth;
        const clipped = e => { for (let a = e.parentElement; a; a = a.parentElement)
          if (getComputedStyle(a).overflowX !== 'visible') return true; return false; };
        const past = [...document.querySelectorAll('body *')].filter(e => {
          const r = e.getBoundingClientRect();
          return r.right > w + 1 && r.width > 0 && !clipped(e)
            && ![...e.children].some(c => c.getBoundingClientRect().right > w + 1);
        }).slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
          + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().replace(/\s+/g, '.') : '')
          + ' (right edge ' + Math.round(e.getBoundingClientRect().right) + ')');
        return [document.documentElement.scrollWidth, w, past.join(', ')]"#,
    )
    .await;
    let (scroll, inner) = (v[0].as_u64().unwrap(), v[1].as_u64().unwrap());
    (scroll > inner).then(|| {
        format!(
            "{what}: the page is {scroll} px wide in a {inner} px window; past the edge: {}",
            v[2].as_str().unwrap_or_default()
        )
    })
}

/// Every main page of both roles, the sign-in page and a 404 page fit the window at 1280 px
/// and at 390 px.
#[tokio::test]
async fn every_main_page_fits_the_window_at_1280_and_390_px() {
    let d = demo::seed().await;
    let base = &d.app.base;
    let mut failures = Vec::new();
    for who in [Who::Staff, Who::Customer] {
        let b = Browser::start().await;
        for width in [1280, 390] {
            viewport(&b, width, 900).await;
            b.goto(&format!("{base}/login")).await;
            b.expect_heading("Sign in").await;
            failures.extend(overflow(&b, &format!("/login at {width} px")).await);
        }
        sign_in(&b, base, who).await;
        for width in [1280, 390] {
            viewport(&b, width, 900).await;
            let mut paths: Vec<String> = d.pages(who).into_iter().map(|(_, p)| p).collect();
            paths.push(d.missing());
            for path in paths {
                b.goto(&format!("{base}{path}")).await;
                b.expect_text("Sign out").await;
                failures.extend(overflow(&b, &format!("{who:?} {path} at {width} px")).await);
            }
        }
        b.stop().await;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
