use crate::browser::Browser;
use crate::helpers::{OWNER_EMAIL, PASSWORD, TestApp};

/// Staff create a product with a price → it appears on the public /catalog; an inline
/// (htmx) status change takes it off again.
#[tokio::test]
async fn staff_create_a_product_and_it_appears_on_the_catalog() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let b = Browser::start().await;
    b.goto(&format!("{}/login", app.base)).await;
    b.fill("E-mail", OWNER_EMAIL).await;
    b.fill("Password", PASSWORD).await;
    b.press("Sign in").await;
    b.expect_heading("Welcome, owner").await;

    b.follow("Products").await;
    b.expect_heading("Products").await;
    b.follow("New product").await;
    b.expect_heading("New product").await;
    b.fill("Code (SKU)", "mail-pro").await;
    b.fill("Name", "Mail Pro").await;
    b.fill("Description", "Business e-mail with 50 GB mailboxes.")
        .await;
    b.choose("Category", "E-mail").await;
    b.choose("Billing model", "Recurring").await;
    b.choose("Visibility", "Public").await;
    b.press("Create product").await;
    b.expect_heading("Mail Pro").await;
    b.expect_text("Product created.").await;

    // a bad amount first: the message sits beside the field, the typed value stays
    b.client
        .find(fantoccini::Locator::XPath(
            "//summary[normalize-space(.)='Set a base price']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.choose("Currency", "USD").await;
    b.choose("Period", "per month").await;
    b.fill("Price", "4.999").await;
    b.press("Save price").await;
    b.expect_text("USD has 2 decimal places at most.").await;
    assert_eq!(b.value_of("Price").await, "4.999");
    b.fill("Price", "4.99").await;
    b.press("Save price").await;
    b.expect_text("Price saved.").await;
    b.expect_text("USD 4.99").await;
    b.screenshot("product").await;

    b.follow("Catalog").await;
    b.expect_heading("Catalog").await;
    b.expect_text("Mail Pro").await;
    b.expect_text("USD 4.99 per month").await;
    b.screenshot("catalog").await;

    // inline status change on the product list (htmx swaps the row)
    b.follow("Products").await;
    b.expect_heading("Products").await;
    b.choose("Status of MAIL-PRO", "Inactive").await;
    b.press("Save status of MAIL-PRO").await;
    let mut status = String::new();
    for _ in 0..50 {
        status = sqlx::query_scalar("SELECT status FROM products WHERE code = 'MAIL-PRO'")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
        if status == "INACTIVE" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, "INACTIVE", "the inline change was saved");
    b.screenshot("products-list").await;
    b.follow("Catalog").await;
    b.expect_heading("Catalog").await;
    let html = b.client.source().await.unwrap();
    assert!(
        !html.contains("Mail Pro"),
        "inactive products leave the catalog"
    );
    b.stop().await;
}
