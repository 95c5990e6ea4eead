//! Checking an order: who may order for which tenant, what the tenant may buy (ACTIVE;
//! PUBLIC, or BETA when flagged; never an ADDON as the main product), the period and its
//! price, the quantity, the add-ons, and a CloudPod's name and region. Every problem is a
//! field error beside its field.

use super::can_order;
use super::order::{MAX_ADDONS, MAX_QUANTITY, OrderInput};
use crate::auth::model::Actor;
use crate::auth::store::TenantRow;
use crate::billing::catalog::model::{self as catalog, Category, Period, PriceQuery, Viewer};
use crate::billing::catalog::pricing;
use crate::billing::catalog::store::{self as catalog_store, ProductRow};
use crate::cloudpods::model as pods;
use crate::db::{TenantScope, Timestamp, Tx};
use crate::subscriptions::lines::Priced;
use crate::subscriptions::model::usage::is_metered;
use crate::subscriptions::store;
use crate::web::{AppError, AppResult, FieldErrors};

/// A validated order, ready to be created.
pub(super) struct Checked {
    pub(super) tenant: TenantRow,
    pub(super) product: ProductRow,
    pub(super) period: Period,
    pub(super) quantity: i64,
    pub(super) items: Vec<Priced>,
    pub(super) pod_name: String,
    pub(super) region: String,
    pub(super) key: String,
    /// The usage-priced items' products: no flat price on any invoice.
    pub(super) metered: Vec<String>,
}

fn key_of(e: &mut FieldErrors, raw: &str) -> String {
    let key = raw.trim();
    if key.len() < 16
        || key.len() > 64
        || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        e.add(
            "product",
            "This form has expired. Reload the page and try again.",
        );
    }
    key.to_string()
}

/// Whether `tenant` may buy `p` now: ACTIVE, offered to it (PUBLIC; BETA when flagged).
fn buyable(p: &ProductRow, tenant: &TenantRow) -> bool {
    catalog::can_be_sold(p.status)
        && catalog::offered_to(
            p.visibility,
            Viewer::Tenant {
                beta: tenant.beta == 1,
            },
        )
}

async fn price(
    tx: &mut Tx,
    tenant: &TenantRow,
    p: &ProductRow,
    period: Period,
    region: &str,
    quantity: i64,
) -> AppResult<Option<Priced>> {
    if is_metered(p.billing_model) {
        return metered(tx, tenant, p, period, region).await;
    }
    let q = PriceQuery {
        tenant_id: &tenant.id,
        region,
        currency: &tenant.currency,
        period,
        at: Timestamp::now().0,
    };
    // Through the order's own transaction: see `pricing::resolve_one`.
    Ok(pricing::resolve_one(tx, &p.id, &q).await?.map(|r| Priced {
        product_id: p.id.clone(),
        name: p.name.clone(),
        code: p.code.clone(),
        quantity,
        unit_minor: r.amount_minor,
        setup_fee_minor: r.setup_fee_minor,
    }))
}

/// A usage-priced product as an item: no flat price (its usage is billed as each period
/// closes), only when the catalog can price its usage for the tenant (a usage price for the
/// period, or valid tiers in the currency). A usage price's setup fee is kept.
async fn metered(
    tx: &mut Tx,
    tenant: &TenantRow,
    p: &ProductRow,
    period: Period,
    region: &str,
) -> AppResult<Option<Priced>> {
    let setup_fee_minor = if p.billing_model == catalog::BillingModel::UsageTiered {
        let mut tiers: Vec<catalog::Tier> =
            catalog_store::tiers_in(&mut **tx, &p.id, &tenant.currency)
                .await?
                .iter()
                .map(catalog_store::TierRow::tier)
                .collect();
        catalog::sort_tiers(&mut tiers);
        if catalog::tiers_problem(&tiers).is_some() {
            return Ok(None);
        }
        0
    } else {
        let q = PriceQuery {
            tenant_id: &tenant.id,
            region,
            currency: &tenant.currency,
            period,
            at: Timestamp::now().0,
        };
        match pricing::resolve_one(tx, &p.id, &q).await? {
            Some(r) => r.setup_fee_minor,
            None => return Ok(None),
        }
    };
    Ok(Some(Priced {
        product_id: p.id.clone(),
        name: p.name.clone(),
        code: p.code.clone(),
        quantity: 1,
        unit_minor: 0,
        setup_fee_minor,
    }))
}

