//! `/security` (overview), `/security/sessions`, `/security/events` and `/security/policy`.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::event_store::EventRow;
use super::model::{EventKind, PolicyInput, describe_user_agent};
use super::{can_edit_policy, can_view_events, mfa, reads, service};
use crate::actor::Actor;
use crate::db::Timestamp;
use crate::page;
use crate::state::AppState;
use crate::web::confirm::{self, Confirm};
use crate::web::pagination::{PageRequest, Pager, filter_query, parse_page};
use crate::web::{AppError, AppResult, FieldErrors, Hx, Layout, flash};

#[derive(Template)]
#[template(path = "security/overview.html", blocks = ["main"])]
struct OverviewPage {
    layout: Layout,
    mfa_on: bool,
    sessions: usize,
    active_tokens: usize,
    events: Vec<EventRow>,
    can_view_events: bool,
    can_edit_policy: bool,
}

pub async fn overview(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
) -> AppResult<Response> {
    let sessions = service::live_sessions(&state, &actor, &actor.user_id)
        .await?
        .len();
    let active_tokens = reads::active_token_count(&state.db, &actor).await?;
    let page = OverviewPage {
        layout,
        mfa_on: mfa::is_enabled(&state, &actor.user_id).await?,
        sessions,
        active_tokens,
        events: reads::recent_own_events(&state.db, &actor, 10).await?,
        can_view_events: can_view_events(&actor),
        can_edit_policy: can_edit_policy(&actor),
    };
    Ok(page!(hx, page)?.into_response())
}

// ---------------------------------------------------------------- sessions

pub struct SessionView {
    pub id: String,
    pub browser: String,
    pub os: String,
    pub ip: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub this_device: bool,
}

#[derive(Template)]
#[template(path = "security/sessions.html", blocks = ["main"])]
struct SessionsPage {
    layout: Layout,
    sessions: Vec<SessionView>,
    /// Set when an OWNER/ADMIN looks at a member's sessions: (id, e-mail).
    member: Option<(String, String)>,
}

#[derive(Deserialize, Default)]
pub struct SessionsQuery {
    #[serde(default)]
    user_id: String,
}

pub async fn sessions(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Query(q): Query<SessionsQuery>,
) -> AppResult<Response> {
    let user_id = q.user_id.trim();
    let member = if user_id.is_empty() || user_id == actor.user_id {
        None
    } else {
        let m = service::member_for_sessions(&state, &actor, user_id).await?;
        Some((m.id, m.email))
    };
    let whose = member
        .as_ref()
        .map_or(actor.user_id.as_str(), |m| m.0.as_str());
    let sessions = service::live_sessions(&state, &actor, whose)
        .await?
        .into_iter()
        .map(|s| {
            let (browser, os) = describe_user_agent(&s.user_agent);
            SessionView {
                this_device: s.id == actor.session_id,
                id: s.id,
                browser,
                os,
                ip: s.ip,
                created_at: s.created_at,
                last_seen_at: s.last_seen_at,
            }
        })
        .collect();
    let page = SessionsPage {
        layout,
        sessions,
        member,
    };
    Ok(page!(hx, page)?.into_response())
}

pub async fn revoke_session(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    session: tower_sessions::Session,
    Path(id): Path<String>,
    Form(form): Form<ConfirmForm>,
) -> AppResult<Response> {
    // Ending the session in use is signing out, which asks nothing; another one asks first.
    if id != actor.session_id && !confirm::confirmed(&form.confirm) {
        let row = super::reads::session(&state.db, &actor, &id).await?;
        let mut ask = Confirm::new(
            "End this session?",
            format!("/security/sessions/{id}/revoke"),
        )
        .consequence("That browser is signed out and must sign in again.")
        .button("End session")
        .back("/security/sessions");
        if row.user_id == actor.user_id {
            let (browser, os) = describe_user_agent(&row.user_agent);
            ask = ask.consequence(format!(
                "{browser} on {os} ({}) is signed out and must sign in again.",
                row.ip
            ));
        }
        return confirm::ask(hx, layout, ask);
    }
    let owner = service::revoke_session(&state, &actor, &id).await?;
    if id == actor.session_id {
        // Ending the session in use is signing out (its cookie is removed with it).
        session
            .flush()
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
        return Ok(flash::success(&state, "/login", "This session has ended."));
    }
    let back = if owner == actor.user_id {
        "/security/sessions".to_string()
    } else {
        format!("/security/sessions?user_id={owner}")
    };
    Ok(flash::success(&state, &back, "The session has ended."))
}

