//! A WHERE clause built from only the filters a person actually set, so the query planner
//! sees plain `col = $n` conditions it can serve from an index (a catch-all
//! `($1 = '' OR col = $1)` forces a full scan on SQLite). Values are always bound, never
//! interpolated.

#[derive(Debug, Default)]
pub struct Where {
    clauses: Vec<String>,
    params: Vec<String>,
}

impl Where {
    pub fn new() -> Where {
        Where::default()
    }

    /// `column = value`, skipped when `value` is empty.
    pub fn eq(&mut self, column: &str, value: &str) -> &mut Where {
        if !value.is_empty() {
            let n = self.bind(value);
            self.clauses.push(format!("{column} = {n}"));
        }
        self
    }

    /// `column = tenant` for a scope confined to a tenant; nothing for staff.
    pub fn scope(&mut self, column: &str, scope: &super::TenantScope) -> &mut Where {
        if let Some(tenant) = scope.tenant() {
            let n = self.bind(tenant);
            self.clauses.push(format!("{column} = {n}"));
        }
        self
    }

    /// `column >= value` (text or number compared as the column's type).
    pub fn at_least(&mut self, column: &str, value: &str) -> &mut Where {
        let n = self.bind(value);
        self.clauses.push(format!("{column} >= {n}"));
        self
    }

    /// `column >= at` for an integer column (instants), skipped when `at` is `None`. The
    /// value travels as text like every other parameter and is cast back in SQL.
    pub fn since(&mut self, column: &str, at: Option<i64>) -> &mut Where {
        if let Some(at) = at {
            let n = self.bind(&at.to_string());
            self.clauses
                .push(format!("{column} >= CAST({n} AS BIGINT)"));
        }
        self
    }

    /// `column < at` for an integer column, skipped when `at` is `None`.
    pub fn before(&mut self, column: &str, at: Option<i64>) -> &mut Where {
        if let Some(at) = at {
            let n = self.bind(&at.to_string());
            self.clauses.push(format!("{column} < CAST({n} AS BIGINT)"));
        }
        self
    }

    /// Keyset paging, newest first: rows strictly after the cursor `(at, id)` in the order
    /// `ORDER BY at_column DESC, id_column DESC`; skipped when `after` is `None`. A row inserted
    /// meanwhile sorts before the cursor, so a client paging on never sees a row twice or
    /// misses one that existed when it started.
    pub fn keyset_desc(
        &mut self,
        at_column: &str,
        id_column: &str,
        after: Option<(i64, &str)>,
    ) -> &mut Where {
        if let Some((at, id)) = after {
            let a = self.bind(&at.to_string());
            let b = self.bind(&at.to_string());
            let i = self.bind(id);
            self.clauses.push(format!(
                "({at_column} < CAST({a} AS BIGINT) OR ({at_column} = CAST({b} AS BIGINT) AND {id_column} < {i}))"
            ));
        }
        self
    }

    /// `column < value` (text or number compared as the column's type).
    pub fn less_than(&mut self, column: &str, value: &str) -> &mut Where {
        let n = self.bind(value);
        self.clauses.push(format!("{column} < {n}"));
        self
    }

    /// `column <= value`.
    pub fn at_most(&mut self, column: &str, value: &str) -> &mut Where {
        let n = self.bind(value);
        self.clauses.push(format!("{column} <= {n}"));
        self
    }

    /// `column IN (values…)`; an empty list matches nothing.
    pub fn any_of(&mut self, column: &str, values: &[&str]) -> &mut Where {
        if values.is_empty() {
            self.clauses.push("1 = 0".into());
        } else {
            let list: Vec<String> = values.iter().map(|v| self.bind(v)).collect();
            self.clauses
                .push(format!("{column} IN ({})", list.join(", ")));
        }
        self
    }

    /// Case-insensitive substring match on any of `columns`, skipped when `term` is empty.
    pub fn contains(&mut self, columns: &[&str], term: &str) -> &mut Where {
        let term = term.trim();
        if !term.is_empty() {
            let n = self.bind(&super::like_pattern(term));
            let any: Vec<String> = columns
                .iter()
                .map(|c| format!("LOWER({c}) LIKE {n}"))
                .collect();
            self.clauses.push(format!("({})", any.join(" OR ")));
        }
        self
    }

    /// `column LIKE 'term%'`: a prefix match an index can serve; skipped when `term` is empty.
    pub fn starts_with(&mut self, column: &str, term: &str) -> &mut Where {
        let term: String = term
            .trim()
            .chars()
            .filter(|c| !matches!(c, '%' | '_' | '\\'))
            .collect();
        if !term.is_empty() {
            let n = self.bind(&format!("{term}%"));
            self.clauses.push(format!("{column} LIKE {n}"));
        }
        self
    }

    /// A raw condition with no parameters (e.g. `status = 'ACTIVE'`); callers pass constants only.
    pub fn raw(&mut self, condition: &'static str) -> &mut Where {
        self.clauses.push(condition.into());
        self
    }

    fn bind(&mut self, value: &str) -> String {
        self.params.push(value.to_string());
        format!("${}", self.params.len())
    }

    /// `WHERE a AND b`, or "" when nothing is filtered.
    pub fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        }
    }

    /// The next free placeholder number (for LIMIT/OFFSET after the filters).
    pub fn next(&self) -> usize {
        self.params.len() + 1
    }

    pub fn params(&self) -> &[String] {
        &self.params
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_set_filters_become_conditions() {
        let mut w = Where::new();
        w.eq("status", "")
            .eq("category", "EMAIL")
            .contains(&["name", "code"], " Mail ");
        assert_eq!(
            w.sql(),
            "WHERE category = $1 AND (LOWER(name) LIKE $2 OR LOWER(code) LIKE $2)"
        );
        assert_eq!(w.params(), ["EMAIL", "%mail%"]);
        assert_eq!(w.next(), 3);
        assert_eq!(Where::new().sql(), "");
        let mut w = Where::new();
        w.raw("status = 'ACTIVE'")
            .any_of("visibility", &["PUBLIC", "BETA"]);
        assert_eq!(
            w.sql(),
            "WHERE status = 'ACTIVE' AND visibility IN ($1, $2)"
        );
        assert_eq!(Where::new().any_of("x", &[]).sql(), "WHERE 1 = 0");
    }
}
