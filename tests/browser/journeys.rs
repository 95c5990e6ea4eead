use crate::browser::Browser;
use crate::helpers::TestApp;

/// Setup → sign in → create a customer tenant and a user → sign out → sign in as that user
/// and replace the temporary password.
#[tokio::test]
async fn first_run_to_a_customer_changing_their_temporary_password() {
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

    b.follow("Add a user to Contoso Web").await;
    b.expect_heading("New user").await;
    b.fill("E-mail", "ada@contoso.test").await;
    b.fill("Full name", "Ada Contoso").await;
    b.choose("Role", "OWNER").await;
    b.press("Create user").await;
    b.expect_heading("User created").await;
    let temporary = b.value_of("Temporary password").await;
    assert!(
        temporary.len() >= 20,
        "generated password shown once: {temporary}"
    );

    b.press("Sign out").await;
    b.expect_heading("Sign in").await;
    b.fill("E-mail", "ada@contoso.test").await;
    b.fill("Password", &temporary).await;
    b.press("Sign in").await;
    b.expect_heading("Change password").await;
    b.expect_text("You signed in with a temporary password")
        .await;
    // other pages are closed until the password is changed
    b.goto(&format!("{}/users", app.base)).await;
    b.expect_heading("Change password").await;
    b.fill("Current password", &temporary).await;
    b.fill(
        "New password (at least 12 characters)",
        "ada's very own phrase",
    )
    .await;
    b.fill("Repeat the new password", "ada's very own phrase")
        .await;
    b.press("Change password").await;
    b.expect_heading("Welcome, Ada Contoso").await;
    b.expect_text("Your password has been changed.").await;
    assert_eq!(b.path().await, "/");

    // the new password works from a fresh sign-in
    b.press("Sign out").await;
    b.expect_heading("Sign in").await;
    b.fill("E-mail", "ada@contoso.test").await;
    b.fill("Password", "ada's very own phrase").await;
    b.press("Sign in").await;
    b.expect_heading("Welcome, Ada Contoso").await;
    b.expect_text("OWNER of Contoso Web").await;

    b.stop().await;
}
