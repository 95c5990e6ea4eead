//! The `billing.bill_run` job: one bill run as of the clock's now.

use serde::Deserialize;

use super::model::Settings;
use super::service::{self, BILL_RUN_KIND};
use crate::jobs::{JobError, Registry};
use crate::state::AppState;

#[derive(Deserialize)]
struct Payload {
    started_by: String,
}

pub fn register(r: &mut Registry, state: &AppState) {
    // Checked at start-up (build_state): here they are known to be valid.
    let settings =
        Settings::from_config(&state.config).expect("billing settings checked at start-up");
    let clock = state.clock.clone();
    r.register(BILL_RUN_KIND, move |ctx| {
        let settings = settings.clone();
        let clock = clock.clone();
        async move {
            let p: Payload = ctx.parse()?;
            service::bill_run(&ctx.db, &settings, clock.now(), &p.started_by)
                .await
                .map(|_| ())
                .map_err(|e| JobError::retry(e.to_string()))
        }
    });
}
