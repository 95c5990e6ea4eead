//! The `payments.webhook` job: processes one stored webhook event.

use serde::Deserialize;

use super::service;
use crate::jobs::Registry;

#[derive(Deserialize)]
struct Payload {
    event: String,
}

pub fn register(r: &mut Registry) {
    r.register(service::WEBHOOK_KIND, |ctx| async move {
        let p: Payload = ctx.parse()?;
        service::process(&ctx.db, &p.event, &ctx.job.id).await
    });
}
