//! The invoice page: draft editor or issued view with its action forms, and the answer
//! every action on it gives.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};

use super::today;
use crate::auth::model::Actor;
use crate::billing::catalog::model::Period;
use crate::billing::invoices::model::LineKind;
use crate::billing::invoices::service::reads;
use crate::billing::invoices::service::{
    self, CreditInput, LineInput, PaymentInput, ProductLineInput,
};
use crate::billing::invoices::store::{CreditNoteRow, InvoiceRow, PaymentRow};
use crate::billing::money;
use crate::db::new_id;
use crate::page;
use crate::state::AppState;
use crate::web::actions::ActionRequest as Req;
use crate::web::flash::Flash;
use crate::web::{AppResult, FieldErrors, Hx, Layout};

pub struct LineView {
    pub id: String,
    pub kind: &'static str,
    pub description: String,
    pub quantity: String,
    pub unit_price: String,
    pub amount: String,
}

pub struct PaymentView {
    pub p: PaymentRow,
    /// Each refund form has its own idempotency key: two refunds from one page are two refunds.
    pub refund_key: String,
    pub amount: String,
    pub refundable: i64,
    pub refundable_text: String,
}

#[derive(Template)]
#[template(path = "billing/invoices/show.html", blocks = ["main"])]
pub struct ShowPage {
    pub(super) layout: Layout,
    pub(super) inv: InvoiceRow,
    /// The frozen parties, one detail per line; empty on a draft.
    pub(super) buyer_text: String,
    pub(super) seller_text: String,
    pub(super) lines: Vec<LineView>,
    pub(super) payments: Vec<PaymentView>,
    pub(super) credits: Vec<CreditNoteRow>,
    /// Draft only: totals as they would be issued now, or why it cannot be issued.
    pub(super) preview: String,
    pub(super) can_bill: bool,
    pub(super) can_correct: bool,
    pub(super) notice: Option<Flash>,
    pub(super) kinds: Vec<LineKind>,
    pub(super) products: Vec<(String, String)>,
    pub(super) periods: &'static [Period],
    pub(super) methods: &'static [&'static str],
    pub(super) line_form: LineInput,
    pub(super) line_errors: FieldErrors,
    pub(super) product_form: ProductLineInput,
    pub(super) product_errors: FieldErrors,
    pub(super) pay_form: PaymentInput,
    pub(super) pay_errors: FieldErrors,
    pub(super) refund_errors: FieldErrors,
    pub(super) refund_for: String,
    pub(super) credit_form: CreditInput,
    pub(super) credit_errors: FieldErrors,
    /// The customer may pay this invoice online now (Stripe configured, something due).
    pub(super) pay_online: bool,
    /// How to pay by bank transfer (a setting), shown when online payment is not offered.
    pub(super) bank_details: String,
    /// The tenant's account credit, e.g. "€5.01" ("" without any).
    pub(super) account_credit: String,
    /// Disputes a gateway reported on this invoice's payments (staff see them).
    pub(super) disputes: Vec<crate::billing::invoices::store::DisputeRow>,
    /// Back from the payment page while the payment is not confirmed yet: the page says so
    /// and refreshes itself until the gateway's webhook has been processed.
    pub(super) confirming: bool,
}

#[derive(serde::Deserialize, Default)]
pub struct ShowQuery {
    #[serde(default)]
    checkout: String,
}

