//! Unit tests of the catalog rules: status machine, visibility, tiers, overrides, price resolution.

use super::*;

#[test]
fn status_machine_is_written_down_and_enforced() {
    use ProductStatus::*;
    let allowed: Vec<(ProductStatus, ProductStatus)> = ProductStatus::ALL
        .iter()
        .flat_map(|a| ProductStatus::ALL.iter().map(move |b| (*a, *b)))
        .filter(|(a, b)| transition_allowed(*a, *b))
        .collect();
    assert_eq!(
        allowed,
        vec![
            (Active, Inactive),
            (Active, Deprecated),
            (Inactive, Active),
            (Inactive, Deprecated)
        ]
    );
    assert!(next_statuses(Deprecated).is_empty(), "DEPRECATED is final");
    assert!(can_be_sold(Active) && !can_be_sold(Inactive) && !can_be_sold(Deprecated));
}

#[test]
fn beta_only_for_flagged_tenants() {
    use Visibility::*;
    assert!(offered_to(Public, Viewer::Public));
    assert!(!offered_to(Beta, Viewer::Public));
    assert!(!offered_to(Beta, Viewer::Tenant { beta: false }));
    assert!(offered_to(Beta, Viewer::Tenant { beta: true }));
    assert!(!offered_to(Private, Viewer::Tenant { beta: true }));
}

fn tiers() -> Vec<Tier> {
    // 1–10 at 100, 11–50 at 80 (+500 flat), 51+ at 50 (+1000 flat)
    vec![
        Tier {
            up_to: Some(10),
            unit_minor: 100,
            flat_minor: 0,
        },
        Tier {
            up_to: Some(50),
            unit_minor: 80,
            flat_minor: 500,
        },
        Tier {
            up_to: None,
            unit_minor: 50,
            flat_minor: 1000,
        },
    ]
}

#[test]
fn graduated_tiers_at_every_boundary() {
    let t = tiers();
    let g = |q| tiered_charge(&t, TierMode::Graduated, q).unwrap();
    assert_eq!(g(0), 0);
    assert_eq!(g(1), 100);
    assert_eq!(g(10), 1000);
    assert_eq!(g(11), 1000 + 80 + 500);
    assert_eq!(g(50), 1000 + 40 * 80 + 500);
    assert_eq!(g(51), 1000 + 3200 + 500 + 50 + 1000);
    assert_eq!(g(1000), 1000 + 3200 + 500 + 950 * 50 + 1000);
}

#[test]
fn volume_tiers_at_every_boundary() {
    let t = tiers();
    let v = |q| tiered_charge(&t, TierMode::Volume, q).unwrap();
    assert_eq!(v(0), 0);
    assert_eq!(v(1), 100);
    assert_eq!(v(10), 1000);
    assert_eq!(v(11), 11 * 80 + 500);
    assert_eq!(v(50), 50 * 80 + 500);
    assert_eq!(v(51), 51 * 50 + 1000);
}

#[test]
fn tier_errors() {
    assert_eq!(
        tiered_charge(&[], TierMode::Volume, 1),
        Err(PricingError::NoTiers)
    );
    assert_eq!(
        tiered_charge(&tiers(), TierMode::Volume, -1),
        Err(PricingError::NegativeQuantity)
    );
    let bounded = [Tier {
        up_to: Some(5),
        unit_minor: 1,
        flat_minor: 0,
    }];
    assert_eq!(
        tiered_charge(&bounded, TierMode::Graduated, 6),
        Err(PricingError::Unbounded)
    );
    assert_eq!(
        tiered_charge(&bounded, TierMode::Volume, 6),
        Err(PricingError::Unbounded)
    );
    let huge = [Tier {
        up_to: None,
        unit_minor: i64::MAX,
        flat_minor: 0,
    }];
    assert_eq!(
        tiered_charge(&huge, TierMode::Graduated, 2),
        Err(PricingError::Overflow)
    );
    assert!(tiers_problem(&tiers()).is_none());
    assert!(tiers_problem(&bounded).is_some());
    assert!(tiers_problem(&[]).is_some());
    let mut unsorted = tiers();
    unsorted.swap(0, 2);
    assert!(tiers_problem(&unsorted).is_some());
    sort_tiers(&mut unsorted);
    assert_eq!(unsorted, tiers());
}

fn rule(id: &str, tenant: &str, region: &str, amount: i64, from: i64, until: i64) -> Override {
    Override {
        id: id.into(),
        tenant_id: tenant.into(),
        region: region.into(),
        currency: "EUR".into(),
        period: Period::Monthly,
        amount_minor: amount,
        setup_fee_minor: 0,
        valid_from: from,
        valid_until: until,
    }
}

