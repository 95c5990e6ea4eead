//! `/api/v1/security/events` (the security events log, cursor paged) and
//! `/api/v1/security/policy` (the tenant's security policy, OWNER/ADMIN as on its page). The
//! policy answer carries its version as `ETag`; a `PATCH` with a stale `If-Match` is 412.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::event_store::EventRow;
use super::model::{EventKind, Policy, PolicyInput, Scope};
use super::{reads, service};
use crate::api::{ApiActor, ApiError, ApiJson, ApiQuery, CursorQuery, TenantRef, rfc3339};
use crate::state::AppState;
use crate::web::pagination::PageRequest;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/security/events", get(events))
        .route("/api/v1/security/policy", get(policy).patch(update_policy))
}

#[derive(OpenApi)]
#[openapi(
    paths(events, policy, update_policy),
    components(schemas(Event, EventList, PolicyBody, PolicyPatch))
)]
struct Doc;

pub fn openapi() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}

/// One security event.
#[derive(Serialize, ToSchema)]
pub struct Event {
    pub id: String,
    /// LOGIN_SUCCESS, LOGIN_FAILED, TOKEN_CREATED, SESSION_REVOKED, POLICY_UPDATED, …
    pub event_type: String,
    pub summary: String,
    /// The e-mail of who acted (or tried to).
    pub email: String,
    /// The tenant it belongs to (absent for events outside any tenant).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<TenantRef>,
    pub ip: String,
    pub user_agent: String,
    /// RFC 3339, UTC.
    pub created_at: String,
}

fn event(e: &EventRow) -> Event {
    Event {
        id: e.id.clone(),
        event_type: e.event_type.as_str().to_string(),
        summary: e.summary.clone(),
        email: e.email.clone(),
        tenant: e.tenant_id.as_ref().map(|id| TenantRef {
            id: id.clone(),
            name: e.tenant_name.clone().unwrap_or_default(),
        }),
        ip: e.ip.clone(),
        user_agent: e.user_agent.clone(),
        created_at: rfc3339(e.created_at),
    }
}

#[derive(Serialize, ToSchema)]
pub struct EventList {
    pub items: Vec<Event>,
    /// The cursor of the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct EventsQuery {
    /// Only events of this type (LOGIN_FAILED, TOKEN_CREATED, …).
    event_type: Option<String>,
    /// How many events (1 to 100, 25 when absent).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The security events log, newest first: OWNER/ADMIN their tenant's, staff ADMIN+ everyone's.
#[utoipa::path(get, path = "/api/v1/security/events", tag = "security",
    description = "Scope: READ. OWNER/ADMIN.",
    params(EventsQuery),
    responses((status = 200, description = "One page of events", body = EventList)))]
