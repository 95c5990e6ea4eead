//! What staff read in the catalog (BILLING+): the product list, one product with its
//! prices, tiers, overrides and plan, the plans; and the public catalog's page of products.

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

/// Active products as (id, "name (code)") for a picker, e.g. adding a product line to a draft.
pub async fn active_product_choices(db: &Db, actor: &Actor) -> AppResult<Vec<(String, String)>> {
    require_read(actor)?;
    Ok(store::active_product_choices(&db.pool).await?)
}

/// One page of the public catalog: ACTIVE products offered to everyone (and BETA ones when
/// `include_beta`), and whether more follow. Anyone may read it.
pub async fn catalog_page(
    db: &Db,
    include_beta: bool,
    req: PageRequest,
) -> AppResult<(Vec<ProductRow>, bool)> {
    Ok(store::list_catalog(&db.pool, include_beta, req.size, req.offset()).await?)
}

/// Every CloudPod plan with its specs (public: the catalog shows them with the products).
pub async fn plans(db: &Db) -> AppResult<Vec<PlanRow>> {
    Ok(store::plans(&db.pool).await?)
}

/// Every plan and the base prices of their products in one currency (the staff plans page).
pub async fn plans_with_prices(
    db: &Db,
    actor: &Actor,
    currency: &str,
) -> AppResult<(Vec<PlanRow>, Vec<PriceRow>)> {
    require_read(actor)?;
    let rows = store::plans(&db.pool).await?;
    let ids: Vec<String> = rows.iter().map(|p| p.product_id.clone()).collect();
    let prices = store::prices_for(&db.pool, &ids, currency).await?;
    Ok((rows, prices))
}

/// Every ACTIVE product as (id, "name (code)"): the product filter of the subscriptions list
/// (what was sold is public catalog data).
pub async fn product_choices(db: &Db) -> AppResult<Vec<(String, String)>> {
    Ok(store::active_product_choices(&db.pool).await?)
}

/// What the order page offers a tenant, as (code, label): the products it may subscribe to,
/// and the add-ons. The tenant is the actor's own, or (staff) the one chosen on the form.
pub async fn orderable(
    db: &Db,
    actor: &Actor,
    tenant_id: &str,
) -> AppResult<(Vec<(String, String)>, Vec<(String, String)>)> {
    let tenant_id = if actor.is_staff {
        tenant_id
    } else {
        actor.tenant_id.as_str()
    };
    let beta = crate::auth::store::get_tenant(&db.pool, &crate::db::TenantScope::All, tenant_id)
        .await?
        .is_some_and(|t| t.beta == 1);
    let (rows, _) = store::list_catalog(&db.pool, beta, 500, 0).await?;
    let (addons, products): (Vec<ProductRow>, Vec<ProductRow>) = rows
        .into_iter()
        .filter(|p| p.billing_model != super::super::model::BillingModel::OneTime)
        .partition(|p| p.category == super::super::model::Category::Addon);
    let label = |p: ProductRow| (p.code.clone(), format!("{} ({})", p.name, p.code));
    Ok((
        products.into_iter().map(label).collect(),
        addons.into_iter().map(label).collect(),
    ))
}
