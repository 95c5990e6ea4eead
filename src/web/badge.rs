//! One status badge for every feature: its colour ("tone") follows from the status, and the
//! status is always written out too, so colour is never the only signal.
//!
//! Templates use it through the `badge` macro in `macros.html`:
//! `{% call m::badge(inv.status_text()) %}{% endcall %}`.

/// The badge tone (a CSS class suffix: `badge-ok`, `badge-err`, …) for a status, given as
/// its code (`PARTIALLY_PAID`, `completed`) or its label ("Partially paid").
pub fn tone(status: impl AsRef<str>) -> &'static str {
    let key: String = status
        .as_ref()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    match key.as_str() {
        "active" | "paid" | "running" | "completed" | "done" | "success" | "succeeded"
        | "processed" | "enabled" | "ok" => "ok",
        "failed"
        | "completedwithfailures"
        | "discarded"
        | "overdue"
        | "dead"
        | "error"
        | "refused"
        | "revoked"
        | "missing"
        | "activationfailed"
        | "rejectedsignature" => "err",
        "suspended"
        | "waitingforitspayment"
        | "retryable"
        | "partiallypaid"
        | "pendingreboot"
        | "deprecated"
        | "expiring"
        | "low" => "warn",
        "issued" | "provisioning" | "available" | "queued" | "pending" | "inprogress"
        | "resizing" | "rebooting" | "starting" | "stopping" | "deleting" | "pendingactivation"
        | "cancelsatperiodend" => "info",
        _ => "muted",
    }
}

#[cfg(test)]
mod tests {
    use super::tone;

    #[test]
    fn codes_and_labels_get_the_same_tone() {
        assert_eq!(tone("PARTIALLY_PAID"), tone("Partially paid"));
        assert_eq!(tone("ACTIVE"), "ok");
        assert_eq!(tone("completed"), "ok");
        assert_eq!(tone("Failed"), "err");
        assert_eq!(tone("discarded"), "err");
        assert_eq!(tone("Issued"), "info");
        assert_eq!(tone("Draft"), "muted");
        assert_eq!(tone("Void"), "muted");
        assert_eq!(tone("something new"), "muted");
        assert_eq!((tone("Missing"), tone("Low")), ("err", "warn"));
    }
}
