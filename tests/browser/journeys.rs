use crate::browser::Browser;
use crate::helpers::TestApp;

/// Setup → sign in → create a customer tenant and invite its owner → sign out → the invitee
/// opens the link, chooses a password and signs in.
#[tokio::test]
async fn first_run_to_a_customer_accepting_an_invitation() {
    let app = TestApp::spawn().await;
    let b = Browser::start().await;

    b.goto(&app.base).await;
    b.expect_heading("Set up mPanel").await;
    b.fill("Company name", "Northwind Hosting").await;
    b.fill("E-mail", "founder@northwind.test").await;
    b.fill("Password (at least 12 characters)", "short").await;
    b.press("Create operator account").await;
    // the error sits beside the field and the other values are kept
    b.expect_text("Use at least 12 characters.").await;
    assert_eq!(b.value_of("Company name").await, "Northwind Hosting");
    b.fill(
        "Password (at least 12 characters)",
        "tall ships and quiet harbours",
    )
    .await;
    b.press("Create operator account").await;
    b.expect_heading("Welcome, founder").await;

    // sign out and back in, as the journey asks
    b.press("Sign out").await;
    b.expect_heading("Sign in").await;
    b.fill("E-mail", "founder@northwind.test").await;
    b.fill("Password", "tall ships and quiet harbours").await;
    b.press("Sign in").await;
    b.expect_heading("Welcome, founder").await;

    b.follow("Tenants").await;
    b.expect_heading("Tenants").await;
    b.follow("New customer tenant").await;
    b.expect_heading("New customer tenant").await;
    b.fill("Name", "Contoso Web").await;
    b.fill("Slug (lower-case letters, digits, dashes)", "contoso")
        .await;
    b.fill("Billing e-mail", "billing@contoso.test").await;
    b.fill("Country (two letters, e.g. US)", "NL").await;
    b.fill("Region", "eu-west").await;
    b.choose("Default currency", "EUR").await;
    b.press("Create tenant").await;
    b.expect_heading("Contoso Web").await;
    b.expect_text("Tenant Contoso Web created.").await;

    b.follow("Invite a user to Contoso Web").await;
    b.expect_heading("Invite a user").await;
    b.fill("E-mail", "ada@contoso.test").await;
    b.fill("Full name (optional)", "Ada Contoso").await;
    b.choose("Role", "OWNER").await;
    b.press("Send invitation").await;
    b.expect_heading("Users").await;
    b.expect_text("Invitation sent to ada@contoso.test.").await;
    b.expect_text("Pending invitations").await;
    let link = app
        .queued_invite_link("ada@contoso.test")
        .await
        .expect("invitation link in the queued e-mail");

    // the invitee opens the e-mailed link, signed out, and chooses a password
    b.press("Sign out").await;
    b.expect_heading("Sign in").await;
    b.goto(&format!("{}{link}", app.base)).await;
    b.expect_heading("Join Contoso Web").await;
    assert_eq!(b.value_of("Full name").await, "Ada Contoso");
    b.fill("Password (at least 12 characters)", "short").await;
    b.fill("Repeat the password", "short").await;
    b.press("Create my account").await;
    b.expect_text("Use at least 12 characters.").await;
    b.fill("Password (at least 12 characters)", "ada's very own phrase")
        .await;
    b.fill("Repeat the password", "ada's very own phrase").await;
    b.press("Create my account").await;
    b.expect_heading("Sign in").await;
    b.expect_text("Your account is ready: sign in.").await;
    b.fill("E-mail", "ada@contoso.test").await;
    b.fill("Password", "ada's very own phrase").await;
    b.press("Sign in").await;
    b.expect_heading("Welcome, Ada Contoso").await;
    b.expect_text("OWNER of Contoso Web").await;

    // the link worked once
    b.goto(&format!("{}{link}", app.base)).await;
    b.expect_heading("This invitation is no longer valid").await;

    b.stop().await;
}
