//! What the dashboard shows, as pure decisions: which figures a person's role gets (never one
//! whose list they cannot open), the security checklist, and the calendar bounds of the
//! money figures.

use crate::actor::Role;

/// Whose dashboard this is: it decides which figures are worth the front page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    /// Staff OWNER/ADMIN: money, invoices, pods, jobs, security events.
    StaffAdmin,
    /// Staff BILLING: drafts to issue, overdue invoices, payments today, revenue.
    StaffBilling,
    /// Other staff (MEMBER, VIEWER): the platform's pods and jobs.
    StaffOps,
    /// A customer: their pods, their invoices due, their security.
    Customer,
}

impl Focus {
    pub fn of(is_staff: bool, role: Role) -> Focus {
        match (is_staff, role) {
            (false, _) => Focus::Customer,
            (true, Role::Owner | Role::Admin) => Focus::StaffAdmin,
            (true, Role::Billing) => Focus::StaffBilling,
            (true, Role::Member | Role::Viewer) => Focus::StaffOps,
        }
    }
}

/// Which lists the person may open: the features' own permission rules, passed in.
#[derive(Clone, Copy, Debug, Default)]
pub struct Rights {
    pub invoices: bool,
    pub pods: bool,
    pub create_pods: bool,
    pub jobs: bool,
    pub security_events: bool,
}

/// The figures shown. Each is both wanted for the focus and allowed by the rights.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tiles {
    pub revenue_month: bool,
    pub payments_today: bool,
    pub open_invoices: bool,
    pub overdue_invoices: bool,
    pub drafts: bool,
    /// Staff: active and failing pods across tenants.
    pub pod_counts: bool,
    /// Customer: their pods, one by one with status.
    pub own_pods: bool,
    /// Customer: their invoices with an amount due.
    pub invoices_due: bool,
    pub failing_jobs: bool,
    pub security_events: bool,
}

pub fn tiles(focus: Focus, r: Rights) -> Tiles {
    let admin = focus == Focus::StaffAdmin;
    let billing = focus == Focus::StaffBilling;
    let staff = focus != Focus::Customer;
    Tiles {
        revenue_month: (admin || billing) && r.invoices,
        payments_today: billing && r.invoices,
        open_invoices: admin && r.invoices,
        overdue_invoices: (admin || billing) && r.invoices,
        drafts: billing && r.invoices,
        pod_counts: (admin || focus == Focus::StaffOps) && r.pods,
        own_pods: focus == Focus::Customer && r.pods,
        invoices_due: focus == Focus::Customer && r.invoices,
        failing_jobs: staff && !billing && r.jobs,
        security_events: admin && r.security_events,
    }
}

/// Fewer unused recovery codes than this is a warning.
pub const FEW_RECOVERY_CODES: i64 = 3;

/// One line of the security checklist: its state as a badge word, what it means, the fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub label: &'static str,
    /// A word `web::badge::tone` colours: "Enabled"/"OK" (fine), "Low" (warn), "Missing" (bad),
    /// "Off" (neutral).
    pub state: &'static str,
    pub detail: String,
    pub href: &'static str,
    pub action: &'static str,
}

/// The checklist for one person: their MFA (on? recovery codes left?) and whether their
/// organisation's policy requires it. `can_edit_policy` decides where the policy line links.
pub fn checklist(
    mfa_on: bool,
    unused_codes: i64,
    required: bool,
    can_edit_policy: bool,
) -> Vec<Check> {
    let mut out = Vec::new();
    out.push(match (mfa_on, required) {
        (true, _) => Check {
            label: "Two-step sign-in (MFA)",
            state: "Enabled",
            detail: "A second factor (authenticator app or passkey) is asked at sign-in.".into(),
            href: "/security/mfa",
            action: "Manage MFA",
        },
        (false, true) => Check {
            label: "Two-step sign-in (MFA)",
            state: "Missing",
            detail: "Your organisation requires it: turn it on now.".into(),
            href: "/security/mfa",
            action: "Turn on MFA",
        },
        (false, false) => Check {
            label: "Two-step sign-in (MFA)",
            state: "Off",
            detail: "Only your password protects this account.".into(),
            href: "/security/mfa",
            action: "Turn on MFA",
        },
    });
    if mfa_on {
        let (state, detail) = match unused_codes {
            0 => (
                "Missing",
                "None left: if you lose your phone you cannot sign in. Make new ones.".to_string(),
            ),
            n if n < FEW_RECOVERY_CODES => (
                "Low",
                format!("Only {n} left. Make new ones before you run out."),
            ),
            n => ("OK", format!("{n} unused codes left.")),
        };
        out.push(Check {
            label: "Recovery codes",
            state,
            detail,
            href: "/security/mfa",
            action: "New recovery codes",
        });
    }
    out.push(Check {
        label: "MFA required by policy",
        state: if required { "Enabled" } else { "Off" },
        detail: if required {
            "Everyone in your organisation must use MFA.".into()
        } else {
            "Members may sign in with a password alone.".into()
        },
        href: if can_edit_policy {
            "/security/policy"
        } else {
            "/security"
        },
        action: if can_edit_policy {
            "Edit the policy"
        } else {
            "Your security page"
        },
    });
    out
}

