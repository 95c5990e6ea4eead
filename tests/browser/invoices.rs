use crate::browser::Browser;
use crate::helpers::{OWNER_EMAIL, PASSWORD, TestApp};

/// Create a draft → issue → record a partial and then a full payment → download the PDF.
#[tokio::test]
async fn draft_issue_partial_and_full_payment_then_pdf() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    app.create_tenant(&owner, "contoso").await;
    let b = Browser::start().await;
    b.goto(&format!("{}/login", app.base)).await;
    b.fill("E-mail", OWNER_EMAIL).await;
    b.fill("Password", PASSWORD).await;
    b.press("Sign in").await;
    b.expect_heading("Welcome, owner").await;

    b.follow("Invoices").await;
    b.expect_heading("Invoices").await;
    b.follow("New draft invoice").await;
    b.expect_heading("New draft invoice").await;
    b.choose("Customer tenant", "Tenant contoso").await;
    b.choose("Currency (empty: the tenant's default)", "USD")
        .await;
    b.press("Create draft").await;
    b.expect_heading("Draft invoice").await;

    b.client
        .find(fantoccini::Locator::XPath(
            "//summary[normalize-space(.)='Add a line']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.fill("Description", "Managed hosting, November").await;
    b.fill("Quantity", "2").await;
    b.fill(
        "Unit price (discounts: the amount off; adjustments may be negative)",
        "25.00",
    )
    .await;
    b.press("Add line").await;
    b.expect_text("Line added.").await;
    b.expect_text("total USD 50.00").await;
    b.press("Issue invoice").await;
    b.expect_text("Issued as INV-").await;
    b.expect_text("Status: Issued").await;

    b.fill("Amount", "20.00").await;
    b.press("Record payment").await;
    b.expect_text("A payment recorded.").await;
    b.expect_text("Status: Partially paid").await;
    b.expect_text("USD 30.00").await;
    b.screenshot("invoice-partially-paid").await;

    b.fill("Amount", "30.00").await;
    b.press("Record payment").await;
    b.expect_text("Status: Paid").await;

    // the PDF the page links to
    let href = b
        .client
        .find(fantoccini::Locator::LinkText("Download PDF"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert!(href.ends_with("/pdf"));
    let pdf = owner.get(&href).await;
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let bytes = pdf.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF") && String::from_utf8_lossy(&bytes).contains("USD 50.00"));
    b.stop().await;
}