async fn events(
    State(state): State<AppState>,
    api: ApiActor,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> Result<Json<EventList>, ApiError> {
    api.read()?;
    let at = CursorQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .page()?;
    let event_type = match q.event_type.as_deref().filter(|s| !s.is_empty()) {
        None => "",
        Some(s) => EventKind::parse(s)
            .map(EventKind::as_str)
            .ok_or_else(|| ApiError::bad_parameter("event_type", "No such event type."))?,
    };
    let filter = reads::EventsQuery {
        event_type,
        user: "",
        from: None,
        until: None,
        after: at.after(),
    };
    let req = PageRequest {
        page: 1,
        size: at.fetch(),
    };
    let (rows, _) = reads::events(&state.db, &api.actor, &filter, req).await?;
    let page = at.finish(rows, |e| (e.created_at.0, e.id.as_str()));
    Ok(Json(EventList {
        items: page.items.iter().map(event).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// The tenant's security policy.
#[derive(Serialize, ToSchema)]
pub struct PolicyBody {
    /// 8 to 64.
    pub min_password_length: i64,
    /// Refuse the most common passwords.
    pub reject_common: bool,
    /// Every member must use a second factor.
    pub require_mfa: bool,
    /// Addresses or CIDR ranges allowed to sign in and use tokens; empty: any.
    pub ip_allowlist: Vec<String>,
    /// Minutes of inactivity that end a session; 0: the server's limit.
    pub idle_minutes: i64,
    /// Minutes after which a session ends however active; 0: the server's limit.
    pub absolute_minutes: i64,
    /// Members of this role and above must use passkeys; absent: nobody.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub passkeys_min_role: Option<String>,
}

fn policy_body(p: &Policy) -> PolicyBody {
    PolicyBody {
        min_password_length: p.min_password_length,
        reject_common: p.reject_common,
        require_mfa: p.require_mfa,
        ip_allowlist: p.ip_allowlist.iter().map(ToString::to_string).collect(),
        idle_minutes: p.idle_minutes,
        absolute_minutes: p.absolute_minutes,
        passkeys_min_role: p.passkeys_min_role.map(|r| r.as_str().to_string()),
    }
}

fn answer(p: &Policy) -> Response {
    let mut res = (StatusCode::OK, Json(policy_body(p))).into_response();
    if let Ok(v) = HeaderValue::from_str(&p.version()) {
        res.headers_mut().insert(header::ETAG, v);
    }
    res
}

/// The token tenant's policy; its version is in `ETag`.
#[utoipa::path(get, path = "/api/v1/security/policy", tag = "security",
    description = "Scope: READ. OWNER/ADMIN.",
    responses((status = 200, description = "The policy", body = PolicyBody,
        headers(("ETag" = String, description = "The policy's version, for If-Match")))))]
async fn policy(State(state): State<AppState>, api: ApiActor) -> Result<Response, ApiError> {
    api.read()?;
    let p = reads::policy_for_edit(&state.db, &api.actor).await?;
    Ok(answer(&p))
}

/// The fields to change; those not given keep their value.
#[derive(Deserialize, Default, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyPatch {
    /// 8 to 64.
    pub min_password_length: Option<i64>,
    pub reject_common: Option<bool>,
    pub require_mfa: Option<bool>,
    /// Addresses or CIDR ranges (at most 100); an empty list allows any address. Your own
    /// address must stay allowed.
    pub ip_allowlist: Option<Vec<String>>,
    /// 0 (the server's limit) or 1 to 10080.
    pub idle_minutes: Option<i64>,
    /// 0 (the server's limit) or 1 to 525600.
    pub absolute_minutes: Option<i64>,
    /// A role (OWNER, ADMIN, BILLING, MEMBER, VIEWER), or "" for nobody.
    pub passkeys_min_role: Option<String>,
}

impl PolicyPatch {
    /// These fields over the policy's form as it is.
    fn over(self, mut f: PolicyInput) -> PolicyInput {
        let minutes = |m: i64| if m == 0 { String::new() } else { m.to_string() };
        let flag = |b: bool| b.then(|| "on".to_string());
        if let Some(n) = self.min_password_length {
            f.min_password_length = n.to_string();
        }
        if let Some(b) = self.reject_common {
            f.reject_common = flag(b);
        }
        if let Some(b) = self.require_mfa {
            f.require_mfa = flag(b);
        }
        if let Some(list) = self.ip_allowlist {
            f.ip_allowlist = list.join("\n");
        }
        if let Some(m) = self.idle_minutes {
            f.idle_minutes = minutes(m);
        }
        if let Some(m) = self.absolute_minutes {
            f.absolute_minutes = minutes(m);
        }
        if let Some(r) = self.passkeys_min_role {
            f.passkeys_min_role = r;
        }
        f
    }
}

/// Changes the token tenant's policy (OWNER/ADMIN): only the fields given change. With
/// `If-Match` (the `ETag` read), a policy changed meanwhile is refused with 412.
#[utoipa::path(patch, path = "/api/v1/security/policy", tag = "security",
    description = "Scopes: WRITE + SECURITY + ADMIN. OWNER/ADMIN.",
    params(("If-Match" = Option<String>, Header,
        description = "The ETag read; 412 if the policy changed since")),
    request_body = PolicyPatch,
    responses((status = 200, description = "The policy as saved", body = PolicyBody),
        (status = 412, description = "The policy changed since the ETag was read",
            body = crate::api::error::ErrorBody)))]
async fn update_policy(
    State(state): State<AppState>,
    api: ApiActor,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PolicyPatch>,
) -> Result<Response, ApiError> {
    api.write(Scope::Security)?;
    api.require(Scope::Admin)?;
    let if_match = headers
        .get(header::IF_MATCH)
        .map(|v| v.to_str().unwrap_or("\u{1}").to_string());
    let current = reads::policy_for_edit(&state.db, &api.actor).await?;
    let input = body.over(PolicyInput::from_policy(&current));
    let saved = service::save_policy_at(&state, &api.actor, &input, if_match.as_deref()).await?;
    Ok(answer(&saved))
}