pub async fn revoke_other_sessions(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Form(form): Form<ConfirmForm>,
) -> AppResult<Response> {
    if !confirm::confirmed(&form.confirm) {
        let ask = Confirm::new("Sign out all your other sessions?", "/security/sessions/revoke-others")
            .consequence("Every other browser and device signed in as you must sign in again; this one stays signed in.")
            .button("Sign out other sessions")
            .back("/security/sessions");
        return confirm::ask(hx, layout, ask);
    }
    let ended = service::revoke_other_sessions(&state, &actor).await?;
    Ok(flash::success(
        &state,
        "/security/sessions",
        &format!("{ended} other session(s) signed out."),
    ))
}

#[derive(Deserialize, Default)]
pub struct ConfirmForm {
    #[serde(default)]
    confirm: String,
}

pub async fn end_member_sessions(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
    Form(form): Form<ConfirmForm>,
) -> AppResult<Response> {
    if !confirm::confirmed(&form.confirm) {
        let ask = Confirm::new(
            "End all sessions of this member?",
            format!("/security/users/{id}/sessions/revoke"),
        )
        .consequence("They are signed out on every device and must sign in again.")
        .button("End all sessions")
        .back(format!("/security/sessions?user_id={id}"));
        return confirm::ask(hx, layout, ask);
    }
    let (member, ended) = service::end_member_sessions(&state, &actor, &id).await?;
    Ok(flash::success(
        &state,
        &format!("/security/sessions?user_id={}", member.id),
        &format!("Ended {ended} session(s) of {}.", member.email),
    ))
}

// ---------------------------------------------------------------- events

#[derive(Deserialize, Default)]
pub struct EventsQuery {
    #[serde(default)]
    event_type: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    page: Option<String>,
}

#[derive(Template)]
#[template(path = "security/events.html", blocks = ["main"])]
struct EventsPage {
    layout: Layout,
    events: Vec<EventRow>,
    kinds: Vec<EventKind>,
    selected: Option<EventKind>,
    q: EventsQuery,
    errors: FieldErrors,
    pager: Pager,
    show_tenant: bool,
}

pub async fn events(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Query(q): Query<EventsQuery>,
) -> AppResult<Response> {
    let mut errors = FieldErrors::new();
    let mut date = |field: &'static str, raw: &str| -> Option<Timestamp> {
        let raw = raw.trim();
        if raw.is_empty() {
            return None;
        }
        let t = Timestamp::from_date(raw);
        if t.is_none() {
            errors.add(field, "Use a date like 2026-11-21.");
        }
        t
    };
    let from = date("from", &q.from);
    // "until" is inclusive for people: events of that whole day.
    let until = date("until", &q.until).map(|t| t.plus_secs(86_400));
    let selected = EventKind::parse(&q.event_type);
    let event_type = selected.map_or("", EventKind::as_str);
    let filter = reads::EventsQuery {
        event_type,
        user: &q.user,
        from,
        until,
        after: None,
    };
    let req = PageRequest::new(parse_page(q.page.as_deref()));
    let (events, total) = reads::events(&state.db, &actor, &filter, req).await?;
    let pager = Pager::new(
        "/security/events",
        req,
        total,
        filter_query(&[
            ("event_type", event_type),
            ("user", &q.user),
            ("from", &q.from),
            ("until", &q.until),
        ]),
    );
    let page = EventsPage {
        layout,
        events,
        kinds: EventKind::ALL.to_vec(),
        selected,
        q,
        errors,
        pager,
        show_tenant: actor.is_staff,
    };
    Ok(page!(hx, page)?.into_response())
}

// ---------------------------------------------------------------- policy

#[derive(Template)]
#[template(path = "security/policy.html", blocks = ["main"])]
struct PolicyPage {
    layout: Layout,
    form: PolicyInput,
    errors: FieldErrors,
    your_ip: String,
    server_idle: i64,
    server_absolute: i64,
}

fn policy_page(
    state: &AppState,
    layout: Layout,
    actor: &Actor,
    form: PolicyInput,
    errors: FieldErrors,
) -> PolicyPage {
    PolicyPage {
        layout,
        form,
        errors,
        your_ip: actor.client.ip.clone(),
        server_idle: state.config.session_idle_minutes,
        server_absolute: state.config.session_ttl_minutes,
    }
}

pub async fn policy_form(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
) -> AppResult<Response> {
    let policy = reads::policy_for_edit(&state.db, &actor).await?;
    let page = policy_page(
        &state,
        layout,
        &actor,
        PolicyInput::from_policy(&policy),
        FieldErrors::new(),
    );
    Ok(page!(hx, page)?.into_response())
}

pub async fn policy_submit(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Form(form): Form<PolicyInput>,
) -> AppResult<Response> {
    match service::save_policy(&state, &actor, &form).await {
        Ok(_) => Ok(flash::success(
            &state,
            "/security/policy",
            "The security policy has been saved.",
        )),
        Err(AppError::Invalid(errors)) => {
            let page = policy_page(&state, layout, &actor, form, errors);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page!(hx, page)?).into_response())
        }
        Err(e) => Err(e),
    }
}
