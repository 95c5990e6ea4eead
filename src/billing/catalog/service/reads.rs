//! What staff read in the catalog (BILLING+): the product list and one product with its
//! prices, tiers, overrides and plan.

use super::require_read;
use crate::auth::model::Actor;
use crate::billing::catalog::store::{
    self, OverrideRow, PlanRow, PriceRow, ProductFilter, ProductRow, TierRow,
};
use crate::db::Db;
use crate::web::AppResult;
use crate::web::pagination::PageRequest;

/// One page of products and their total.
pub async fn list_products(
    db: &Db,
    actor: &Actor,
    filter: &ProductFilter<'_>,
    sort: &str,
    req: PageRequest,
) -> AppResult<(Vec<ProductRow>, i64)> {
    require_read(actor)?;
    Ok(store::list_products(db, filter, sort, req.size, req.offset()).await?)
}

/// A product's prices, tiers, overrides and plan (for its page).
pub struct ProductDetail {
    pub product: ProductRow,
    pub prices: Vec<PriceRow>,
    pub tiers: Vec<TierRow>,
    pub overrides: Vec<OverrideRow>,
    pub plan: Option<PlanRow>,
}

pub async fn product_detail(db: &Db, actor: &Actor, id: &str) -> AppResult<ProductDetail> {
    let product = super::get_product(db, actor, id).await?;
    let pool = &db.pool;
    Ok(ProductDetail {
        prices: store::prices(pool, id).await?,
        tiers: store::tiers(pool, id).await?,
        overrides: store::overrides(pool, id).await?,
        plan: store::plan_for_product(pool, id).await?,
        product,
    })
}

/// A product's usage tiers, every currency.
pub async fn product_tiers(
    db: &Db,
    actor: &Actor,
    product: &ProductRow,
) -> AppResult<Vec<TierRow>> {
    require_read(actor)?;
    Ok(store::tiers(&db.pool, &product.id).await?)
}
