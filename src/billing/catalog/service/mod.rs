//! Catalog actions: staff BILLING+ read, staff ADMIN+ write; customers only see `/catalog`.

mod overrides;
pub mod plans;
mod prices;
mod products;
mod reads;

pub use overrides::{OverrideInput, add_override, delete_override, scope_label, window_label};
pub use plans::{PlanInput, update_plan};
pub use prices::{PriceInput, TierInput, add_tier, delete_price, delete_tier, set_price, tier_set};
pub use products::{
    ProductInput, change_status, create_product, get_product, product_version, update_product,
    update_product_at,
};
pub use reads::{
    ProductDetail, active_product_choices, catalog_page, list_products, orderable, plans,
    plans_with_prices, product_choices, product_detail, product_tiers,
};

use super::model::{self, BillingModel, Period};
use crate::audit::AuditEvent;
use crate::auth::model::{Actor, Role};
use crate::billing::money::{self, Currency};
use crate::web::{AppError, AppResult, FieldErrors};

pub fn can_read(actor: &Actor) -> bool {
    actor.is_staff_at_least(Role::Billing)
}

pub fn can_write(actor: &Actor) -> bool {
    actor.is_staff_at_least(Role::Admin)
}

fn require_write(actor: &Actor) -> AppResult<()> {
    if can_write(actor) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

pub fn require_read(actor: &Actor) -> AppResult<()> {
    if can_read(actor) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

fn product_event<'a>(action: &'a str, id: &'a str, summary: String) -> AuditEvent<'a> {
    AuditEvent {
        tenant_id: None,
        action,
        target_type: "product",
        target_id: id,
        summary,
    }
}

fn parse_currency(e: &mut FieldErrors, raw: &str) -> Option<Currency> {
    let c = money::currency(raw);
    if c.is_none() {
        e.add(
            "currency",
            "Choose a supported currency (e.g. USD, EUR, JPY, KWD).",
        );
    }
    c
}

fn parse_period(e: &mut FieldErrors, raw: &str, product_model: BillingModel) -> Period {
    match Period::parse(raw) {
        Some(p) if model::periods_for(product_model).contains(&p) => p,
        Some(p) => {
            e.add(
                "period",
                format!(
                    "A {} product is not priced {}.",
                    product_model.label().to_lowercase(),
                    p.label()
                ),
            );
            p
        }
        None => {
            e.add("period", "Choose a period.");
            Period::Monthly
        }
    }
}

fn parse_money(
    e: &mut FieldErrors,
    field: &'static str,
    raw: &str,
    cur: Option<Currency>,
    optional: bool,
) -> i64 {
    let Some(cur) = cur else { return 0 };
    if optional && raw.trim().is_empty() {
        return 0;
    }
    money::parse_amount(raw, cur).unwrap_or_else(|m| {
        e.add(field, m);
        0
    })
}
