//! SQL for products, prices, tiers, overrides and CloudPod plans. Queries only.
//!
//! Split by responsibility: `products` (product rows, lists, the public catalog), `prices`
//! (base prices and usage tiers), `overrides` (price overrides), `plans` (CloudPod plans).

mod overrides;
mod plans;
mod prices;
mod products;

pub use overrides::{
    OverrideRow, delete_override, insert_override, overrides, overrides_for, overrides_in_scope,
};
pub use plans::{
    PlanRow, PlanSpecs, plan, plan_for_product, plans, update_plan, update_plan_backups,
};
pub use prices::{
    PriceRow, TierRow, delete_price, delete_tier, insert_tier, prices, prices_for, tiers,
    tiers_for, tiers_in, upsert_price,
};
pub use products::{
    ProductFields, ProductFilter, ProductRow, active_product_choices, get_product, insert_product,
    list_catalog, list_products, lock_product, order_by, product_by_code, set_status,
    update_product,
};

/// `$first, $first+1, …` placeholders for an IN list of `n` values.
pub(super) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}
