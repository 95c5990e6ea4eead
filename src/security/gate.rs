//! The tenant policy applied to every signed-in request: the IP allowlist and "MFA required".

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::auth::store::SessionRow;
use crate::db::Timestamp;
use crate::web::error::ErrorPage;

use super::model::{ip_allowed_text, session_expired_by_policy};

/// What the tenant's policy says about one request of a signed-in user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gate {
    pub ip_allowed: bool,
    /// The tenant requires MFA (or passkeys, for this user's role) and this user has not
    /// enrolled: only enrolment is open.
    pub must_enrol_mfa: bool,
}

impl Gate {
    pub fn for_session(row: &SessionRow, client_ip: &str) -> Gate {
        Gate {
            ip_allowed: ip_allowed_text(&row.ip_allowlist, client_ip),
            must_enrol_mfa: (row.require_mfa == 1 && row.mfa_enabled == 0)
                || (super::passkeys::model::passkeys_required(&row.passkeys_min_role, row.role)
                    && row.passkeys == 0),
        }
    }
}

/// The tenant's own idle and absolute limits (the server's are applied in SQL already).
pub fn session_outlived_policy(row: &SessionRow, now: Timestamp) -> bool {
    session_expired_by_policy(
        now.0,
        row.created_at.0,
        row.last_seen_at.0,
        row.policy_idle_minutes,
        row.policy_absolute_minutes,
    )
}

/// Paths a user who must enrol in MFA may still use.
pub fn allowed_while_enrolling(path: &str) -> bool {
    path == "/security/mfa" || path.starts_with("/security/mfa/") || path == "/logout"
}

/// 403 for a request from outside the tenant's allowlist (shown as an error page).
pub fn ip_refused(ip: &str) -> Response {
    tracing::warn!(%ip, "request refused by the tenant IP allowlist");
    let mut res = StatusCode::FORBIDDEN.into_response();
    res.extensions_mut().insert(ErrorPage {
        title: "Network not allowed",
        message: format!(
            "Your organisation only allows access from approved networks, and your address \
             ({ip}) is not one of them. Connect through an approved network, or ask an \
             administrator to add it."
        ),
    });
    res
}