const ALWAYS: (i64, i64) = (0, i64::MAX);

fn q(tenant: &'static str, region: &'static str, at: i64) -> PriceQuery<'static> {
    PriceQuery {
        tenant_id: tenant,
        region,
        currency: "EUR",
        period: Period::Monthly,
        at,
    }
}

#[test]
fn resolution_order_tenant_region_currency_base() {
    let rules = vec![
        rule("cur", "", "", 900, ALWAYS.0, ALWAYS.1),
        rule("reg", "", "eu", 800, ALWAYS.0, ALWAYS.1),
        rule("ten", "t1", "", 700, ALWAYS.0, ALWAYS.1),
        rule("ten-us", "t1", "us", 600, ALWAYS.0, ALWAYS.1),
    ];
    let base = Some((1000, 0));
    let pick = |q: PriceQuery<'_>| resolve_price(base, &rules, &q).unwrap();
    assert_eq!(pick(q("t1", "eu", 5)).amount_minor, 700);
    assert_eq!(pick(q("t1", "eu", 5)).source, PriceSource::TenantOverride);
    assert_eq!(
        pick(q("t1", "us", 5)).rule.unwrap().id,
        "ten-us",
        "tenant+region beats tenant"
    );
    assert_eq!(pick(q("t2", "eu", 5)).source, PriceSource::RegionOverride);
    assert_eq!(
        pick(q("t2", "apac", 5)).source,
        PriceSource::CurrencyOverride
    );
    assert_eq!(
        resolve_price(base, &rules[3..], &q("t2", "apac", 5))
            .unwrap()
            .source,
        PriceSource::Base
    );
    let mut usd = q("t1", "eu", 5);
    usd.currency = "USD";
    assert_eq!(
        resolve_price(Some((1100, 50)), &rules, &usd)
            .unwrap()
            .amount_minor,
        1100
    );
    assert_eq!(
        resolve_price(None, &rules, &usd),
        None,
        "no price in that currency"
    );
    let mut yearly = q("t1", "eu", 5);
    yearly.period = Period::Yearly;
    assert_eq!(
        resolve_price(base, &rules, &yearly).unwrap().source,
        PriceSource::Base
    );
}

#[test]
fn validity_windows_are_half_open() {
    let rules = vec![rule("promo", "", "", 500, 100, 200)];
    let at = |t| {
        resolve_price(Some((1000, 0)), &rules, &q("t", "r", t))
            .unwrap()
            .amount_minor
    };
    assert_eq!(at(99), 1000);
    assert_eq!(at(100), 500);
    assert_eq!(at(199), 500);
    assert_eq!(at(200), 1000);
    let a = rule("a", "t", "", 1, 100, 200);
    assert!(a.overlaps(&rule("b", "t", "", 1, 199, 300)));
    assert!(
        !a.overlaps(&rule("b", "t", "", 1, 200, 300)),
        "touching windows do not overlap"
    );
    assert!(a.overlaps(&rule("b", "t", "", 1, 0, i64::MAX)));
    assert!(a.same_scope(&rule("b", "t", "", 1, 0, 1)));
    assert!(!a.same_scope(&rule("b", "t", "eu", 1, 0, 1)));
}

#[test]
fn stored_product_texts_round_trip_and_unknown_ones_are_errors() {
    for c in Category::ALL {
        assert_eq!(Category::from_stored(c.as_str()).unwrap(), *c);
    }
    for m in BillingModel::ALL {
        assert_eq!(BillingModel::from_stored(m.as_str()).unwrap(), *m);
        // every model offers at least one period, and each of them round-trips too
        assert!(!periods_for(*m).is_empty());
        for p in periods_for(*m) {
            assert_eq!(Period::from_stored(p.as_str()).unwrap(), *p);
        }
    }
    for v in Visibility::ALL {
        assert_eq!(Visibility::from_stored(v.as_str()).unwrap(), *v);
    }
    for m in TierMode::ALL {
        assert_eq!(TierMode::from_stored(m.as_str()).unwrap(), *m);
    }
    for t in TaxCategory::ALL {
        assert_eq!(TaxCategory::from_stored(t.as_str()).unwrap(), *t);
    }
    assert!(Category::from_stored("GAMES").is_err());
    assert!(BillingModel::from_stored("").is_err());
    assert!(Visibility::from_stored("HIDDEN").is_err());
    // what a visibility offers to whom
    assert!(offered_to(Visibility::Public, Viewer::Public));
    assert!(!offered_to(Visibility::Beta, Viewer::Public));
    assert!(offered_to(Visibility::Beta, Viewer::Tenant { beta: true }));
    assert!(!offered_to(
        Visibility::Private,
        Viewer::Tenant { beta: true }
    ));
}
