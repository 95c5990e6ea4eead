//! Members join by invitation: the inviter gets one answer whatever the address (no e-mail
//! oracle), the invitee sets a password through a single-use, expiring link.

use reqwest::StatusCode;

use crate::helpers::*;

struct World {
    app: TestApp,
    staff: TestClient,
    acme: String,
    globex: String,
    acme_owner: TestClient,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let staff = app.setup_owner().await;
    let acme = app.create_tenant(&staff, "acme").await;
    let globex = app.create_tenant(&staff, "globex").await;
    app.create_user(&staff, &acme, "owner@acme.test", "OWNER")
        .await;
    app.create_user(&staff, &globex, "taken@globex.test", "MEMBER")
        .await;
    let acme_owner = app.signed_in("owner@acme.test").await;
    World {
        app,
        staff,
        acme,
        globex,
        acme_owner,
    }
}

async fn invite(c: &TestClient, tenant: &str, email: &str, role: &str) -> reqwest::Response {
    c.post(
        "/users",
        &[
            ("tenant_id", tenant),
            ("email", email),
            ("name", ""),
            ("role", role),
        ],
    )
    .await
}

async fn open_invitation_id(app: &TestApp, email: &str) -> String {
    sqlx::query_scalar(
        "SELECT id FROM invitations WHERE email = $1 AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(email)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap()
}

async fn audit_count(app: &TestApp, action: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) FROM audit_log WHERE action = '{action}'"
    ))
    .await
}

/// The flash shown on the page a redirect leads to, with the address replaced by `<email>`.
async fn answer_after(
    c: &TestClient,
    res: reqwest::Response,
    email: &str,
) -> (u16, String, String) {
    let status = res.status().as_u16();
    let to = location(&res);
    let html = c.get(&to).await.text().await.unwrap();
    let flash = between(&html, "role=\"status\">", "</div>")
        .unwrap_or("")
        .trim()
        .replace(email, "<email>");
    (status, to, flash)
}

