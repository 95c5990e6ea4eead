//! Products, their status machine, visibility, and the pure pricing rules.

use crate::text_enum;

text_enum!(Category {
    Cloudpod => "CLOUDPOD" / "CloudPod",
    Addon => "ADDON" / "Add-on",
    Email => "EMAIL" / "E-mail",
    Domain => "DOMAIN" / "Domain",
    Security => "SECURITY" / "Security",
    Backup => "BACKUP" / "Backup",
    Support => "SUPPORT" / "Support",
    Other => "OTHER" / "Other",
});

text_enum!(BillingModel {
    OneTime => "ONE_TIME" / "One-time",
    Recurring => "RECURRING" / "Recurring",
    UsageBased => "USAGE_BASED" / "Usage-based",
    UsageTiered => "USAGE_TIERED" / "Usage, tiered",
});

text_enum!(ProductStatus {
    Active => "ACTIVE" / "Active",
    Inactive => "INACTIVE" / "Inactive",
    Deprecated => "DEPRECATED" / "Deprecated",
});

text_enum!(Visibility {
    Public => "PUBLIC" / "Public",
    Private => "PRIVATE" / "Private",
    Beta => "BETA" / "Beta (flagged tenants only)",
});

text_enum!(Period {
    Once => "ONCE" / "once",
    Hourly => "HOURLY" / "per hour",
    Monthly => "MONTHLY" / "per month",
    Yearly => "YEARLY" / "per year",
});

text_enum!(TierMode {
    Graduated => "GRADUATED" / "Graduated (each tier prices its own units)",
    Volume => "VOLUME" / "Volume (the reached tier prices all units)",
});

text_enum!(TaxCategory {
    Standard => "STANDARD" / "Standard rate",
    Reduced => "REDUCED" / "Reduced rate",
    Digital => "DIGITAL" / "Digital services",
    Exempt => "EXEMPT" / "Exempt",
});

/// Product status machine:
///
/// ```text
/// ACTIVE ⇄ INACTIVE
/// ACTIVE → DEPRECATED, INACTIVE → DEPRECATED   (DEPRECATED is final)
/// ```
///
/// INACTIVE hides a product temporarily; DEPRECATED retires it for good: it can no longer be
/// sold, but what was already sold (subscriptions, issued invoices) keeps referring to it.
pub fn transition_allowed(from: ProductStatus, to: ProductStatus) -> bool {
    use ProductStatus::*;
    matches!(
        (from, to),
        (Active, Inactive) | (Inactive, Active) | (Active, Deprecated) | (Inactive, Deprecated)
    )
}

pub fn next_statuses(from: ProductStatus) -> Vec<ProductStatus> {
    ProductStatus::ALL
        .iter()
        .copied()
        .filter(|to| transition_allowed(from, *to))
        .collect()
}

impl ProductStatus {
    /// A status with no way out (Deprecated): choosing it asks for confirmation first.
    pub fn is_final(self) -> bool {
        next_statuses(self).is_empty()
    }
}

/// Only ACTIVE products can be newly sold (ordered, put on a new invoice line).
pub fn can_be_sold(status: ProductStatus) -> bool {
    status == ProductStatus::Active
}

/// Who looks at the catalog: an anonymous visitor, or a customer tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Viewer {
    Public,
    Tenant { beta: bool },
}

/// PUBLIC for everyone; BETA only for tenants flagged for beta; PRIVATE never in the catalog.
pub fn offered_to(visibility: Visibility, viewer: Viewer) -> bool {
    match visibility {
        Visibility::Public => true,
        Visibility::Beta => viewer == Viewer::Tenant { beta: true },
        Visibility::Private => false,
    }
}

/// The price periods that make sense for a billing model.
pub fn periods_for(model: BillingModel) -> &'static [Period] {
    match model {
        BillingModel::OneTime => &[Period::Once],
        BillingModel::Recurring => &[Period::Hourly, Period::Monthly, Period::Yearly],
        // usage is metered per unit and billed per period
        BillingModel::UsageBased | BillingModel::UsageTiered => &[Period::Hourly, Period::Monthly],
    }
}

// ------------------------------------------------------------------ tiers

/// One step of a tiered price. `up_to` is inclusive; `None` is the last, open-ended tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tier {
    pub up_to: Option<i64>,
    pub unit_minor: i64,
    pub flat_minor: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PricingError {
    NoTiers,
    Unbounded,
    Overflow,
    NegativeQuantity,
}

impl std::fmt::Display for PricingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PricingError::NoTiers => "this product has no tiers in that currency",
            PricingError::Unbounded => "the tiers must end with an open-ended tier",
            PricingError::Overflow => "the amount is too large",
            PricingError::NegativeQuantity => "quantities cannot be negative",
        })
    }
}

/// Tiers sorted ascending with strictly increasing bounds and exactly one open-ended last tier.
pub fn tiers_problem(tiers: &[Tier]) -> Option<&'static str> {
    let Some(last) = tiers.last() else {
        return Some("Add at least one tier.");
    };
    if last.up_to.is_some() {
        return Some("The last tier must have no upper bound.");
    }
    let bounds: Vec<i64> = tiers.iter().filter_map(|t| t.up_to).collect();
    if bounds.len() != tiers.len() - 1 {
        return Some("Only the last tier may be open-ended.");
    }
    if bounds.iter().any(|b| *b < 1) || bounds.windows(2).any(|w| w[0] >= w[1]) {
        return Some("Tier bounds must be positive and increase.");
    }
    None
}

