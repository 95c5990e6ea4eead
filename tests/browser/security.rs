use crate::browser::Browser;
use crate::helpers::{OWNER_EMAIL, PASSWORD, TestApp, totp_code};

/// Enrol in MFA by reading the displayed secret, sign out, sign in again with a code computed
/// from that secret.
#[tokio::test]
async fn enrol_in_mfa_then_sign_in_with_a_computed_code() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let b = Browser::start().await;

    b.goto(&format!("{}/login", app.base)).await;
    b.expect_heading("Sign in").await;
    b.fill("E-mail", OWNER_EMAIL).await;
    b.fill("Password", PASSWORD).await;
    b.press("Sign in").await;
    b.expect_heading("Welcome, owner").await;

    b.follow("Security").await;
    b.expect_heading("Security").await;
    b.follow("Set up two-factor authentication").await;
    b.expect_heading("Two-factor authentication").await;
    b.expect_text("Status: off").await;
    b.press("Set up an authenticator app").await;
    b.expect_text("Status: set-up in progress.").await;
    let secret = b.value_of("Secret key").await;
    assert!(secret.len() >= 32, "secret shown as text: {secret}");
    // a wrong code keeps MFA off, with the message beside the field
    let wrong = if totp_code(&secret, 0) == "000000" {
        "111111"
    } else {
        "000000"
    };
    b.fill("Code from the app", wrong).await;
    b.press("Turn on two-factor authentication").await;
    b.expect_text("That code does not match.").await;
    b.fill("Code from the app", &totp_code(&secret, 0)).await;
    b.press("Turn on two-factor authentication").await;
    b.expect_heading("Your recovery codes").await;
    b.expect_text("Two-factor authentication is on.").await;
    b.expect_text("Print the codes").await;
    b.follow("I have saved my recovery codes").await;
    b.expect_text("Status: on").await;

    b.press("Sign out").await;
    b.expect_heading("Sign in").await;
    b.fill("E-mail", OWNER_EMAIL).await;
    b.fill("Password", PASSWORD).await;
    b.press("Sign in").await;
    b.expect_heading("Enter your authentication code").await;
    assert_eq!(b.path().await, "/login/mfa");
    // the next step's code: the current one was used up by the enrolment (±1 step window)
    b.fill(
        "Authentication code or recovery code",
        &totp_code(&secret, 1),
    )
    .await;
    b.press("Verify").await;
    b.expect_heading("Welcome, owner").await;
    assert_eq!(b.path().await, "/");

    b.stop().await;
}
