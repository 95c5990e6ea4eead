//! CloudPod plan specifications (CPU, RAM, disk) of a product.

use serde::Deserialize;

use super::require_write;
use crate::audit::{self, AuditEvent};
use crate::auth::model::Actor;
use crate::billing::catalog::store::{self, PlanSpecs};
use crate::db::Db;
use crate::web::{AppError, AppResult, FieldErrors};

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PlanInput {
    pub cpu_cores: String,
    pub ram_mb: String,
    pub disk_gb: String,
    pub max_websites: String,
    pub max_email_accounts: String,
    /// The backup policy new pods on the plan get; absent (an older form): unchanged.
    pub backup_frequency: Option<String>,
    pub backup_retention: Option<String>,
}

/// The backup frequencies a plan may give its pods (`cloudpods::backups::model::Frequency`).
pub const BACKUP_FREQUENCIES: &[&str] = &["DAILY", "WEEKLY"];

pub async fn update_plan(db: &Db, actor: &Actor, code: &str, input: &PlanInput) -> AppResult<()> {
    require_write(actor)?;
    let mut e = FieldErrors::new();
    let mut number = |field: &'static str, raw: &str, min: i64, max: i64| -> i64 {
        match raw.trim().parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => n,
            _ => {
                e.add(
                    field,
                    if min < 0 {
                        format!("Use a whole number from 0 to {max}, or -1 for unlimited.")
                    } else {
                        format!("Use a whole number from {min} to {max}.")
                    },
                );
                min
            }
        }
    };
    let specs = PlanSpecs {
        cpu_cores: number("cpu_cores", &input.cpu_cores, 1, 256),
        ram_mb: number("ram_mb", &input.ram_mb, 128, 4_194_304),
        disk_gb: number("disk_gb", &input.disk_gb, 1, 1_048_576),
        max_websites: number("max_websites", &input.max_websites, -1, 1_000_000),
        max_email_accounts: number(
            "max_email_accounts",
            &input.max_email_accounts,
            -1,
            1_000_000,
        ),
    };
    let backups = match (&input.backup_frequency, &input.backup_retention) {
        (None, None) => None,
        (f, r) => {
            let f = f.as_deref().unwrap_or("").trim().to_string();
            if !BACKUP_FREQUENCIES.contains(&f.as_str()) {
                e.add("backup_frequency", "Choose DAILY or WEEKLY.");
            }
            let r = match r.as_deref().unwrap_or("").trim().parse::<i64>() {
                Ok(n) if (1..=100).contains(&n) => n,
                _ => {
                    e.add("backup_retention", "Use a whole number from 1 to 100.");
                    1
                }
            };
            Some((f, r))
        }
    };
    e.into_result().map_err(AppError::Invalid)?;
    let mut tx = db.begin_write().await?;
    if store::update_plan(&mut tx, code, &specs).await? == 0 {
        return Err(AppError::NotFound);
    }
    let mut summary = format!(
        "Plan {code}: {} vCPU, {} MB RAM, {} GB disk, {} websites, {} e-mail accounts",
        specs.cpu_cores, specs.ram_mb, specs.disk_gb, specs.max_websites, specs.max_email_accounts
    );
    if let Some((frequency, retention)) = &backups {
        store::update_plan_backups(&mut tx, code, frequency, *retention).await?;
        summary.push_str(&format!(
            ", backups {} keeping {retention}",
            frequency.to_lowercase()
        ));
    }
    audit::record(
        &mut tx,
        actor,
        AuditEvent {
            tenant_id: None,
            action: "plan.updated",
            target_type: "cloudpod_plan",
            target_id: code,
            summary,
        },
    )
    .await?;
    tx.commit().await?;
    db.pages.invalidate();
    Ok(())
}
