//! The theme switch in a real browser: Dark changes the page's background at once and stays
//! through navigation (boosted links and full loads); Light wins over a dark system scheme and
//! System gives the choice back to it.

use crate::a11y::DARK_SYSTEM;
use crate::browser::Browser;
use crate::demo::{Who, background_luminance, js, sign_in};
use crate::helpers::{TestApp, wait_until};

async fn wait_for_theme(b: &Browser, theme: Option<&str>) {
    let want = serde_json::json!(theme);
    wait_until("the page to carry the chosen theme", 10, || async {
        (js(
            b,
            "return document.documentElement.getAttribute('data-theme')",
        )
        .await
            == want)
            .then_some(())
    })
    .await;
}

async fn pressed(b: &Browser) -> String {
    js(
        b,
        "return document.querySelector('.theme-switch [aria-pressed=true]').textContent.trim()",
    )
    .await
    .as_str()
    .unwrap()
    .to_string()
}

#[tokio::test]
async fn choosing_dark_changes_the_background_and_persists_across_navigation() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let b = Browser::start().await;
    sign_in(&b, &app.base, Who::Staff).await;
    assert!(background_luminance(&b).await > 0.8, "starts light");
    assert_eq!(pressed(&b).await, "System");

    b.press("Dark").await;
    wait_for_theme(&b, Some("dark")).await;
    assert!(
        background_luminance(&b).await < 0.2,
        "Dark did not darken the page"
    );
    assert_eq!(pressed(&b).await, "Dark");
    assert_eq!(b.path().await, "/", "the switch came back to the same page");

    // a boosted link, then a full page load, then a fresh tab's worth of navigation
    b.follow("Invoices").await;
    b.expect_heading("Invoices").await;
    assert!(background_luminance(&b).await < 0.2, "lost after a link");
    b.goto(&format!("{}/security/sessions", app.base)).await;
    b.expect_text("Sign out").await;
    wait_for_theme(&b, Some("dark")).await;
    assert!(
        background_luminance(&b).await < 0.2,
        "lost after a page load"
    );
    assert_eq!(pressed(&b).await, "Dark");
    assert_eq!(b.path().await, "/security/sessions");

    // signed out, the sign-in page keeps it too
    b.press("Sign out").await;
    b.expect_heading("Sign in").await;
    wait_for_theme(&b, Some("dark")).await;
    assert!(
        background_luminance(&b).await < 0.2,
        "lost on the sign-in page"
    );
    b.stop().await;
}

#[tokio::test]
async fn light_overrides_a_dark_system_and_system_gives_it_back() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let b = Browser::start_with(&[DARK_SYSTEM]).await;
    b.goto(&format!("{}/login", app.base)).await;
    b.expect_heading("Sign in").await;
    assert!(
        background_luminance(&b).await < 0.2,
        "the system scheme is dark"
    );
    b.press("Light").await;
    wait_for_theme(&b, Some("light")).await;
    assert!(
        background_luminance(&b).await > 0.8,
        "Light did not lighten the page"
    );
    sign_in(&b, &app.base, Who::Staff).await;
    assert!(
        background_luminance(&b).await > 0.8,
        "lost after signing in"
    );
    b.press("System").await;
    wait_for_theme(&b, None).await;
    assert!(
        background_luminance(&b).await < 0.2,
        "System did not follow the dark system"
    );
    assert_eq!(pressed(&b).await, "System");
    b.stop().await;
}
