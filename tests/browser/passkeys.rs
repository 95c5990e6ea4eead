//! Passkeys in Chromium with its virtual authenticator (WebDriver's WebAuthn extension): the
//! real ceremony script, the browser's own WebAuthn, a CTAP2 platform authenticator that keeps
//! discoverable credentials and verifies the user.

use axum::http::Method;
use fantoccini::Locator;
use fantoccini::wd::WebDriverCompatibleCommand;
use webauthn_rs::prelude::Url;

use crate::browser::Browser;
use crate::helpers::{OWNER_EMAIL, PASSWORD, TestApp};

/// `POST /session/{id}/webauthn/authenticator` (WebAuthn Level 2, §11.3).
#[derive(Debug)]
struct AddVirtualAuthenticator;

impl WebDriverCompatibleCommand for AddVirtualAuthenticator {
    fn endpoint(&self, base: &Url, session_id: Option<&str>) -> Result<Url, url_error::E> {
        base.join(&format!(
            "session/{}/webauthn/authenticator",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &Url) -> (Method, Option<String>) {
        let body = serde_json::json!({
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": true,
            "hasUserVerification": true,
            "isUserVerified": true,
        });
        (Method::POST, Some(body.to_string()))
    }
}

mod url_error {
    pub type E = <webauthn_rs::prelude::Url as std::str::FromStr>::Err;
}

async fn with_authenticator() -> Browser {
    let b = Browser::start().await;
    b.client
        .issue_cmd(AddVirtualAuthenticator)
        .await
        .expect("chromedriver adds a virtual authenticator");
    b
}

async fn sign_in_with_password(b: &Browser, app: &TestApp) {
    b.goto(&format!("{}/login", app.public_base())).await;
    b.expect_heading("Sign in").await;
    b.fill("E-mail", OWNER_EMAIL).await;
    b.fill("Password", PASSWORD).await;
    b.press("Sign in").await;
}

async fn add_passkey(b: &Browser, app: &TestApp, name: &str) {
    b.goto(&format!("{}/security/mfa", app.public_base())).await;
    b.expect_heading("Two-factor authentication").await;
    b.fill(
        "Name for the new passkey (e.g. \"YubiKey 5\" or \"MacBook\")",
        name,
    )
    .await;
    b.press("Add a passkey").await;
    b.expect_text(&format!("Passkey \"{name}\" added.")).await;
}

#[tokio::test]
async fn register_a_passkey_then_sign_in_with_it_both_ways_and_remove_it() {
    let app = TestApp::spawn_localhost().await;
    app.setup_owner().await;
    let b = with_authenticator().await;

    sign_in_with_password(&b, &app).await;
    b.expect_heading("Welcome, owner").await;
    add_passkey(&b, &app, "MacBook").await;
    b.wait_xpath("//td[normalize-space(.)='MacBook']").await;

    // password, then the passkey
    b.press("Sign out").await;
    b.expect_text("You have signed out.").await;
    sign_in_with_password(&b, &app).await;
    b.expect_heading("Use your passkey").await;
    assert_eq!(b.path().await, "/login/mfa");
    b.press("Use my passkey").await;
    b.expect_heading("Welcome, owner").await;
    assert_eq!(b.path().await, "/");

    // the passkey alone
    b.press("Sign out").await;
    b.expect_text("You have signed out.").await;
    b.expect_heading("Sign in").await;
    b.press("Sign in with a passkey").await;
    b.expect_heading("Welcome, owner").await;

    // remove it: the password again, and a confirmation
    b.goto(&format!("{}/security/mfa", app.public_base())).await;
    b.wait_xpath("//summary[normalize-space(.)='Remove MacBook']")
        .await
        .click()
        .await
        .unwrap();
    b.fill("Your password", PASSWORD).await;
    b.field("Yes, remove the passkey MacBook")
        .await
        .click()
        .await
        .unwrap();
    b.press("Remove passkey").await;
    b.expect_text("Passkey \"MacBook\" removed.").await;
    b.expect_text("You have no passkeys yet.").await;
    assert!(
        b.client
            .find(Locator::XPath("//td[normalize-space(.)='MacBook']"))
            .await
            .is_err()
    );
    b.stop().await;
}

#[tokio::test]
async fn a_tenant_requiring_passkeys_refuses_codes_from_its_staff() {
    let app = TestApp::spawn_localhost().await;
    let owner = app.setup_owner().await;
    let (secret, _) = app.enrol_mfa(&owner).await;
    let res = owner
        .post(
            "/security/policy",
            &[
                ("min_password_length", "12"),
                ("reject_common", "on"),
                ("passkeys_min_role", "ADMIN"),
            ],
        )
        .await;
    assert_eq!(res.status(), reqwest::StatusCode::SEE_OTHER);
    let b = with_authenticator().await;

    // no passkey yet: the app's code lets the owner in, to the MFA page only
    sign_in_with_password(&b, &app).await;
    b.expect_heading("Enter your authentication code").await;
    b.fill(
        "Authentication code or recovery code",
        &crate::helpers::totp_code(&secret, 1),
    )
    .await;
    b.press("Verify").await;
    b.expect_heading("Two-factor authentication").await;
    b.expect_text("Your organisation requires a passkey for your role.")
        .await;
    add_passkey(&b, &app, "Work key").await;

    // now only the passkey is accepted
    b.press("Sign out").await;
    b.expect_text("You have signed out.").await;
    sign_in_with_password(&b, &app).await;
    b.expect_heading("Use your passkey").await;
    b.expect_text("codes from your authenticator app are not accepted")
        .await;
    assert!(
        b.client
            .find(Locator::XPath("//input[@name='code']"))
            .await
            .is_err(),
        "no code field"
    );
    b.press("Use my passkey").await;
    b.expect_heading("Welcome, owner").await;
    b.stop().await;
}
