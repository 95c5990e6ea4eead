//! The colour scheme a visitor chose: System (the browser's `prefers-color-scheme`), Light or
//! Dark. Kept in a long-lived cookie (no account needed, so the sign-in page has it too) and
//! rendered by the layout as `<html data-theme>`, which Pico and `app.css` honour. The page
//! arrives in the chosen scheme: no script, no flash of the other one.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Deserialize;

use super::error::ErrorPage;
use crate::state::AppState;

pub const COOKIE: &str = "mpanel_theme";

/// How long the choice is kept: a year (browsers cap cookies at about 400 days).
const KEEP_DAYS: i64 = 365;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Theme {
    #[default]
    System,
    Light,
    Dark,
}

impl Theme {
    /// The choices, in the order the header offers them.
    pub const ALL: [Theme; 3] = [Theme::System, Theme::Light, Theme::Dark];

    pub fn parse(s: &str) -> Option<Theme> {
        match s {
            "system" => Some(Theme::System),
            "light" => Some(Theme::Light),
            "dark" => Some(Theme::Dark),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Theme::System => "System",
            Theme::Light => "Light",
            Theme::Dark => "Dark",
        }
    }

    /// The value of `<html data-theme>`; none for System, where the media query decides.
    pub fn attr(self) -> Option<&'static str> {
        match self {
            Theme::System => None,
            Theme::Light => Some("light"),
            Theme::Dark => Some("dark"),
        }
    }

    /// The `color-scheme` the page declares (form controls and scrollbars follow it).
    pub fn color_scheme(self) -> &'static str {
        self.attr().unwrap_or("light dark")
    }

    /// The theme a request's cookie names; System when there is none or it is not ours.
    pub fn from_headers(headers: &HeaderMap) -> Theme {
        CookieJar::from_headers(headers)
            .get(COOKIE)
            .and_then(|c| Theme::parse(c.value()))
            .unwrap_or_default()
    }
}

#[derive(Deserialize)]
pub struct ThemeForm {
    theme: String,
    next: Option<String>,
}

/// `POST /preferences/theme`: keeps the choice (System forgets it) and goes back to `next`
/// when that is a local page. Like every POST it passed the CSRF origin check on the way in.
pub async fn set_theme(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(form): Form<ThemeForm>,
) -> Response {
    let Some(theme) = Theme::parse(&form.theme) else {
        let mut res = StatusCode::BAD_REQUEST.into_response();
        res.extensions_mut().insert(ErrorPage {
            title: "Bad request",
            message: "There is no such colour scheme: choose System, Light or Dark.".into(),
        });
        return res;
    };
    let to = super::safe_next(form.next.as_deref()).to_string();
    let mut cookie = Cookie::build((COOKIE, theme.as_str()))
        .path("/")
        .http_only(true)
        .secure(state.config.secure_cookies())
        .same_site(SameSite::Lax)
        .max_age(time::Duration::days(KEEP_DAYS))
        .build();
    if theme == Theme::System {
        cookie.make_removal();
    }
    (jar.add(cookie), Redirect::to(&to)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_three_choices_parse() {
        for t in Theme::ALL {
            assert_eq!(Theme::parse(t.as_str()), Some(t));
        }
        for bad in ["", "Dark", "blue", "dark ", "light;"] {
            assert_eq!(Theme::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn system_leaves_the_page_to_the_media_query() {
        assert_eq!(Theme::System.attr(), None);
        assert_eq!(Theme::System.color_scheme(), "light dark");
        assert_eq!(Theme::Dark.attr(), Some("dark"));
        assert_eq!(Theme::Light.color_scheme(), "light");
    }

    #[test]
    fn the_cookie_is_read_and_a_foreign_value_ignored() {
        let mut h = HeaderMap::new();
        h.insert("cookie", "a=1; mpanel_theme=dark".parse().unwrap());
        assert_eq!(Theme::from_headers(&h), Theme::Dark);
        h.insert("cookie", "mpanel_theme=<script>".parse().unwrap());
        assert_eq!(Theme::from_headers(&h), Theme::System);
        assert_eq!(Theme::from_headers(&HeaderMap::new()), Theme::System);
    }
}
