//! What the base layout needs: who is signed in, the navigation for their role, a flash message.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::flash::Flash;
use crate::auth::model::{Actor, Role};

#[derive(Clone, Debug)]
pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Layout {
    pub user_email: Option<String>,
    pub user_role: String,
    pub tenant_name: String,
    pub is_staff: bool,
    pub nav: Vec<NavLink>,
    pub flash: Option<Flash>,
}

impl Layout {
    pub fn for_actor(actor: Option<&Actor>, path: &str, flash: Option<Flash>) -> Layout {
        let Some(actor) = actor else {
            return Layout {
                flash,
                nav: nav(&[("/catalog", "Catalog"), ("/login", "Sign in")], path),
                ..Layout::default()
            };
        };
        let mut links: Vec<(&'static str, &'static str)> = vec![("/", "Dashboard")];
        if actor.can_view_tenants() {
            links.push(("/tenants", "Tenants"));
        }
        if crate::billing::catalog::service::can_read(actor) {
            links.push(("/billing/products", "Products"));
            links.push(("/billing/plans", "Plans"));
        }
        if crate::billing::invoices::service::can_read(actor) {
            links.push(("/billing/invoices", "Invoices"));
        }
        if crate::cloudpods::service::can_read(actor) {
            links.push(("/cloudpods", "CloudPods"));
        }
        links.push(("/catalog", "Catalog"));
        if actor.can_view_members() {
            links.push(("/users", if actor.is_staff { "Users" } else { "Members" }));
        }
        if actor.can_view_audit() {
            links.push(("/audit", "Audit log"));
        }
        links.push(("/security", "Security"));
        if crate::jobs::model::can_view(actor) {
            links.push(("/ops", "Operations"));
        }
        links.push(("/account/password", "Password"));
        Layout {
            nav: nav(&links, path),
            user_email: Some(actor.email.clone()),
            user_role: actor.role.to_string(),
            tenant_name: actor.tenant_name.clone(),
            is_staff: actor.is_staff,
            flash,
        }
    }

    pub fn is_owner(&self) -> bool {
        self.user_role == Role::Owner.as_str()
    }
}

fn nav(links: &[(&'static str, &'static str)], path: &str) -> Vec<NavLink> {
    links
        .iter()
        .map(|&(href, label)| NavLink {
            href,
            label,
            current: if href == "/" {
                path == "/"
            } else {
                path.starts_with(href)
            },
        })
        .collect()
}

impl<S: Send + Sync> FromRequestParts<S> for Layout {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Layout, Self::Rejection> {
        Ok(Layout::for_actor(
            parts.extensions.get::<Actor>(),
            parts.uri.path(),
            parts.extensions.get::<Flash>().cloned(),
        ))
    }
}
