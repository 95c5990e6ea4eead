//! The `mpanel` binary itself: --help, migrate, admin create-owner, serve + SIGTERM.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::*;

fn mpanel(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mpanel"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("MPANEL_DATA_DIR", dir)
        .env("MPANEL_LOG", "warn");
    cmd
}

fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mpanel-cli-{}", mpanel::db::new_id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn help_documents_configuration_and_subcommands() {
    let out = mpanel(&temp_dir()).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "DATABASE_URL",
        "MPANEL_BIND",
        "MPANEL_DATA_DIR",
        "MPANEL_BASE_URL",
        "MPANEL_SECRET_KEY",
        "serve",
        "migrate",
        "admin",
    ] {
        assert!(help.contains(needle), "--help mentions {needle}");
    }
}

#[tokio::test]
async fn admin_create_owner_reads_the_password_from_stdin_or_generates_one() {
    let dir = temp_dir();
    // the same database the app under test will use: SQLite in `dir`, or a fresh Postgres schema
    let database_url = test_database_url(&dir).await;
    let mpanel = |dir: &std::path::Path| {
        let mut cmd = mpanel(dir);
        if let Some(url) = &database_url {
            cmd.env("DATABASE_URL", url);
        }
        cmd
    };
    let mut child = mpanel(&dir)
        .args([
            "admin",
            "create-owner",
            "--email",
            "Root@Example.test",
            "--company",
            "CLI Hosting",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a piped owner passphrase\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("created OWNER root@example.test") && !stdout.contains("passphrase"));

    // an empty stdin gets a generated password, printed once
    let out = mpanel(&dir)
        .args(["admin", "create-owner", "--email", "second@example.test"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let generated = stdout
        .split("password (shown once): ")
        .nth(1)
        .unwrap()
        .trim()
        .to_string();
    assert!(generated.len() >= 20);

    // a weak password is refused with a message, nothing created
    let mut child = mpanel(&dir)
        .args(["admin", "create-owner", "--email", "weak@example.test"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"short\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 12"));

    // both owners can sign in to the panel served from the same data dir
    let app = TestApp::spawn_with(|c| {
        c.data_dir = dir.clone();
        c.database_url = database_url.clone();
    })
    .await;
    let c = app.client();
    assert_eq!(
        c.login("root@example.test", "a piped owner passphrase")
            .await
            .status(),
        303
    );
    assert_eq!(
        app.client()
            .login("second@example.test", &generated)
            .await
            .status(),
        303
    );
    assert_eq!(c.get("/setup").await.status(), 404, "setup is closed");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM tenants WHERE kind = 'OPERATOR'")
            .await,
        1
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn migrate_creates_the_schema_and_is_idempotent() {
    let dir = temp_dir();
    for _ in 0..2 {
        let out = mpanel(&dir).arg("migrate").output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(dir.join("mpanel.db").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn serve_stops_cleanly_on_sigterm() {
    let dir = temp_dir();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = mpanel(&dir)
        .env("MPANEL_BIND", format!("127.0.0.1:{port}"))
        .spawn()
        .unwrap();
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let health = mpanel(&dir)
        .env("MPANEL_BIND", format!("127.0.0.1:{port}"))
        .arg("healthcheck")
        .status()
        .unwrap();
    assert!(health.success(), "healthcheck subcommand");
    assert!(
        dir.join("secret.key").exists(),
        "secret generated on first run"
    );
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "graceful exit, got {status:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
