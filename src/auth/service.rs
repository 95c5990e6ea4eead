//! One function per user action: check permission, validate, transaction, audit.

use std::sync::LazyLock;

use super::attempts::{account_gcra, account_key, ip_gcra, refund_attempt, reserve_attempt};
use super::model::{self, Actor, ClientInfo, Role, TenantKind};
use super::store::{self, NewTenant, NewUser};
use crate::audit::{self, AuditActor, AuditEvent};
use crate::db::{Db, Timestamp, is_unique_violation, new_id};
use crate::security::model::{EventKind, PasswordRules, ip_allowed_text};
use crate::security::{self, SecurityEvent};
use crate::state::AppState;
use crate::web::{AppError, AppResult, FieldErrors};

/// Each argon2id hash takes ~19 MiB and tens of milliseconds of one core: more hashes at once
/// than there are cores only adds memory (a burst of 40 logins held 880 MB), so they queue.
static HASHING: LazyLock<tokio::sync::Semaphore> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    tokio::sync::Semaphore::new(cores.max(2))
});

/// Runs `hash` off the async threads, at most one per core at a time.
async fn argon2<T: Send + 'static>(hash: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
    let _permit = HASHING
        .acquire()
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    tokio::task::spawn_blocking(hash)
        .await
        .map_err(|e| AppError::Internal(e.into()))
}

pub async fn hash_password(password: String) -> AppResult<String> {
    argon2(move || password_auth::generate_hash(password)).await
}

pub async fn verify_password(password: String, hash: String) -> AppResult<bool> {
    argon2(move || password_auth::verify_password(password, &hash).is_ok()).await
}

/// Compared against when the e-mail is unknown, so both failures take as long.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| password_auth::generate_hash("not a real password, only for timing"));

/// A readable random password (used when none is given for a new member or owner).
pub fn generate_password() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    let chars: String = (0..20)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!(
        "{}-{}-{}-{}",
        &chars[0..5],
        &chars[5..10],
        &chars[10..15],
        &chars[15..20]
    )
}

// ---------------------------------------------------------------- first run

pub struct SetupInput {
    pub company: String,
    pub email: String,
    pub password: String,
}

pub struct NewAccount {
    pub user_id: String,
    pub tenant_id: String,
}

/// Creates the operator tenant and its OWNER. Only while no user exists: a second (or racing)
/// submission gets `NotFound`, exactly as `/setup` answers once set up.
pub async fn setup(db: &Db, input: SetupInput, client: &ClientInfo) -> AppResult<NewAccount> {
    let mut errors = FieldErrors::new();
    let company = model::required_text(&mut errors, "company", &input.company, model::MAX_NAME);
    let email = match model::normalize_email(&input.email) {
        Ok(e) => e,
        Err(m) => {
            errors.add("email", m);
            String::new()
        }
    };
    // No tenant exists yet, so no tenant policy: the defaults apply.
    if let Some(p) = model::password_problem(&input.password, &email, &PasswordRules::default()) {
        errors.add("password", p);
    }
    errors.into_result().map_err(AppError::Invalid)?;
    let hash = hash_password(input.password).await?;
    create_operator_owner(db, &company, &email, &hash, client, true).await
}