/// Sorts tiers into their pricing order: bounded ascending, open-ended last.
pub fn sort_tiers(tiers: &mut [Tier]) {
    tiers.sort_by_key(|t| t.up_to.unwrap_or(i64::MAX));
}

/// The charge in minor units for `quantity` units under `tiers`.
///
/// Graduated: units 1..=up_to₁ at tier 1's unit price, the next ones at tier 2's, …, plus the
/// flat fee of every tier reached. Volume: every unit at the unit price of the tier the total
/// falls in, plus that tier's flat fee. Zero units cost nothing.
pub fn tiered_charge(tiers: &[Tier], mode: TierMode, quantity: i64) -> Result<i64, PricingError> {
    if quantity < 0 {
        return Err(PricingError::NegativeQuantity);
    }
    if tiers.is_empty() {
        return Err(PricingError::NoTiers);
    }
    if quantity == 0 {
        return Ok(0);
    }
    let mul = |a: i64, b: i64| a.checked_mul(b).ok_or(PricingError::Overflow);
    let add = |a: i64, b: i64| a.checked_add(b).ok_or(PricingError::Overflow);
    match mode {
        TierMode::Volume => {
            let tier = tiers
                .iter()
                .find(|t| t.up_to.is_none_or(|u| quantity <= u))
                .ok_or(PricingError::Unbounded)?;
            add(mul(quantity, tier.unit_minor)?, tier.flat_minor)
        }
        TierMode::Graduated => {
            let mut total = 0i64;
            let mut priced = 0i64;
            for tier in tiers {
                let ceiling = tier.up_to.unwrap_or(i64::MAX).min(quantity);
                let units = ceiling - priced;
                if units > 0 {
                    total = add(total, add(mul(units, tier.unit_minor)?, tier.flat_minor)?)?;
                    priced = ceiling;
                }
                if priced >= quantity {
                    return Ok(total);
                }
            }
            Err(PricingError::Unbounded)
        }
    }
}

// ------------------------------------------------------------------ price resolution

/// A price override: replaces the base price for a scope (tenant, region, or only the
/// currency) during an optional window `[valid_from, valid_until)` (Unix ms).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Override {
    pub id: String,
    /// "" = any tenant.
    pub tenant_id: String,
    /// "" = any region.
    pub region: String,
    pub currency: String,
    pub period: Period,
    pub amount_minor: i64,
    pub setup_fee_minor: i64,
    pub valid_from: i64,
    pub valid_until: i64,
}

impl Override {
    pub fn valid_at(&self, at: i64) -> bool {
        self.valid_from <= at && at < self.valid_until
    }

    pub fn same_scope(&self, other: &Override) -> bool {
        self.tenant_id == other.tenant_id
            && self.region == other.region
            && self.currency == other.currency
            && self.period == other.period
    }

    pub fn overlaps(&self, other: &Override) -> bool {
        self.valid_from < other.valid_until && other.valid_from < self.valid_until
    }
}

/// Where a resolved price came from, in resolution order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum PriceSource {
    TenantOverride,
    RegionOverride,
    CurrencyOverride,
    Base,
}

impl PriceSource {
    pub fn label(self) -> &'static str {
        match self {
            PriceSource::TenantOverride => "tenant override",
            PriceSource::RegionOverride => "region override",
            PriceSource::CurrencyOverride => "currency override",
            PriceSource::Base => "base price",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriceQuery<'a> {
    pub tenant_id: &'a str,
    pub region: &'a str,
    pub currency: &'a str,
    pub period: Period,
    pub at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedPrice {
    pub amount_minor: i64,
    pub setup_fee_minor: i64,
    pub source: PriceSource,
    /// The override that produced the price, when one did.
    pub rule: Option<Override>,
}

/// Which level an override applies at for this query, if any. A tenant override that also
/// names a region applies only in that region, and ranks above one without a region.
fn level(o: &Override, q: &PriceQuery<'_>) -> Option<(PriceSource, u8)> {
    if !o.currency.eq_ignore_ascii_case(q.currency) || o.period != q.period || !o.valid_at(q.at) {
        return None;
    }
    let region_ok = o.region.is_empty() || o.region == q.region;
    if !o.tenant_id.is_empty() {
        return (o.tenant_id == q.tenant_id && region_ok)
            .then_some((PriceSource::TenantOverride, u8::from(o.region.is_empty())));
    }
    if !o.region.is_empty() {
        return (o.region == q.region).then_some((PriceSource::RegionOverride, 0));
    }
    Some((PriceSource::CurrencyOverride, 0))
}

/// Resolution order: tenant → region → currency → base. `base` is the product's list price
/// for the query's currency and period, if it has one.
pub fn resolve_price(
    base: Option<(i64, i64)>,
    overrides: &[Override],
    q: &PriceQuery<'_>,
) -> Option<ResolvedPrice> {
    let best = overrides
        .iter()
        .filter_map(|o| level(o, q).map(|l| (l, o)))
        // most specific first; among equals, the most recently started window
        .min_by_key(|((source, tie), o)| (*source, *tie, std::cmp::Reverse(o.valid_from)));
    if let Some(((source, _), o)) = best {
        return Some(ResolvedPrice {
            amount_minor: o.amount_minor,
            setup_fee_minor: o.setup_fee_minor,
            source,
            rule: Some(o.clone()),
        });
    }
    base.map(|(amount_minor, setup_fee_minor)| ResolvedPrice {
        amount_minor,
        setup_fee_minor,
        source: PriceSource::Base,
        rule: None,
    })
}

#[cfg(test)]
mod tests;
