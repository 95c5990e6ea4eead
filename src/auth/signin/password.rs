//! The password step of signing in: the attempt is reserved against the per-account (or
//! known-device) and per-address limits before the password is checked; then the tenant's
//! IP allowlist; then either a second-factor challenge or the session.

use super::events::record_login_event;
use super::flow::{self, PasswordCheck, Step};
use super::second_factor;
use crate::auth::attempts::{account_gcra, account_key, ip_gcra, refund_attempt, reserve_attempt};
use crate::auth::model::{self, ClientInfo};
use crate::auth::password::{DUMMY_HASH, verify_password};
use crate::auth::store;
use crate::db::Timestamp;
use crate::security::model::{EventKind, ip_allowed_text};
use crate::security::{self};
use crate::state::AppState;
use crate::web::AppResult;

pub struct LoginInput {
    pub email: String,
    pub password: String,
    /// The signed "known device" id for this browser, if it has one for this account.
    pub device: Option<String>,
    /// Where to go after signing in (kept across the second-factor step).
    pub next: String,
}

pub enum LoginOutcome {
    /// Password right, no second factor: the caller signs the user in on its session
    /// (`auth::sessions::establish`, a new session id).
    SignedIn {
        tenant_id: String,
        user_id: String,
    },
    /// The password was right and the account has MFA: no session yet, only a challenge
    /// (its cookie token) that `/login/mfa` completes with a code.
    SecondFactor {
        challenge_token: String,
    },
    /// The password was right but the tenant does not allow this client's address.
    IpRefused,
    /// Same message for an unknown e-mail and a wrong password.
    Failed,
    Throttled {
        retry_after_secs: u64,
    },
}

pub async fn login(
    state: &AppState,
    input: LoginInput,
    client: &ClientInfo,
) -> AppResult<LoginOutcome> {
    let pool = &state.db.pool;
    let email = input.email.trim().to_lowercase();
    let now = Timestamp::now().0;
    let ip_key = format!("ip:{}", client.ip);
    let acct_key = account_key(&email, input.device.as_deref());
    let limits = [
        (acct_key.as_str(), account_gcra(state)),
        (ip_key.as_str(), ip_gcra(state)),
    ];
    if let Some(retry_after_secs) = reserve_attempt(&state.db, &limits, now).await? {
        // A lockout of a known account is filed under its tenant, for its admins to see.
        let known = if email.len() <= model::MAX_EMAIL {
            store::find_login(pool, &email).await?
        } else {
            None
        };
        record_login_event(
            state,
            known
                .as_ref()
                .map(|a| (a.id.as_str(), a.tenant_id.as_str())),
            &email,
            client,
            EventKind::LoginLocked,
            "Sign-in refused: too many failed attempts",
        )
        .await?;
        return Ok(LoginOutcome::Throttled { retry_after_secs });
    }
    let too_long = email.len() > model::MAX_EMAIL || input.password.len() > model::MAX_PASSWORD;
    let account = if too_long {
        None
    } else {
        store::find_login(pool, &email).await?
    };
    let verified = match &account {
        Some(a) => verify_password(input.password, a.password_hash.clone()).await? && a.active == 1,
        None => {
            let dummy = DUMMY_HASH.clone();
            verify_password(input.password, dummy).await?;
            false
        }
    };
    let known = account
        .as_ref()
        .map(|a| (a.id.clone(), a.tenant_id.clone()));
    let Some(account) = account.filter(|_| verified) else {
        // The reserved attempts stay spent: this one failed.
        // Filed under the account's tenant when the e-mail is known, so its admins see it.
        let about = known.as_ref().map(|(u, t)| (u.as_str(), t.as_str()));
        record_login_event(
            state,
            about,
            &email,
            client,
            EventKind::LoginFailed,
            "Sign-in failed",
        )
        .await?;
        return Ok(LoginOutcome::Failed);
    };
    store::throttle_clear(pool, &acct_key).await?;
    refund_attempt(&state.db, &ip_key, ip_gcra(state)).await?;
    let about = Some((account.id.as_str(), account.tenant_id.as_str()));
    let policy = security::store::policy(pool, &account.tenant_id).await?;
    let check = PasswordCheck::Right {
        address_allowed: ip_allowed_text(&policy.allowlist_text(), &client.ip),
        mfa_on: security::mfa::is_enabled(state, &account.id).await?,
    };
    match flow::after_password(check) {
        Err(_) => {
            let summary = format!("Sign-in refused: {} is not in the allowlist", client.ip);
            record_login_event(state, about, &email, client, EventKind::IpBlocked, &summary)
                .await?;
            Ok(LoginOutcome::IpRefused)
        }
        Ok(Step::SecondFactor) => {
            let challenge_token =
                second_factor::start_challenge(state, &account.id, &account.tenant_id, &input.next)
                    .await?;
            Ok(LoginOutcome::SecondFactor { challenge_token })
        }
        Ok(_) => {
            record_login_event(
                state,
                about,
                &email,
                client,
                EventKind::LoginSuccess,
                "Signed in",
            )
            .await?;
            Ok(LoginOutcome::SignedIn {
                tenant_id: account.tenant_id,
                user_id: account.id,
            })
        }
    }
}
