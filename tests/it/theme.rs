//! The theme switch: System / Light / Dark kept in a cookie, rendered as `<html data-theme>`,
//! before and after sign-in; bad values, off-site `next` and cross-site posts refused.

use reqwest::StatusCode;

use crate::helpers::*;

fn html_tag(html: &str) -> &str {
    let start = html.find("<html").expect("an <html> tag");
    &html[start..start + html[start..].find('>').unwrap() + 1]
}

#[tokio::test]
async fn the_chosen_theme_is_kept_and_rendered_on_the_next_pages() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let visitor = app.client();

    // before sign-in, from the sign-in page
    let res = visitor
        .post(
            "/preferences/theme",
            &[("theme", "dark"), ("next", "/login?next=%2Fusers")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login?next=%2Fusers");
    let set = res
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap()
        .to_string();
    for part in ["mpanel_theme=dark", "Path=/", "SameSite=Lax", "HttpOnly"] {
        assert!(set.contains(part), "{part} in {set}");
    }
    let max_age: i64 = set
        .split("; ")
        .find_map(|p| p.strip_prefix("Max-Age="))
        .expect("a lasting cookie")
        .parse()
        .unwrap();
    assert!(max_age >= 180 * 86_400, "kept for {max_age} s only");
    assert_eq!(visitor.cookie("mpanel_theme").as_deref(), Some("dark"));
    let html = visitor.get("/login").await.text().await.unwrap();
    assert_eq!(html_tag(&html), r#"<html lang="en" data-theme="dark">"#);
    assert!(html.contains(r#"<meta name="color-scheme" content="dark">"#));
    assert!(
        html.contains(r#"value="dark" class="secondary" aria-pressed="true">Dark</button>"#),
        "the switch shows Dark as the one in force"
    );
    assert!(html.contains(r#"name="next" value="/login""#));

    // signed in: Light, then System (no attribute, the browser's scheme decides)
    let res = owner
        .post(
            "/preferences/theme",
            &[("theme", "light"), ("next", "/billing/invoices?page=1")],
        )
        .await;
    assert_eq!(location(&res), "/billing/invoices?page=1");
    let html = owner.get("/billing/invoices").await.text().await.unwrap();
    assert_eq!(html_tag(&html), r#"<html lang="en" data-theme="light">"#);
    assert!(html.contains("Sign out") && html.contains("/preferences/theme"));
    let res = owner
        .post("/preferences/theme", &[("theme", "system"), ("next", "/")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        owner.cookie("mpanel_theme"),
        None,
        "System forgets the choice"
    );
    let html = owner.get("/").await.text().await.unwrap();
    assert_eq!(html_tag(&html), r#"<html lang="en">"#);
    assert!(html.contains(r#"<meta name="color-scheme" content="light dark">"#));
}

#[tokio::test]
async fn a_bad_theme_or_an_off_site_next_is_refused() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    for bad in ["purple", "", "Dark", "dark; Path=/x"] {
        let res = owner
            .post("/preferences/theme", &[("theme", bad), ("next", "/")])
            .await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{bad:?}");
        assert!(res.headers().get("set-cookie").is_none(), "{bad:?}");
        assert!(
            res.text()
                .await
                .unwrap()
                .contains("choose System, Light or Dark")
        );
    }
    assert_eq!(owner.cookie("mpanel_theme"), None);
    for next in [
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
        "/%2F/evil.example",
    ] {
        let res = owner
            .post("/preferences/theme", &[("theme", "dark"), ("next", next)])
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{next}");
        assert_eq!(location(&res), "/", "{next} was followed");
    }
    // no next at all: home
    let res = owner
        .post("/preferences/theme", &[("theme", "light")])
        .await;
    assert_eq!(location(&res), "/");
}

#[tokio::test]
async fn a_cross_site_theme_post_is_refused_by_the_origin_check() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let res = owner
        .http
        .post(owner.url("/preferences/theme"))
        .header("Sec-Fetch-Site", "cross-site")
        .header("Origin", "https://evil.example")
        .form(&[("theme", "dark"), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.headers().get("set-cookie").is_none());
    assert_eq!(owner.cookie("mpanel_theme"), None);
}

/// The dark colour pairs are written twice in `app.css` (by the system's scheme, and by the
/// switch): both blocks must say the same, or one way into dark mode loses its contrast.
#[test]
fn both_dark_blocks_of_the_stylesheet_hold_the_same_pairs() {
    let css = include_str!("../../static/app.css");
    let block = |opening: &str| -> Vec<String> {
        let start = css
            .find(opening)
            .unwrap_or_else(|| panic!("{opening} in app.css"))
            + opening.len();
        let end = start + css[start..].find('}').unwrap();
        let mut decls: Vec<String> = css[start..end]
            .split(';')
            .map(|d| d.split_whitespace().collect::<Vec<_>>().join(" "))
            .filter(|d| !d.is_empty())
            .collect();
        decls.sort();
        decls
    };
    let by_system = block(":root:not([data-theme=light]) {");
    let by_choice = block(":root[data-theme=dark] {");
    assert!(by_system.len() >= 10, "{by_system:?}");
    assert_eq!(by_system, by_choice);
}
