//! The account holder is e-mailed when their password changes, MFA is turned off or an API
//! token is created (issue 6), through the job queue to a real SMTP listener.

use reqwest::StatusCode;

use crate::helpers::*;

async fn wait_for_subject(smtp: &crate::mail::FakeSmtp, subject: &str) -> (Vec<String>, String) {
    wait_until(subject, 15, || async {
        smtp.received
            .lock()
            .unwrap()
            .iter()
            .find(|(_, d)| d.contains(&format!("Subject: {subject}")))
            .cloned()
    })
    .await
}

#[tokio::test]
async fn security_changes_are_mailed_to_the_account_holder() {
    let smtp = crate::mail::fake_smtp("250 2.1.5 ok\r\n").await;
    let url = smtp.url.clone();
    let app = TestApp::spawn_with(|c| c.smtp_url = Some(url)).await;
    let owner = app.setup_owner().await;

    let res = owner
        .post(
            "/account/password",
            &[
                ("current", PASSWORD),
                ("new", "another long passphrase"),
                ("confirm", "another long passphrase"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (rcpts, data) = wait_for_subject(&smtp, "Security notice: Your password was changed").await;
    assert_eq!(rcpts, vec![format!("<{OWNER_EMAIL}>")]);
    assert!(
        data.contains("127.0.0.1") && data.contains("mpanel-it/1.0"),
        "where it came from"
    );

    let expires: String = mpanel::db::Timestamp::now()
        .plus_secs(30 * 86_400)
        .to_string()
        .chars()
        .take(10)
        .collect();
    let res = owner
        .post(
            "/security/tokens",
            &[
                ("name", "ci deploy"),
                ("expires_on", expires.as_str()),
                ("scope_read", "on"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let (_, data) = wait_for_subject(
        &smtp,
        "Security notice: An API token named \"ci deploy\" was created",
    )
    .await;
    assert!(!data.contains("mpn_"), "the token itself is never mailed");

    let (secret, _codes) = app.enrol_mfa(&owner).await;
    let res = owner
        .post(
            "/security/mfa/disable",
            &[
                ("password", "another long passphrase"),
                ("code", &totp_code(&secret, 1)),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert!(
        res.status().is_redirection() || res.status().is_success(),
        "{}",
        res.status()
    );
    wait_for_subject(
        &smtp,
        "Security notice: Two-factor authentication was turned off",
    )
    .await;
}
