//! The audit log: one table, one helper every service action calls inside its transaction.

pub mod pages;
pub mod service;
pub mod store;

use crate::actor::{Actor, ClientInfo};
use crate::db::{Timestamp, Tx, new_id};

/// Who did it: a signed-in user, or an anonymous client (failed login, first-run setup).
#[derive(Clone, Copy)]
pub struct AuditActor<'a> {
    pub tenant_id: Option<&'a str>,
    pub user_id: Option<&'a str>,
    pub email: &'a str,
    pub client: &'a ClientInfo,
}

impl<'a> From<&'a Actor> for AuditActor<'a> {
    fn from(a: &'a Actor) -> AuditActor<'a> {
        AuditActor {
            tenant_id: Some(&a.tenant_id),
            user_id: Some(&a.user_id),
            email: &a.email,
            client: &a.client,
        }
    }
}

/// What was done to what. `tenant_id` is the tenant the change belongs to, which for staff
/// acting on a customer is the customer's tenant, so that tenant's owner sees it too.
pub struct AuditEvent<'a> {
    pub tenant_id: Option<&'a str>,
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: &'a str,
    pub summary: String,
}

/// Writes several audit entries in one statement (a bill run's batch), in the caller's
/// transaction, each exactly as [`record`] would.
pub async fn record_many(
    tx: &mut Tx,
    entries: &[(AuditActor<'_>, AuditEvent<'_>)],
) -> sqlx::Result<()> {
    let at = Timestamp::now();
    let ids: Vec<String> = entries.iter().map(|_| new_id()).collect();
    let rows: Vec<store::NewEntry<'_>> = entries
        .iter()
        .zip(&ids)
        .map(|((actor, event), id)| store::NewEntry {
            id,
            tenant_id: event.tenant_id.or(actor.tenant_id),
            actor_user_id: actor.user_id,
            actor_email: actor.email,
            action: event.action,
            target_type: event.target_type,
            target_id: event.target_id,
            summary: &event.summary,
            ip: &actor.client.ip,
            user_agent: &actor.client.user_agent,
            at,
        })
        .collect();
    store::insert_many(tx, &rows).await
}

/// Writes one audit entry in the caller's transaction: it commits or rolls back with the change.
pub async fn record(
    tx: &mut Tx,
    actor: impl Into<AuditActor<'_>>,
    event: AuditEvent<'_>,
) -> sqlx::Result<()> {
    let actor = actor.into();
    store::insert(
        tx,
        &store::NewEntry {
            id: &new_id(),
            tenant_id: event.tenant_id.or(actor.tenant_id),
            actor_user_id: actor.user_id,
            actor_email: actor.email,
            action: event.action,
            target_type: event.target_type,
            target_id: event.target_id,
            summary: &event.summary,
            ip: &actor.client.ip,
            user_agent: &actor.client.user_agent,
            at: Timestamp::now(),
        },
    )
    .await
}