#[tokio::test]
async fn an_address_with_an_account_elsewhere_gets_the_same_answer_as_a_fresh_one() {
    let w = world().await;
    let users_before = w.app.count("SELECT COUNT(*) FROM users").await;

    let res = invite(&w.acme_owner, "", "taken@globex.test", "ADMIN").await;
    let taken = answer_after(&w.acme_owner, res, "taken@globex.test").await;
    let res = invite(&w.acme_owner, "", "fresh@acme.test", "ADMIN").await;
    let fresh = answer_after(&w.acme_owner, res, "fresh@acme.test").await;
    assert_eq!(taken, fresh, "identical status, redirect and flash");
    assert_eq!(taken.0, 303);
    assert_eq!(taken.1, "/users");
    assert!(
        taken.2.contains("Invitation sent to <email>."),
        "{}",
        taken.2
    );

    // htmx requests too
    let a = w
        .acme_owner
        .post_htmx(
            "/users",
            &[("email", "taken@globex.test"), ("role", "VIEWER")],
        )
        .await;
    let b = w
        .acme_owner
        .post_htmx(
            "/users",
            &[("email", "fresh@acme.test"), ("role", "VIEWER")],
        )
        .await;
    assert_eq!((a.status(), location(&a)), (b.status(), location(&b)));

    // both are listed alike as pending invitations
    let html = w.acme_owner.get("/users").await.text().await.unwrap();
    let list = between(&html, "Pending invitations", "</section>").unwrap();
    assert!(list.contains("taken@globex.test") && list.contains("fresh@acme.test"));
    assert!(
        !list.contains("Test User"),
        "nothing about the other account shows"
    );

    // nothing was created, and the account holder is told why
    assert_eq!(
        w.app.count("SELECT COUNT(*) FROM users").await,
        users_before
    );
    let tenant: String =
        sqlx::query_scalar("SELECT tenant_id FROM users WHERE email = 'taken@globex.test'")
            .fetch_one(&w.app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(tenant, w.globex, "the account stays where it was");
    let notices = w
        .app
        .wait_for_mails_containing("taken@globex.test", "already has an mPanel account", 2)
        .await;
    assert!(notices[0].contains("Tenant acme"));
    assert!(
        notices.iter().all(|m| invite_link_in(m).is_none()),
        "no link for an existing account"
    );
    let link = w.app.wait_for_invite_link("fresh@acme.test", &[]).await;
    assert!(link.starts_with("/invite/"));
}

#[tokio::test]
async fn an_invitation_link_sets_a_password_once_and_the_member_signs_in_with_the_role() {
    let w = world().await;
    // staff invite into a customer tenant, choosing it
    let res = invite(&w.staff, &w.acme, "new@acme.test", "ADMIN").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let link = w.app.wait_for_invite_link("new@acme.test", &[]).await;
    let eml = &w.app.delivered_mails_to("new@acme.test")[0];
    assert!(
        eml.contains(&format!("{}{link}", w.app.base)),
        "absolute link in the mail"
    );

    let visitor = w.app.client();
    let res = visitor.get(&link).await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("Join Tenant acme") && html.contains("new@acme.test"));
    // the tenant's password policy applies
    let res = visitor
        .post(
            &link,
            &[
                ("name", "New Admin"),
                ("password", "short"),
                ("confirm", "short"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"e-password\"") && html.contains("value=\"New Admin\""));
    let res = visitor
        .post(
            &link,
            &[
                ("name", "New Admin"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login");
    let html = visitor.get("/login").await.text().await.unwrap();
    assert!(html.contains("Your account is ready: sign in."));

    let (tenant, role, name, must_change): (String, String, String, i64) = sqlx::query_as(
        "SELECT tenant_id, role, name, must_change_password FROM users WHERE email = 'new@acme.test'",
    )
    .fetch_one(&w.app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(
        (tenant, role.as_str(), name.as_str(), must_change),
        (w.acme.clone(), "ADMIN", "New Admin", 0)
    );
    let member = w.app.signed_in("new@acme.test").await;
    let html = member.get("/").await.text().await.unwrap();
    assert!(
        html.contains("ADMIN of Tenant acme"),
        "signed in with the role given"
    );
    assert_eq!(member.get("/users").await.status(), StatusCode::OK);

    // single use
    let res = visitor.get(&link).await;
    assert_eq!(res.status(), StatusCode::GONE);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("This invitation is no longer valid")
    );
    let res = w
        .app
        .accept_invitation(&link, "another fine passphrase")
        .await;
    assert_eq!(res.status(), StatusCode::GONE);
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM users WHERE email = 'new@acme.test'")
            .await,
        1
    );
    assert_eq!(
        audit_count(&w.app, "invitation.accepted").await,
        3,
        "2 from world()"
    );
    let actor: String = sqlx::query_scalar(
        "SELECT actor_email FROM audit_log WHERE action = 'invitation.accepted' AND summary LIKE 'new@%'",
    )
    .fetch_one(&w.app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(actor, "new@acme.test");
    // made-up and malformed links get the same page, never a 500
    for bad in ["/invite/nope", &format!("/invite/{}", "A".repeat(43))] {
        assert_eq!(visitor.get(bad).await.status(), StatusCode::GONE, "{bad}");
    }
}

#[tokio::test]
async fn an_expired_link_is_refused() {
    let w = world().await;
    invite(&w.acme_owner, "", "late@acme.test", "MEMBER").await;
    let link = w.app.wait_for_invite_link("late@acme.test", &[]).await;
    sqlx::query("UPDATE invitations SET expires_at = $1 WHERE email = 'late@acme.test'")
        .bind(mpanel::db::Timestamp::now().0 - 1)
        .execute(&w.app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(w.app.client().get(&link).await.status(), StatusCode::GONE);
    let res = w.app.accept_invitation(&link, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::GONE);
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM users WHERE email = 'late@acme.test'")
            .await,
        0
    );
    let html = w.acme_owner.get("/users").await.text().await.unwrap();
    assert!(html.contains("(Expired)"), "the list says it expired");
}

#[tokio::test]
async fn resending_and_inviting_again_replace_the_link_and_revoking_withdraws_it() {
    let w = world().await;
    invite(&w.acme_owner, "", "ann@acme.test", "MEMBER").await;
    let first = w.app.wait_for_invite_link("ann@acme.test", &[]).await;
    let id = open_invitation_id(&w.app, "ann@acme.test").await;

    let res = w
        .acme_owner
        .post(&format!("/users/invitations/{id}/resend"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, _, flash) = answer_after(&w.acme_owner, res, "ann@acme.test").await;
    assert!(flash.contains("Invitation sent to <email>."));
    let second = w
        .app
        .wait_for_invite_link("ann@acme.test", std::slice::from_ref(&first))
        .await;
    assert_ne!(first, second);
    assert_eq!(w.app.client().get(&first).await.status(), StatusCode::GONE);
    assert_eq!(w.app.client().get(&second).await.status(), StatusCode::OK);

    // a second invitation while one is open renews it rather than failing
    let res = invite(&w.acme_owner, "", "ann@acme.test", "VIEWER").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let third = w
        .app
        .wait_for_invite_link("ann@acme.test", &[first.clone(), second.clone()])
        .await;
    assert_eq!(w.app.client().get(&second).await.status(), StatusCode::GONE);
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM invitations WHERE email = 'ann@acme.test'")
            .await,
        1
    );
    assert_eq!(open_invitation_id(&w.app, "ann@acme.test").await, id);

    // revoking needs the confirmation box
    let path = format!("/users/invitations/{id}/revoke");
    let res = w.acme_owner.post(&path, &[]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(w.app.client().get(&third).await.status(), StatusCode::OK);
    let res = w.acme_owner.post(&path, &[("confirm", "yes")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(w.app.client().get(&third).await.status(), StatusCode::GONE);
    assert_eq!(
        w.app.accept_invitation(&third, PASSWORD).await.status(),
        StatusCode::GONE
    );
    let html = w.acme_owner.get("/users").await.text().await.unwrap();
    assert!(html.contains("The invitation to ann@acme.test was revoked"));
    let list = between(&html, "Pending invitations", "</section>").unwrap();
    assert!(!list.contains("ann@acme.test"), "no longer pending");
    // a revoked invitation cannot be resent or revoked again
    let res = w.acme_owner.post(&path, &[("confirm", "yes")]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);

    // world(): 2 created by staff; here 1 created, 2 resent, 1 revoked
    assert_eq!(audit_count(&w.app, "invitation.created").await, 3);
    assert_eq!(audit_count(&w.app, "invitation.resent").await, 2);
    assert_eq!(audit_count(&w.app, "invitation.revoked").await, 1);
}

#[tokio::test]
async fn invitation_permissions_follow_the_member_rules() {
    let w = world().await;
    for (email, role) in [
        ("admin@acme.test", "ADMIN"),
        ("member@acme.test", "MEMBER"),
        ("viewer@acme.test", "VIEWER"),
    ] {
        w.app.create_user(&w.acme_owner, &w.acme, email, role).await;
    }
    invite(&w.acme_owner, "", "boss@acme.test", "OWNER").await;
    let owner_invite = open_invitation_id(&w.app, "boss@acme.test").await;
    invite(&w.staff, &w.globex, "g@globex.test", "VIEWER").await;
    let globex_invite = open_invitation_id(&w.app, "g@globex.test").await;

    // MEMBER and VIEWER cannot invite, resend or revoke
    for who in ["member@acme.test", "viewer@acme.test"] {
        let c = w.app.signed_in(who).await;
        assert_eq!(
            invite(&c, "", "x@acme.test", "VIEWER").await.status(),
            StatusCode::FORBIDDEN
        );
        let res = c
            .post(&format!("/users/invitations/{owner_invite}/resend"), &[])
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{who} resend");
        let res = c
            .post(
                &format!("/users/invitations/{owner_invite}/revoke"),
                &[("confirm", "yes")],
            )
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{who} revoke");
    }
    // an ADMIN cannot invite (or renew an invitation) above their own role
    let admin = w.app.signed_in("admin@acme.test").await;
    let res = invite(&admin, "", "boss2@acme.test", "OWNER").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("You cannot grant a role above your own."));
    assert!(
        html.contains("value=\"boss2@acme.test\""),
        "form values kept"
    );
    let res = admin
        .post(&format!("/users/invitations/{owner_invite}/resend"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    // bad e-mail syntax sits beside the field
    let res = invite(&admin, "", "not an address", "VIEWER").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"e-email\"") && html.contains("value=\"not an address\""));
    assert_eq!(
        w.app
            .count(
                "SELECT COUNT(*) FROM invitations WHERE email LIKE 'boss2%' OR email LIKE 'not%'"
            )
            .await,
        0
    );

    // another tenant's invitation is 404 to a customer, and a customer's tenant_id is ignored
    for action in ["resend", "revoke"] {
        let res = w
            .acme_owner
            .post(
                &format!("/users/invitations/{globex_invite}/{action}"),
                &[("confirm", "yes")],
            )
            .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{action}");
    }
    assert_eq!(
        open_invitation_id(&w.app, "g@globex.test").await,
        globex_invite
    );
    let html = w.acme_owner.get("/users").await.text().await.unwrap();
    assert!(!html.contains("g@globex.test"));
    invite(&w.acme_owner, &w.globex, "sneak@acme.test", "VIEWER").await;
    let tenant: String =
        sqlx::query_scalar("SELECT tenant_id FROM invitations WHERE email = 'sneak@acme.test'")
            .fetch_one(&w.app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(tenant, w.acme);
    // staff see and manage every tenant's invitations
    let html = w.staff.get("/users").await.text().await.unwrap();
    assert!(html.contains("g@globex.test") && html.contains("boss@acme.test"));
    let res = w
        .staff
        .post(
            &format!("/users/invitations/{globex_invite}/revoke"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}
