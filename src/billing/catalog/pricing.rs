//! Prices as people read them: the resolved price per period for a viewer, for the public
//! catalog and the staff pricing page. Loads in batches (one query per kind per page).

use std::collections::HashMap;

use super::model::{self, BillingModel, Override, Period, PriceQuery, ResolvedPrice, TierMode};
use super::store::{self, OverrideRow, PriceRow, ProductRow, TierRow};
use crate::billing::money;
use crate::db::Db;

/// Whose prices: the tenant and region that overrides are matched against.
#[derive(Clone, Debug, Default)]
pub struct PriceContext {
    pub tenant_id: String,
    pub region: String,
    pub currency: String,
    pub at: i64,
}

#[derive(Clone, Debug)]
pub struct PriceLine {
    /// "USD 9.99 per month", "USD 0.05 per GB, billed monthly", "from USD 0.02 per GB".
    pub text: String,
    pub setup_fee: String,
    /// Where it came from when it is not the list price ("region override" …), else "".
    pub source: &'static str,
}

/// Every product of a page with its price lines in the context's currency.
pub async fn price_lines(
    db: &Db,
    products: &[ProductRow],
    ctx: &PriceContext,
) -> sqlx::Result<HashMap<String, Vec<PriceLine>>> {
    let ids: Vec<String> = products.iter().map(|p| p.id.clone()).collect();
    let prices = store::prices_for(&db.pool, &ids, &ctx.currency).await?;
    let overrides = store::overrides_for(
        &db.pool,
        &ids,
        &ctx.currency,
        &ctx.tenant_id,
        &ctx.region,
        ctx.at,
    )
    .await?;
    // most pages have no tiered product: skip the query then
    let tiered: Vec<String> = products
        .iter()
        .filter(|p| p.billing_model == BillingModel::UsageTiered)
        .map(|p| p.id.clone())
        .collect();
    let tiers = store::tiers_for(&db.pool, &tiered, &ctx.currency).await?;
    Ok(products
        .iter()
        .map(|p| (p.id.clone(), lines_for(p, &prices, &overrides, &tiers, ctx)))
        .collect())
}

fn lines_for(
    p: &ProductRow,
    prices: &[PriceRow],
    overrides: &[OverrideRow],
    tiers: &[TierRow],
    ctx: &PriceContext,
) -> Vec<PriceLine> {
    let billing = p.billing_model;
    if billing == BillingModel::UsageTiered {
        let mine: Vec<&TierRow> = tiers.iter().filter(|t| t.product_id == p.id).collect();
        let mode = p.tier_mode;
        return mine
            .iter()
            .map(|t| t.unit_minor)
            .min()
            .map(|lowest| PriceLine {
                text: format!(
                    "from {} per {} ({} tiers, {})",
                    money::format_money(lowest, &ctx.currency),
                    p.unit_name,
                    mine.len(),
                    if mode == TierMode::Volume {
                        "volume"
                    } else {
                        "graduated"
                    }
                ),
                setup_fee: String::new(),
                source: "",
            })
            .into_iter()
            .collect();
    }
    let rules: Vec<Override> = overrides
        .iter()
        .filter(|o| o.product_id == p.id)
        .map(OverrideRow::rule)
        .collect();
    model::periods_for(billing)
        .iter()
        .filter_map(|period| {
            let base = prices
                .iter()
                .find(|r| r.product_id == p.id && r.period == *period)
                .map(|r| (r.amount_minor, r.setup_fee_minor));
            let q = PriceQuery {
                tenant_id: &ctx.tenant_id,
                region: &ctx.region,
                currency: &ctx.currency,
                period: *period,
                at: ctx.at,
            };
            model::resolve_price(base, &rules, &q)
                .map(|r| line(p, billing, *period, &r, &ctx.currency))
        })
        .collect()
}

fn line(
    p: &ProductRow,
    billing: BillingModel,
    period: Period,
    r: &ResolvedPrice,
    currency: &str,
) -> PriceLine {
    let amount = money::format_money(r.amount_minor, currency);
    let text = match billing {
        BillingModel::UsageBased => format!(
            "{amount} per {}, billed {}",
            p.unit_name,
            period_adverb(period)
        ),
        BillingModel::OneTime => format!("{amount} once"),
        _ => format!("{amount} {}", period.label()),
    };
    PriceLine {
        text,
        setup_fee: if r.setup_fee_minor > 0 {
            money::format_money(r.setup_fee_minor, currency)
        } else {
            String::new()
        },
        source: if r.source == model::PriceSource::Base {
            ""
        } else {
            r.source.label()
        },
    }
}

fn period_adverb(p: Period) -> &'static str {
    match p {
        Period::Hourly => "hourly",
        Period::Monthly => "monthly",
        Period::Yearly => "yearly",
        Period::Once => "once",
    }
}

/// The resolved price of one product for one query, with every rule considered.
/// `conn` is a pool connection or the caller's transaction (`&mut **tx`): a caller holding a
/// write transaction prices through it, never through a second pool connection (which, with
/// every connection held by such a caller, would wait for ever).
pub async fn resolve_one(
    conn: &mut sqlx::AnyConnection,
    product_id: &str,
    q: &PriceQuery<'_>,
) -> sqlx::Result<Option<ResolvedPrice>> {
    let base = store::prices(&mut *conn, product_id)
        .await?
        .into_iter()
        .find(|r| r.currency == q.currency && r.period == q.period)
        .map(|r| (r.amount_minor, r.setup_fee_minor));
    let rules: Vec<Override> = store::overrides(&mut *conn, product_id)
        .await?
        .iter()
        .map(OverrideRow::rule)
        .collect();
    Ok(model::resolve_price(base, &rules, q))
}