/// The first day of `today`'s month, `YYYY-MM-01` (UTC dates in, text out).
pub fn month_start(today: time::Date) -> String {
    format!("{:04}-{:02}-01", today.year(), u8::from(today.month()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Rights {
        Rights {
            invoices: true,
            pods: true,
            create_pods: true,
            jobs: true,
            security_events: true,
        }
    }

    #[test]
    fn each_role_gets_its_figures() {
        let admin = tiles(Focus::of(true, Role::Owner), all());
        assert!(admin.revenue_month && admin.open_invoices && admin.overdue_invoices);
        assert!(admin.pod_counts && admin.failing_jobs && admin.security_events);
        assert!(!admin.own_pods && !admin.invoices_due && !admin.drafts);

        let billing = tiles(Focus::of(true, Role::Billing), all());
        assert!(billing.drafts && billing.overdue_invoices && billing.payments_today);
        assert!(!billing.pod_counts && !billing.failing_jobs && !billing.security_events);

        let ops = tiles(Focus::of(true, Role::Viewer), all());
        assert!(ops.pod_counts && ops.failing_jobs);
        assert!(!ops.revenue_month && !ops.overdue_invoices && !ops.security_events);

        let customer = tiles(Focus::of(false, Role::Owner), all());
        assert!(customer.own_pods && customer.invoices_due);
        assert!(!customer.pod_counts && !customer.revenue_month && !customer.failing_jobs);
    }

    #[test]
    fn a_figure_whose_list_is_closed_is_not_shown() {
        let none = Rights::default();
        for focus in [
            Focus::StaffAdmin,
            Focus::StaffBilling,
            Focus::StaffOps,
            Focus::Customer,
        ] {
            assert_eq!(tiles(focus, none), Tiles::default(), "{focus:?}");
        }
        let no_invoices = Rights {
            invoices: false,
            ..all()
        };
        let member = tiles(Focus::Customer, no_invoices);
        assert!(member.own_pods && !member.invoices_due);
    }

    #[test]
    fn the_checklist_warns_about_mfa_and_recovery_codes() {
        let off = checklist(false, 0, false, false);
        assert_eq!(off.len(), 2, "no recovery-code line without MFA");
        assert_eq!((off[0].state, off[0].action), ("Off", "Turn on MFA"));
        assert_eq!(off[1].href, "/security");

        let required = checklist(false, 0, true, true);
        assert_eq!(required[0].state, "Missing");
        assert_eq!(
            (required[1].state, required[1].href),
            ("Enabled", "/security/policy")
        );

        assert_eq!(checklist(true, 10, false, false)[1].state, "OK");
        assert_eq!(
            checklist(true, FEW_RECOVERY_CODES, false, false)[1].state,
            "OK"
        );
        let low = checklist(true, 2, false, false);
        assert_eq!(low[1].state, "Low");
        assert!(low[1].detail.contains("Only 2 left"));
        assert_eq!(checklist(true, 0, false, false)[1].state, "Missing");
    }

    #[test]
    fn the_month_starts_on_the_first() {
        let d = time::macros::date!(2026 - 11 - 30);
        assert_eq!(month_start(d), "2026-11-01");
        assert_eq!(
            month_start(time::macros::date!(2027 - 01 - 01)),
            "2027-01-01"
        );
    }
}
