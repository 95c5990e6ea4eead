//! The `invoice.mail` job: renders an issued invoice's e-mail (with its PDF) and sends it.

use std::sync::Arc;

use serde::Deserialize;

use super::service::{INVOICE_MAIL_KIND, invoice_mail};
use crate::config::Config;
use crate::jobs::{JobError, Registry};
use crate::mail::Mailer;
use crate::web::AppError;

#[derive(Deserialize)]
struct Payload {
    invoice_id: String,
}

/// A bad mail configuration fails each attempt (retryable), as `mail.send` does; start-up has
/// already refused it.
pub fn register(r: &mut Registry, config: &Config) {
    let mailer = Mailer::from_config(config)
        .map(Arc::new)
        .map_err(|e| format!("{e:#}"));
    r.register(INVOICE_MAIL_KIND, move |ctx| {
        let mailer = mailer.clone();
        async move {
            let mailer = mailer.map_err(JobError::retry)?;
            let p: Payload = ctx.parse()?;
            let mail = match invoice_mail(&ctx.db, &p.invoice_id).await {
                Ok(Some(mail)) => mail,
                Ok(None) => return Ok(()),
                Err(AppError::NotFound) => {
                    return Err(JobError::permanent("the invoice does not exist"));
                }
                Err(e) => return Err(JobError::retry(e.to_string())),
            };
            mailer.send(&mail).await
        }
    });
}
