//! Small text helpers for templates.

/// A long id shortened for a table cell: its first 8 characters and an ellipsis; short ids
/// whole. The full value goes in the cell's `title` and its Copy button (`short_id` macro).
pub fn short_id(id: &str) -> String {
    if id.chars().count() > 12 {
        let head: String = id.chars().take(8).collect();
        format!("{head}…")
    } else {
        id.to_string()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_ids_are_shortened_short_ones_kept() {
        assert_eq!(
            super::short_id("0190f3a2-7c1e-7d2b-9a55-1c2d3e4f5a6b"),
            "0190f3a2…"
        );
        assert_eq!(super::short_id("INV-1"), "INV-1");
    }
}
