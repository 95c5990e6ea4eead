//! The security events a sign-in records (each with its audit entry).

use crate::audit::AuditActor;
use crate::auth::model::{self, ClientInfo};
use crate::security::model::EventKind;
use crate::security::{self, SecurityEvent};
use crate::state::AppState;
use crate::web::AppResult;

/// One security event (and its audit entry) for a sign-in attempt. `user` is the account the
/// attempt was for (user id, tenant id) when the e-mail is known; the actor is that user only
/// once the sign-in succeeded.
pub(crate) async fn record_login_event(
    state: &AppState,
    user: Option<(&str, &str)>,
    email: &str,
    client: &ClientInfo,
    kind: EventKind,
    summary: &str,
) -> AppResult<()> {
    // Only the first 254 characters of whatever was typed are kept.
    let email: String = email.chars().take(model::MAX_EMAIL).collect();
    let signed_in = kind == EventKind::LoginSuccess;
    security::record_now(
        &state.db,
        AuditActor {
            tenant_id: user.filter(|_| signed_in).map(|u| u.1),
            user_id: user.filter(|_| signed_in).map(|u| u.0),
            email: &email,
            client,
        },
        SecurityEvent {
            kind,
            tenant_id: user.map(|u| u.1),
            subject_user_id: user.map(|u| u.0),
            summary: summary.to_string(),
        },
    )
    .await?;
    Ok(())
}
