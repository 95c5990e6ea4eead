//! The `subscription.*` job handlers: activation after the first payment (or at once when
//! nothing was due) and the pod's provisioning outcome.

use serde::Deserialize;

use super::service;
use crate::cloudpods::handlers::POD_SETTLED_KIND;
use crate::jobs::{JobError, Registry};
use crate::state::AppState;
use crate::web::AppError;

/// The payload of the jobs that name only their subscription.
#[derive(Deserialize)]
struct Activate {
    subscription_id: String,
}

#[derive(Deserialize)]
struct InvoicePaid {
    subscription_id: String,
    invoice_id: String,
}

#[derive(Deserialize)]
struct PodSettled {
    subscription_id: String,
    pod_id: String,
}

fn job_error(e: AppError) -> JobError {
    match e {
        AppError::NotFound => JobError::permanent("the subscription or its pod does not exist"),
        AppError::Refused(m) => JobError::permanent(m),
        other => JobError::retry(other.to_string()),
    }
}

pub fn register(r: &mut Registry, state: &AppState) {
    let provisioner = state.provisioner.name().to_string();
    r.register(service::ACTIVATE_KIND, move |ctx| {
        let provisioner = provisioner.clone();
        async move {
            let p: Activate = ctx.parse()?;
            service::activate(&ctx.db, &provisioner, &p.subscription_id)
                .await
                .map_err(job_error)
        }
    });
    r.register(service::EXPIRE_KIND, |ctx| async move {
        let p: Activate = ctx.parse()?;
        service::expire(&ctx.db, &p.subscription_id, crate::db::Timestamp::now())
            .await
            .map(|_| ())
            .map_err(job_error)
    });
    r.register(service::PERIOD_END_KIND, |ctx| async move {
        let p: Activate = ctx.parse()?;
        service::end_period(&ctx.db, &p.subscription_id, crate::db::Timestamp::now())
            .await
            .map(|_| ())
            .map_err(job_error)
    });
    r.register(service::POD_CLEANUP_KIND, |ctx| async move {
        let p: PodSettled = ctx.parse()?;
        match service::delete_pod_of_cancelled(&ctx.db, &p.subscription_id, &p.pod_id).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(JobError::retry("another action still runs on the pod")),
            Err(e) => Err(job_error(e)),
        }
    });
    let clock = state.clock.clone();
    r.register(
        crate::billing::invoices::service::SUBSCRIPTION_INVOICE_PAID_KIND,
        move |ctx| {
            let today = clock.today();
            async move {
                let p: InvoicePaid = ctx.parse()?;
                service::invoice_paid(&ctx.db, &p.subscription_id, &p.invoice_id, today)
                    .await
                    .map_err(job_error)
            }
        },
    );
    r.register(service::PLAN_RESIZE_KIND, |ctx| async move {
        let p: Activate = ctx.parse()?;
        match service::resize_to_plan(&ctx.db, &p.subscription_id).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(JobError::retry("the pod cannot be resized yet")),
            Err(e) => Err(job_error(e)),
        }
    });
    r.register(POD_SETTLED_KIND, |ctx| async move {
        let p: PodSettled = ctx.parse()?;
        service::pod_settled(&ctx.db, &p.subscription_id, &p.pod_id)
            .await
            .map_err(job_error)
    });
}