/// Shared by `/setup` and `mpanel admin create-owner`. With `first_run_only`, refuses once any
/// user exists; otherwise adds an OWNER to the existing operator tenant.
pub async fn create_operator_owner(
    db: &Db,
    company: &str,
    email: &str,
    password_hash: &str,
    client: &ClientInfo,
    first_run_only: bool,
) -> AppResult<NewAccount> {
    let mut tx = db.begin_write().await?;
    if first_run_only && store::count_users_tx(&mut tx).await? > 0 {
        return Err(AppError::NotFound);
    }
    let tenant_id = match store::operator_tenant_id(&mut tx).await? {
        // On PostgreSQL (READ COMMITTED) a racing setup can commit between the user count
        // above and this query: an operator tenant that exists now means setup is done.
        Some(_) if first_run_only => return Err(AppError::NotFound),
        Some(id) => id,
        None => {
            let id = new_id();
            let slug = slug_from(company);
            let inserted = store::insert_tenant(
                &mut tx,
                &NewTenant {
                    id: &id,
                    kind: TenantKind::Operator.as_str(),
                    name: company,
                    slug: &slug,
                    billing_email: email,
                    country: "US",
                    region: "default",
                    currency: "USD",
                },
            )
            .await;
            match inserted {
                Ok(()) => id,
                // The one-operator index: another setup won the race.
                Err(e) if is_unique_violation(&e) => return Err(AppError::NotFound),
                Err(e) => return Err(e.into()),
            }
        }
    };
    let user_id = new_id();
    let inserted = store::insert_user(
        &mut tx,
        &NewUser {
            id: &user_id,
            tenant_id: &tenant_id,
            email,
            name: email.split('@').next().unwrap_or(email),
            password_hash,
            role: Role::Owner.as_str(),
            must_change_password: false,
        },
    )
    .await;
    match inserted {
        Ok(()) => {}
        Err(e) if is_unique_violation(&e) => {
            return Err(if first_run_only {
                AppError::NotFound
            } else {
                AppError::Invalid(FieldErrors::one(
                    "email",
                    "That e-mail address is already in use.",
                ))
            });
        }
        Err(e) => return Err(e.into()),
    }
    audit::record(
        &mut tx,
        AuditActor {
            tenant_id: Some(&tenant_id),
            user_id: Some(&user_id),
            email,
            client,
        },
        AuditEvent {
            tenant_id: Some(&tenant_id),
            action: if first_run_only {
                "setup.completed"
            } else {
                "user.owner_created"
            },
            target_type: "user",
            target_id: &user_id,
            summary: format!("Created operator owner {email}"),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(NewAccount { user_id, tenant_id })
}

fn slug_from(name: &str) -> String {
    let mut slug = String::new();
    for c in name.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug
        .trim_end_matches('-')
        .chars()
        .take(40)
        .collect::<String>();
    if slug.len() < 2 {
        "operator".into()
    } else {
        slug
    }
}

// ---------------------------------------------------------------- sessions and login

/// A fresh session token for the cookie, and its SHA-256 (the only form stored).
pub fn new_session_token() -> (String, String) {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let id = session_id_for(&token);
    (token, id)
}

pub fn session_id_for(token: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

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
    if !ip_allowed_text(&policy.allowlist_text(), &client.ip) {
        let summary = format!("Sign-in refused: {} is not in the allowlist", client.ip);
        record_login_event(state, about, &email, client, EventKind::IpBlocked, &summary).await?;
        return Ok(LoginOutcome::IpRefused);
    }
    if security::mfa::is_enabled(state, &account.id).await? {
        let challenge_token =
            security::login::start_challenge(state, &account.id, &account.tenant_id, &input.next)
                .await?;
        return Ok(LoginOutcome::SecondFactor { challenge_token });
    }
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

pub async fn logout(state: &AppState, actor: &Actor) -> AppResult<()> {
    // The session itself is ended by the caller (`AuthSession::logout`).
    let mut tx = state.db.begin_write().await?;
    audit::record(
        &mut tx,
        actor,
        AuditEvent {
            tenant_id: None,
            action: "auth.logout",
            target_type: "user",
            target_id: &actor.user_id,
            summary: "Signed out".into(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------- password

pub struct ChangePasswordInput {
    pub current: String,
    pub new: String,
    pub confirm: String,
}

/// Changes the actor's own password under their tenant's password rules; their other
/// sessions end.
pub async fn change_password(db: &Db, actor: &Actor, input: ChangePasswordInput) -> AppResult<u64> {
    let mut errors = FieldErrors::new();
    if input.current.is_empty() {
        errors.add("current", "Enter your current password.");
    }
    let rules = security::store::policy(&db.pool, &actor.tenant_id)
        .await?
        .password_rules();
    if let Some(p) = model::password_problem(&input.new, &actor.email, &rules) {
        errors.add("new", p);
    } else if input.new == input.current {
        errors.add("new", "Choose a password different from the current one.");
    }
    if input.confirm != input.new {
        errors.add("confirm", "The two new passwords do not match.");
    }
    errors.into_result().map_err(AppError::Invalid)?;
    let current_hash = {
        let mut tx = db.begin_write().await?;
        let h = store::password_hash(&mut tx, &actor.user_id).await?;
        tx.rollback().await?;
        h.ok_or(AppError::Unauthenticated)?
    };
    if !verify_password(input.current, current_hash).await? {
        return Err(AppError::Invalid(FieldErrors::one(
            "current",
            "That is not your current password.",
        )));
    }
    let hash = hash_password(input.new).await?;
    let mut tx = db.begin_write().await?;
    store::set_password(&mut tx, &actor.user_id, &hash, false).await?;
    let ended = store::delete_user_sessions(&mut tx, &actor.user_id, &actor.session_id).await?;
    security::record(
        &mut tx,
        actor,
        SecurityEvent {
            kind: EventKind::PasswordChanged,
            tenant_id: None,
            subject_user_id: None,
            summary: format!("Changed own password; {ended} other session(s) ended"),
        },
    )
    .await?;
    security::service::notify_account_change(&mut tx, actor, "Your password was changed").await?;
    tx.commit().await?;
    Ok(ended)
}
