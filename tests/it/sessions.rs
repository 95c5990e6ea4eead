//! Sessions live in the database (tower-sessions over our `sessions` table, axum-login over
//! our users): two `mpanel serve` processes over one database share them, and revoking a
//! session in one is refused by the other on its very next request.

use reqwest::StatusCode;

use crate::helpers::*;

/// A second server over the same database and secret as `app` (another `mpanel serve`).
async fn second_instance(app: &TestApp) -> (String, tokio::sync::oneshot::Sender<()>) {
    let mut config = app.state.config.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    config.bind = listener.local_addr().unwrap();
    let state = mpanel::app::build_state(config)
        .await
        .expect("second instance");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(mpanel::app::serve(state, listener, async {
        let _ = rx.await;
    }));
    (base, tx)
}

#[tokio::test]
async fn a_session_revoked_on_one_instance_is_refused_by_the_other() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let laptop = app.signed_in(OWNER_EMAIL).await;
    let phone = app.signed_in(OWNER_EMAIL).await;
    let (other_base, _stop) = second_instance(&app).await;

    // the laptop's cookie works on the other instance too
    let cookie = laptop.cookie("mpanel_session").expect("session cookie");
    let elsewhere = client_for(&other_base);
    elsewhere.set_cookie("mpanel_session", &cookie);
    let res = elsewhere.get("/").await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "signed in on the second instance"
    );

    // the phone ends the laptop's session on the first instance …
    let laptop_id = mpanel::auth::service::session_id_for(&cookie);
    let res = phone
        .post(
            &format!("/security/sessions/{laptop_id}/revoke"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // … and the second instance refuses it on the next request, clearing the cookie
    let res = elsewhere.get("/").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login");
    assert!(
        res.headers()
            .get_all("set-cookie")
            .iter()
            .any(|v| v.to_str().unwrap().starts_with("mpanel_session=;")),
        "the dead cookie is cleared"
    );
    // the phone, untouched, still works on both
    let phone_cookie = phone.cookie("mpanel_session").unwrap();
    let phone_elsewhere = client_for(&other_base);
    phone_elsewhere.set_cookie("mpanel_session", &phone_cookie);
    assert_eq!(phone_elsewhere.get("/").await.status(), StatusCode::OK);
    assert_eq!(phone.get("/").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_password_change_ends_the_other_sessions_and_keeps_this_one() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let other = app.signed_in(OWNER_EMAIL).await;
    let new_password = "a brand new passphrase here";
    let res = owner
        .post(
            "/account/password",
            &[
                ("current", PASSWORD),
                ("new", new_password),
                ("confirm", new_password),
            ],
        )
        .await;
    assert!(res.status().is_success() || res.status() == StatusCode::SEE_OTHER);
    // this browser stays signed in (its session is bound to the new password) …
    assert_eq!(owner.get("/").await.status(), StatusCode::OK);
    // … the other one is out
    let res = other.get("/").await;
    assert_eq!(location(&res), "/login");
}
