//! Multi-row statements: one `INSERT … VALUES (…), (…)` for a batch instead of a round trip
//! per row. Values are the four kinds the Any driver moves (text, integer, and their NULLs);
//! the placeholders are numbered `$n`, which both backends accept.

use sqlx::Any;
use sqlx::query::Query;

/// One column value of a bulk row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Val {
    Text(String),
    Int(i64),
    /// A NULL in a TEXT column.
    NoText,
    /// A NULL in an INTEGER column.
    NoInt,
}

impl From<&str> for Val {
    fn from(s: &str) -> Val {
        Val::Text(s.to_string())
    }
}

impl From<String> for Val {
    fn from(s: String) -> Val {
        Val::Text(s)
    }
}

impl From<i64> for Val {
    fn from(n: i64) -> Val {
        Val::Int(n)
    }
}

impl From<Option<&str>> for Val {
    fn from(s: Option<&str>) -> Val {
        s.map_or(Val::NoText, Val::from)
    }
}

impl From<Option<i64>> for Val {
    fn from(n: Option<i64>) -> Val {
        n.map_or(Val::NoInt, Val::Int)
    }
}

/// The largest number of bound values one statement carries here (SQLite allows 32,766,
/// PostgreSQL 65,535); callers split larger batches with [`rows_per_statement`].
pub const MAX_BINDS: usize = 30_000;

/// How many rows of `columns` values fit in one statement.
pub fn rows_per_statement(columns: usize) -> usize {
    (MAX_BINDS / columns.max(1)).max(1)
}

/// How a statement names its parameters. PostgreSQL needs `$n`. SQLite takes `$n` too, but
/// looks each name up by a linear walk (`sqlite3_bind_parameter_name`), so binding n named
/// parameters costs n²: thousands of them in a multi-row insert take seconds. Plain `?`
/// binds by position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Marks {
    Numbered,
    Positional,
}

impl Marks {
    /// The style for the connection's backend.
    pub fn of(conn: &sqlx::AnyConnection) -> Marks {
        if conn.backend_name() == "PostgreSQL" {
            Marks::Numbered
        } else {
            Marks::Positional
        }
    }
}

/// `($1, $2), ($3, $4)` (or `(?, ?), (?, ?)`) for `rows` rows of `columns` placeholders.
pub fn values_sql(rows: usize, columns: usize, marks: Marks) -> String {
    let mut out = String::with_capacity(rows * columns * 5);
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 0..columns {
            if c > 0 {
                out.push_str(", ");
            }
            n += 1;
            match marks {
                Marks::Numbered => {
                    out.push('$');
                    out.push_str(&n.to_string());
                }
                Marks::Positional => out.push('?'),
            }
        }
        out.push(')');
    }
    out
}

/// Binds `values` in order.
pub fn bind_all<'q>(
    mut q: Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    values: &'q [Val],
) -> Query<'q, Any, sqlx::any::AnyArguments<'q>> {
    for v in values {
        q = match v {
            Val::Text(s) => q.bind(s.as_str()),
            Val::Int(n) => q.bind(*n),
            Val::NoText => q.bind(None::<String>),
            Val::NoInt => q.bind(None::<i64>),
        };
    }
    q
}

/// Inserts `rows` (each `columns.len()` values) into `table`, as few statements as the bind
/// limit allows; `suffix` (e.g. an `ON CONFLICT` clause) ends each statement.
pub async fn insert_rows(
    tx: &mut super::Tx,
    table: &str,
    columns: &[&str],
    rows: &[Vec<Val>],
    suffix: &str,
) -> sqlx::Result<u64> {
    let mut done = 0;
    let marks = Marks::of(tx);
    for chunk in rows.chunks(rows_per_statement(columns.len())) {
        let values: Vec<Val> = chunk.iter().flatten().cloned().collect();
        debug_assert!(chunk.iter().all(|r| r.len() == columns.len()));
        let sql = format!(
            "INSERT INTO {table} ({}) VALUES {}{suffix}",
            columns.join(", "),
            values_sql(chunk.len(), columns.len(), marks)
        );
        done += bind_all(sqlx::query(&sql), &values)
            .execute(&mut **tx)
            .await?
            .rows_affected();
    }
    Ok(done)
}

/// `$first, $first+1, …` for an `IN (…)` list of `n` values.
pub fn in_list(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_row_by_row() {
        assert_eq!(
            values_sql(2, 3, Marks::Numbered),
            "($1, $2, $3), ($4, $5, $6)"
        );
        assert_eq!(values_sql(1, 1, Marks::Numbered), "($1)");
        assert_eq!(values_sql(2, 2, Marks::Positional), "(?, ?), (?, ?)");
        assert_eq!(in_list(3, 3), "$3, $4, $5");
        assert_eq!(rows_per_statement(11), 2727);
        assert_eq!(rows_per_statement(0), MAX_BINDS);
    }
}