pub(super) async fn check(tx: &mut Tx, actor: &Actor, input: &OrderInput) -> AppResult<Checked> {
    if !can_order(actor) {
        return Err(AppError::Forbidden);
    }
    let mut e = FieldErrors::new();
    let key = key_of(&mut e, &input.idempotency_key);
    let tenant_id = if actor.is_staff {
        input.tenant_id.trim()
    } else {
        actor.tenant_id.as_str()
    };
    let tenant = crate::auth::store::get_tenant(&mut **tx, &TenantScope::All, tenant_id)
        .await?
        .filter(|t| t.kind == crate::actor::TenantKind::Customer);
    let Some(tenant) = tenant else {
        e.add("tenant_id", "Choose a customer tenant.");
        return Err(AppError::Invalid(e));
    };
    let product = catalog_store::product_by_code(&mut **tx, input.product.trim())
        .await?
        .filter(|p| buyable(p, &tenant) && p.category != Category::Addon);
    if product.is_none() {
        e.add("product", "Choose a product your account can order.");
    }
    if let Some(p) = product.as_ref().filter(|p| is_metered(p.billing_model)) {
        e.add(
            "product",
            format!(
                "{} is billed by its usage: order it as the add-on of a plan.",
                p.name
            ),
        );
    }
    let period = Period::parse(input.period.trim()).filter(|p| *p != Period::Once);
    if period.is_none() {
        e.add(
            "period",
            "Choose a billing period: hourly, monthly or yearly.",
        );
    }
    let max = if product
        .as_ref()
        .is_some_and(|p| p.category == Category::Cloudpod)
    {
        1
    } else {
        MAX_QUANTITY
    };
    let quantity = match input.quantity.trim().parse::<i64>() {
        Ok(n) if (1..=max).contains(&n) => n,
        _ if max == 1 => {
            e.add("quantity", "A CloudPod is ordered one at a time: use 1.");
            0
        }
        _ => {
            e.add(
                "quantity",
                format!("Use a whole number from 1 to {MAX_QUANTITY}."),
            );
            0
        }
    };
    // Add-ons: each an ADDON product the tenant may buy, each once, at most MAX_ADDONS.
    let mut addons: Vec<ProductRow> = Vec::new();
    let mut codes: Vec<&str> = input
        .addon
        .iter()
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
        .collect();
    codes.dedup();
    if codes.len() > MAX_ADDONS {
        e.add("addon", format!("Choose at most {MAX_ADDONS} add-ons."));
        codes.clear();
    }
    for code in codes {
        if addons.iter().any(|a| a.code == code) {
            continue;
        }
        let a = catalog_store::product_by_code(&mut **tx, code)
            .await?
            .filter(|a| buyable(a, &tenant));
        match a {
            Some(a) if a.category == Category::Addon => addons.push(a),
            Some(a) => e.add("addon", format!("{} is not an add-on.", a.name)),
            None => e.add("addon", "Choose add-ons your account can order."),
        }
    }
    let mut pod_name = String::new();
    let mut region = tenant.region.clone();
    if let Some(p) = product
        .as_ref()
        .filter(|p| p.category == Category::Cloudpod)
    {
        pod_name = pods::pod_name(&input.pod_name)
            .map_err(|m| e.add("pod_name", m))
            .unwrap_or_default();
        if !input.region.trim().is_empty() {
            region = pods::region_code(&input.region)
                .map_err(|m| e.add("region", m))
                .unwrap_or_default();
        }
        if !pod_name.is_empty()
            && (crate::cloudpods::service::name_taken(tx, &tenant.id, &pod_name).await?
                || store::pod_name_pending(tx, &tenant.id, &pod_name).await?)
        {
            e.add("pod_name", "You already have a pod with that name.");
        }
        if catalog_store::plan_for_product(&mut **tx, &p.id)
            .await?
            .is_none()
        {
            e.add("product", "This CloudPod product has no plan configured.");
        }
    }
    let mut items = Vec::new();
    if let (Some(p), Some(period)) = (&product, period) {
        match price(tx, &tenant, p, period, &region, quantity.max(1)).await? {
            Some(i) => items.push(i),
            None => e.add(
                "period",
                format!(
                    "{} has no price {} in {}.",
                    p.name,
                    period.label(),
                    tenant.currency
                ),
            ),
        }
        for a in &addons {
            match price(tx, &tenant, a, period, &region, 1).await? {
                Some(i) => items.push(i),
                None => e.add(
                    "addon",
                    format!(
                        "{} has no price {} in {}.",
                        a.name,
                        period.label(),
                        tenant.currency
                    ),
                ),
            }
        }
    }
    e.into_result().map_err(AppError::Invalid)?;
    let (Some(product), Some(period)) = (product, period) else {
        unreachable!("errors returned above");
    };
    let metered = addons
        .iter()
        .filter(|a| is_metered(a.billing_model))
        .map(|a| a.id.clone())
        .collect();
    Ok(Checked {
        tenant,
        product,
        period,
        quantity,
        items,
        pod_name,
        region,
        key,
        metered,
    })
}
