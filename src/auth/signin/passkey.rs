//! Signing in with a passkey alone (a discoverable credential): no password, but the same
//! attempt limits (reserved before the answer is checked), the same tenant allowlist and the
//! same session as a password sign-in. The passkey is both factors: the authenticator checked
//! the person (user verification) and proved possession.

use super::events::record_login_event;
use super::flow::{self, PasskeyCheck, Refusal, Step};
use crate::auth::model::ClientInfo;
use crate::security::factor::{self, PasskeyOutcome};
use crate::security::model::{EventKind, ip_allowed_text};
use crate::security::passkeys::service::Started;
use crate::security::passkeys::signin as passkeys;
use crate::security::{self};
use crate::state::AppState;
use crate::web::AppResult;

pub async fn options(state: &AppState) -> AppResult<Started> {
    passkeys::start_passwordless(state).await
}

pub enum PasswordlessLogin {
    SignedIn { user_id: String, tenant_id: String },
    Refused(Refusal),
}

pub async fn login(
    state: &AppState,
    ceremony: &str,
    answer: &webauthn_rs::prelude::PublicKeyCredential,
    client: &ClientInfo,
) -> AppResult<PasswordlessLogin> {
    let (check, verified) =
        match factor::check_passkey(state, ceremony, None, answer, client).await? {
            PasskeyOutcome::Throttled { retry_after_secs } => {
                (PasskeyCheck::Throttled { retry_after_secs }, None)
            }
            PasskeyOutcome::Refused(_) => (PasskeyCheck::Refused, None),
            PasskeyOutcome::Accepted(v) => {
                let policy = security::store::policy(&state.db.pool, &v.tenant_id).await?;
                let address_allowed = ip_allowed_text(&policy.allowlist_text(), &client.ip);
                (PasskeyCheck::Verified { address_allowed }, Some(v))
            }
        };
    match (flow::after_passkey(check), verified) {
        (Ok(Step::SignedIn), Some(v)) => {
            let how = format!("Signed in with passkey \"{}\"", v.passkey_name);
            record_login_event(
                state,
                Some((&v.user_id, &v.tenant_id)),
                &v.email,
                client,
                EventKind::LoginSuccess,
                &how,
            )
            .await?;
            Ok(PasswordlessLogin::SignedIn {
                user_id: v.user_id,
                tenant_id: v.tenant_id,
            })
        }
        (Err(Refusal::AddressRefused), Some(v)) => {
            let summary = format!("Sign-in refused: {} is not in the allowlist", client.ip);
            record_login_event(
                state,
                Some((&v.user_id, &v.tenant_id)),
                &v.email,
                client,
                EventKind::IpBlocked,
                &summary,
            )
            .await?;
            Ok(PasswordlessLogin::Refused(Refusal::AddressRefused))
        }
        (Err(r), _) => Ok(PasswordlessLogin::Refused(r)),
        // A verified passkey never stays at the password step, and only one that verified
        // gets this far.
        (Ok(_), _) => Ok(PasswordlessLogin::Refused(Refusal::PasskeyRefused)),
    }
}