pub(super) async fn show_page(
    state: &AppState,
    layout: Layout,
    actor: &Actor,
    id: &str,
) -> AppResult<ShowPage> {
    let inv = service::get(&state.db, actor, id).await?;
    let line_rows = reads::lines(&state.db, &inv).await?;
    let lines = line_rows
        .iter()
        .map(|l| LineView {
            id: l.id.clone(),
            kind: l.kind.label(),
            description: l.description.clone(),
            quantity: l.quantity.clone(),
            unit_price: inv.money(l.unit_price_minor),
            amount: inv.money(if l.kind == LineKind::Discount {
                -l.amount_minor
            } else {
                l.amount_minor
            }),
        })
        .collect();
    let payment_rows = reads::payments(&state.db, &inv).await?;
    let payments = payment_rows
        .iter()
        .map(|p| {
            let refundable = p.refundable(&payment_rows);
            PaymentView {
                refund_key: new_id(),
                amount: inv.money(p.amount_minor),
                refundable_text: money::input_amount(
                    refundable,
                    money::currency(&inv.currency).unwrap_or(money::CURRENCIES[0]),
                ),
                refundable,
                p: p.clone(),
            }
        })
        .collect();
    let preview = if inv.is_draft() {
        match service::preview_totals(&state.db, &inv, &line_rows).await? {
            (Ok(t), rule) => format!(
                "Subtotal {} · discount {} · {} {} · total {}",
                inv.money(t.subtotal),
                inv.money(t.discount),
                rule.as_ref()
                    .map_or("no tax rule for this region:".to_string(), |r| format!(
                        "{} ({}%)",
                        r.name, r.rate
                    )),
                inv.money(t.tax),
                inv.money(t.total)
            ),
            (Err(e), _) => e.to_string(),
        }
    } else {
        String::new()
    };
    let products = if inv.is_draft() {
        crate::billing::catalog::service::active_product_choices(&state.db, actor).await?
    } else {
        Vec::new()
    };
    let payments_cfg = &state.config.payments;
    let pay_online =
        !actor.is_staff && payments_cfg.stripe_enabled() && inv.can_pay() && inv.due_minor > 0;
    let account_credit = service::credit_text(&state.db, actor, &inv.tenant_id).await?;
    let disputes = if actor.is_staff {
        service::disputes(&state.db, &inv).await?
    } else {
        Vec::new()
    };
    Ok(ShowPage {
        confirming: false,
        pay_online,
        bank_details: payments_cfg.bank_details.trim().to_string(),
        account_credit,
        disputes,
        layout,
        buyer_text: super::party_text(inv.buyer()?),
        seller_text: super::party_text(inv.seller()?),
        lines,
        payments,
        credits: reads::credit_notes(&state.db, &inv).await?,
        preview,
        can_bill: service::can_bill(actor),
        can_correct: service::can_correct(actor),
        notice: None,
        kinds: vec![LineKind::Item, LineKind::Discount, LineKind::Adjustment],
        products,
        periods: &[
            Period::Once,
            Period::Hourly,
            Period::Monthly,
            Period::Yearly,
        ],
        methods: service::METHODS,
        line_form: LineInput {
            kind: "ITEM".into(),
            quantity: "1".into(),
            ..LineInput::default()
        },
        line_errors: FieldErrors::new(),
        product_form: ProductLineInput {
            period: "MONTHLY".into(),
            quantity: "1".into(),
            ..ProductLineInput::default()
        },
        product_errors: FieldErrors::new(),
        pay_form: PaymentInput {
            amount: money::input_amount(
                inv.due_minor,
                money::currency(&inv.currency).unwrap_or(money::CURRENCIES[0]),
            ),
            method: "Bank transfer".into(),
            paid_on: today(),
            status: "SUCCESS".into(),
            idempotency_key: new_id(),
            ..PaymentInput::default()
        },
        pay_errors: FieldErrors::new(),
        refund_errors: FieldErrors::new(),
        refund_for: String::new(),
        credit_form: CreditInput::default(),
        credit_errors: FieldErrors::new(),
        inv,
    })
}

pub async fn show(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<ShowQuery>,
) -> AppResult<Response> {
    let mut page = show_page(&state, layout, &actor, &id).await?;
    page.confirming = q.checkout == "done" && page.inv.can_pay();
    let pay_online = page.pay_online;
    let mut res = page!(hx, page)?.into_response();
    if pay_online {
        // "Pay now" posts here and is redirected to the gateway's payment page: the form's
        // redirect must be allowed to go there.
        if let Some(csp) = crate::web::middleware::csp_with_form_target(
            &state.config.payments.stripe_checkout_origin,
        ) {
            res.headers_mut()
                .insert(axum::http::header::CONTENT_SECURITY_POLICY, csp);
        }
    }
    Ok(res)
}

crate::action_page!(ShowPage);

/// After an action: the refreshed invoice with a notice, a redirect, or the invoice with the
/// failing form's values and errors (see `web::actions`).
pub(super) async fn respond<T>(
    req: Req,
    id: &str,
    result: AppResult<T>,
    message: impl FnOnce(T) -> String,
    on_invalid: impl FnOnce(&mut ShowPage, FieldErrors),
) -> AppResult<Response> {
    let Req {
        state,
        hx,
        layout,
        actor,
    } = req;
    crate::web::actions::answer(
        &state,
        hx,
        &format!("/billing/invoices/{id}"),
        result.map(message),
        || show_page(&state, layout, &actor, id),
        on_invalid,
    )
    .await
}
