//! What the base layout needs: who is signed in, the navigation for their role, a flash message.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::flash::Flash;
use super::theme::Theme;
use crate::actor::{Actor, Role};

#[derive(Clone, Debug)]
pub struct NavLink {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// A heading of the sidebar and the links under it (`label` empty: the ungrouped top links).
#[derive(Clone, Debug)]
pub struct NavGroup {
    pub label: &'static str,
    pub links: Vec<NavLink>,
}

/// One navigation entry, supplied by `app.rs` (the only module that knows every feature):
/// the area of the sidebar it sits in, where it leads, its label, and who sees it.
#[derive(Clone, Copy)]
pub struct NavEntry {
    pub area: &'static str,
    pub href: &'static str,
    pub label: &'static str,
    pub show: fn(&Actor) -> bool,
}

impl NavEntry {
    pub const fn new(
        area: &'static str,
        href: &'static str,
        label: &'static str,
        show: fn(&Actor) -> bool,
    ) -> NavEntry {
        NavEntry {
            area,
            href,
            label,
            show,
        }
    }
}

/// The application's navigation, put on every request by `app.rs` as an extension.
#[derive(Clone, Copy)]
pub struct Nav(pub &'static [NavEntry]);

#[derive(Clone, Debug, Default)]
pub struct Layout {
    pub user_email: Option<String>,
    /// The signed-in actor's role (none signed out).
    pub user_role: Option<Role>,
    pub tenant_name: String,
    pub is_staff: bool,
    pub nav: Vec<NavLink>,
    /// The area of each entry of `nav`, index for index.
    pub nav_areas: Vec<&'static str>,
    pub flash: Option<Flash>,
    /// The colour scheme chosen in this browser (`<html data-theme>`).
    pub theme: Theme,
    /// This page's path and query: where the theme switch comes back to.
    pub here: String,
}

impl Layout {
    /// The layout for `actor`, its navigation being the `entries` it may see.
    pub fn for_actor(
        actor: Option<&Actor>,
        entries: &[NavEntry],
        path: &str,
        flash: Option<Flash>,
    ) -> Layout {
        let Some(actor) = actor else {
            return Layout {
                flash,
                nav: nav(&[("/catalog", "Catalog"), ("/login", "Sign in")], path),
                ..Layout::default()
            };
        };
        let visible: Vec<&NavEntry> = entries.iter().filter(|e| (e.show)(actor)).collect();
        let links: Vec<(&'static str, &'static str)> =
            visible.iter().map(|e| (e.href, e.label)).collect();
        Layout {
            nav: nav(&links, path),
            nav_areas: visible.iter().map(|e| e.area).collect(),
            user_email: Some(actor.email.clone()),
            user_role: Some(actor.role),
            tenant_name: actor.tenant_name.clone(),
            is_staff: actor.is_staff,
            flash,
            ..Layout::default()
        }
    }

    /// The layout with the theme and the current page of this request.
    pub fn with_request(self, parts: &Parts) -> Layout {
        Layout {
            theme: Theme::from_headers(&parts.headers),
            here: here(&parts.uri),
            ..self
        }
    }

    /// The theme switch's choices: (value, label, the one in force).
    pub fn theme_choices(&self) -> Vec<(&'static str, &'static str, bool)> {
        Theme::ALL
            .iter()
            .map(|t| (t.as_str(), t.label(), *t == self.theme))
            .collect()
    }

    /// The navigation grouped by area, in the order the areas first appear.
    pub fn nav_groups(&self) -> Vec<NavGroup> {
        let mut groups: Vec<NavGroup> = Vec::new();
        for (link, area) in self.nav.iter().zip(self.nav_areas.iter()) {
            match groups.iter_mut().find(|g| g.label == *area) {
                Some(g) => g.links.push(link.clone()),
                None => groups.push(NavGroup {
                    label: area,
                    links: vec![link.clone()],
                }),
            }
        }
        groups
    }

    pub fn is_owner(&self) -> bool {
        self.user_role == Some(Role::Owner)
    }

    /// The role as the header shows it (`OWNER`), empty signed out.
    pub fn role_text(&self) -> &'static str {
        self.user_role.map(Role::as_str).unwrap_or("")
    }
}

/// Where the theme switch comes back to: this page with its query (filters, the sign-in page's
/// `next`), as long as it is a safe local path and any `next` in it is one too; else the
/// page's path alone.
fn here(uri: &axum::http::Uri) -> String {
    let path = super::safe_next(Some(uri.path()));
    let Some(query) = uri.query() else {
        return path.to_string();
    };
    let pairs = axum::extract::Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map(|q| q.0)
        .unwrap_or_default();
    let nexts_safe = pairs
        .iter()
        .filter(|(k, _)| k == "next")
        .all(|(_, v)| super::safe_next(Some(v)) == v);
    let whole = format!("{path}?{query}");
    if nexts_safe && super::safe_next(Some(&whole)) == whole {
        whole
    } else {
        path.to_string()
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
        let entries = parts.extensions.get::<Nav>().map_or(&[][..], |n| n.0);
        Ok(Layout::for_actor(
            parts.extensions.get::<Actor>(),
            entries,
            parts.uri.path(),
            parts.extensions.get::<Flash>().cloned(),
        )
        .with_request(parts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_theme_switch_comes_back_only_to_safe_local_pages() {
        let here = |u: &str| here(&u.parse().unwrap());
        assert_eq!(
            here("/billing/invoices?status=ISSUED&page=2"),
            "/billing/invoices?status=ISSUED&page=2"
        );
        assert_eq!(here("/login?next=%2Fusers"), "/login?next=%2Fusers");
        assert_eq!(here("/login?next=/%2F/evil.example"), "/login");
        assert_eq!(here("/login?next=%2F%2Fevil.example"), "/login");
        assert_eq!(here("/login?next=/%09/evil.example"), "/login");
        assert_eq!(here("/x?q=%0d%0a"), "/x");
    }

    #[test]
    fn nav_groups_keep_the_order_areas_first_appear_in() {
        let link = |href, label| NavLink {
            href,
            label,
            current: false,
        };
        let layout = Layout {
            nav: vec![
                link("/", "Dashboard"),
                link("/billing/invoices", "Invoices"),
                link("/security", "Security"),
                link("/catalog", "Catalog"),
            ],
            nav_areas: vec!["", "Billing", "Security", "Billing"],
            ..Layout::default()
        };
        let groups: Vec<(&str, Vec<&str>)> = layout
            .nav_groups()
            .iter()
            .map(|g| (g.label, g.links.iter().map(|l| l.label).collect()))
            .collect();
        assert_eq!(
            groups,
            vec![
                ("", vec!["Dashboard"]),
                ("Billing", vec!["Invoices", "Catalog"]),
                ("Security", vec!["Security"]),
            ]
        );
    }
}
