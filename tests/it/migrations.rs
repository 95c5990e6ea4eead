use std::collections::BTreeSet;
use std::path::Path;

fn names(dir: &str) -> BTreeSet<String> {
    std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(dir))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn sqlite_and_postgres_migrations_stay_in_step() {
    let sqlite = names("migrations/sqlite");
    let postgres = names("migrations/postgres");
    assert_eq!(sqlite, postgres, "same file names in both directories");
    let embedded: BTreeSet<String> = mpanel::db::MIGRATIONS
        .iter()
        .map(|m| m.name.to_string())
        .collect();
    assert_eq!(
        sqlite, embedded,
        "every file is embedded in src/db/migrate.rs"
    );
    let versions: Vec<i64> = mpanel::db::MIGRATIONS.iter().map(|m| m.version).collect();
    assert!(
        versions.windows(2).all(|w| w[0] < w[1]),
        "versions strictly increase: {versions:?}"
    );
    for m in mpanel::db::MIGRATIONS {
        assert!(
            m.name.starts_with(&format!("{:04}_", m.version)),
            "{} matches its version",
            m.name
        );
        // same tables and indexes on both sides
        let objects = |sql: &str| -> BTreeSet<String> {
            sql.lines()
                .filter_map(|l| {
                    let l = l.trim();
                    let rest = l
                        .strip_prefix("CREATE TABLE ")
                        .or_else(|| l.strip_prefix("CREATE INDEX "))
                        .or_else(|| l.strip_prefix("CREATE UNIQUE INDEX "))
                        .or_else(|| l.strip_prefix("ALTER TABLE "))?;
                    rest.split_whitespace().next().map(str::to_string)
                })
                .collect()
        };
        assert_eq!(
            objects(m.sqlite),
            objects(m.postgres),
            "{}: same objects",
            m.name
        );
        // DESIGN.md: no NUMERIC / TIMESTAMPTZ / BOOLEAN columns (the Any driver cannot carry them)
        for sql in [m.sqlite, m.postgres] {
            let upper = sql.to_uppercase();
            for banned in ["NUMERIC", "TIMESTAMPTZ", "BOOLEAN", "DECIMAL"] {
                assert!(!upper.contains(banned), "{}: {banned}", m.name);
            }
        }
    }
}
