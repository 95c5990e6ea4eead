//! Confirm once: a destructive action (void an invoice, stop a pod, revoke a token, …) posted
//! without `confirm=yes` is not done; it answers a confirmation page inside the shell whose
//! button posts the same fields again with `confirm=yes`. With JavaScript, `static/app.js`
//! asks first in a dialog (the form's `data-confirm` text) and adds `confirm=yes` itself, so
//! the page is what a person without JavaScript sees.
//!
//! The page is answered with 409 Conflict: nothing was done yet, as before this step existed
//! (the action was then refused with "Tick the confirmation box").

use askama::Template;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{AppResult, Hx, Layout, render};

/// The value of the `confirm` field that means "yes, do it".
pub fn confirmed(value: &str) -> bool {
    value == "yes"
}

/// What the confirmation page asks.
pub struct Confirm {
    /// The question, as the page's heading: "Void invoice INV-2026-0001?"
    pub question: String,
    /// What follows: "It keeps its number. This cannot be undone."
    pub consequence: String,
    /// Where the button posts (the action's own URL).
    pub action: String,
    /// The button's text: "Void invoice".
    pub button: String,
    /// Where "Cancel" leads (the object's page).
    pub back: String,
    /// The other fields of the original form, posted again unchanged.
    pub fields: Vec<(String, String)>,
}

impl Confirm {
    pub fn new(question: impl Into<String>, action: impl Into<String>) -> Confirm {
        Confirm {
            question: question.into(),
            consequence: String::new(),
            action: action.into(),
            button: "Confirm".into(),
            back: "/".into(),
            fields: Vec::new(),
        }
    }
    pub fn consequence(mut self, text: impl Into<String>) -> Confirm {
        self.consequence = text.into();
        self
    }
    pub fn button(mut self, text: impl Into<String>) -> Confirm {
        self.button = text.into();
        self
    }
    pub fn back(mut self, href: impl Into<String>) -> Confirm {
        self.back = href.into();
        self
    }
    pub fn field(mut self, name: &str, value: impl Into<String>) -> Confirm {
        self.fields.push((name.to_string(), value.into()));
        self
    }
}

#[derive(Template)]
#[template(path = "confirm.html", blocks = ["main"])]
struct ConfirmPage {
    layout: Layout,
    c: Confirm,
}

/// The confirmation page (409). An htmx request that reached it (a form posted without the
/// dialog) gets the page's main block swapped into `#main`.
pub fn ask(hx: Hx, layout: Layout, c: Confirm) -> AppResult<Response> {
    let page = ConfirmPage { layout, c };
    if hx.wants_fragment() {
        let html = render(&page.as_main())?;
        return Ok((
            StatusCode::CONFLICT,
            [("HX-Retarget", "#main"), ("HX-Reswap", "innerHTML")],
            html,
        )
            .into_response());
    }
    Ok((StatusCode::CONFLICT, render(&page)?).into_response())
}
