//! Outgoing mail: enqueued in a transaction, sent by the worker to a real SMTP listener
//! started here (127.0.0.1, port 0), or written as .eml files when no SMTP URL is set.

use std::sync::{Arc, Mutex};

use mpanel::mail::{self, MailAttachment, OutgoingMail};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::helpers::*;

/// Just enough SMTP for lettre: greeting, EHLO, MAIL, RCPT (answered with `rcpt_reply`),
/// DATA, RSET, NOOP, QUIT. Each accepted message is kept as (envelope recipients, data).
pub(crate) type Inbox = Arc<Mutex<Vec<(Vec<String>, String)>>>;

pub(crate) struct FakeSmtp {
    pub(crate) url: String,
    pub(crate) received: Inbox,
}

pub(crate) async fn fake_smtp(rcpt_reply: &'static str) -> FakeSmtp {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let received: Inbox = Arc::default();
    let store = received.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write
                    .write_all(b"220 fake.test ESMTP ready\r\n")
                    .await
                    .unwrap();
                let mut rcpts = Vec::new();
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let reply: &str = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        "250-fake.test\r\n250 8BITMIME\r\n"
                    } else if upper.starts_with("MAIL FROM") {
                        rcpts.clear();
                        "250 2.1.0 ok\r\n"
                    } else if upper.starts_with("RCPT TO") {
                        rcpts.push(line[8..].trim().to_string());
                        rcpt_reply
                    } else if upper == "DATA" {
                        write.write_all(b"354 go ahead\r\n").await.unwrap();
                        let mut data = String::new();
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                            data.push_str(&l);
                            data.push('\n');
                        }
                        store.lock().unwrap().push((rcpts.clone(), data));
                        "250 2.0.0 queued\r\n"
                    } else if upper == "QUIT" {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        return;
                    } else {
                        "250 ok\r\n"
                    };
                    if write.write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    FakeSmtp {
        url: format!("smtp://{addr}"),
        received,
    }
}

fn invoice_mail() -> OutgoingMail {
    OutgoingMail {
        to: "Ann Buyer <ann@acme.test>".into(),
        subject: "Invoice INV-2026-000042".into(),
        text_body: "Dear Ann,\nyour invoice INV-2026-000042 is attached.\n".into(),
        attachments: vec![MailAttachment::new(
            "INV-2026-000042.pdf",
            "application/pdf",
            b"%PDF-1.7 test",
        )],
        ..OutgoingMail::default()
    }
}

async fn enqueue_mail(app: &TestApp, mail: &OutgoingMail) -> String {
    let mut tx = app.state.db.begin_write().await.unwrap();
    let job = mail::enqueue(&mut tx, mail).await.unwrap();
    tx.commit().await.unwrap();
    job.id
}

#[tokio::test]
async fn mail_reaches_a_real_smtp_listener() {
    let smtp = fake_smtp("250 2.1.5 ok\r\n").await;
    let url = smtp.url.clone();
    let app = TestApp::spawn_with(|c| c.smtp_url = Some(url)).await;
    let id = enqueue_mail(&app, &invoice_mail()).await;
    app.wait_for_job(&id, "completed", 15).await;
    let received = smtp.received.lock().unwrap().clone();
    assert_eq!(received.len(), 1);
    let (rcpts, data) = &received[0];
    assert_eq!(rcpts, &vec!["<ann@acme.test>".to_string()]);
    assert!(
        data.contains("From: mPanel <panel@operator.test>"),
        "{data}"
    );
    assert!(
        data.contains("To: \"Ann Buyer\" <ann@acme.test>")
            || data.contains("To: Ann Buyer <ann@acme.test>"),
        "{data}"
    );
    assert!(data.contains("Subject: Invoice INV-2026-000042"));
    assert!(data.contains("your invoice INV-2026-000042 is attached."));
    assert!(data.contains("filename=\"INV-2026-000042.pdf\""));
    assert!(
        !app.state.config.data_dir.join("mail").exists(),
        "no .eml fallback"
    );
}

#[tokio::test]
async fn smtp_refusals_are_kept_as_errors_temporary_ones_retry() {
    let rejecting = fake_smtp("550 5.1.1 no such user\r\n").await;
    let url = rejecting.url.clone();
    let app = TestApp::spawn_with(|c| c.smtp_url = Some(url)).await;
    let id = enqueue_mail(&app, &invoice_mail()).await;
    app.wait_for_job(&id, "discarded", 15).await;
    let error: String = sqlx::query_scalar("SELECT error FROM job_errors WHERE job_id = $1")
        .bind(&id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert!(
        error.contains("SMTP refused the message") && error.contains("no such user"),
        "{error}"
    );

    let busy = fake_smtp("451 4.3.0 try later\r\n").await;
    let url = busy.url.clone();
    let app = TestApp::spawn_with(|c| c.smtp_url = Some(url)).await;
    let id = enqueue_mail(&app, &invoice_mail()).await;
    app.wait_for_job(&id, "retryable", 15).await;
    assert!(busy.received.lock().unwrap().is_empty());
}

#[tokio::test]
async fn without_smtp_mail_is_written_as_eml_files() {
    let app = TestApp::spawn().await;
    let id = enqueue_mail(&app, &invoice_mail()).await;
    app.wait_for_job(&id, "completed", 15).await;
    let dir = app.state.config.data_dir.join("mail");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0].extension().unwrap(), "eml");
    let eml = std::fs::read_to_string(&files[0]).unwrap();
    assert!(eml.contains("Subject: Invoice INV-2026-000042"));
    assert!(eml.contains("From: mPanel <panel@operator.test>"));
}

#[tokio::test]
async fn a_malformed_smtp_url_or_sender_refuses_to_start() {
    let dir = std::env::temp_dir().join(format!("mpanel-mailcfg-{}", mpanel::db::new_id()));
    let mut config = test_config(&dir);
    config.smtp_url = Some("ftp://mail.example.test".into());
    let err = mpanel::app::build_state(config.clone())
        .await
        .err()
        .expect("refused");
    assert!(format!("{err:#}").contains("MPANEL_SMTP_URL"), "{err:#}");
    config.smtp_url = None;
    config.mail_from = "not an address".into();
    let err = mpanel::app::build_state(config)
        .await
        .err()
        .expect("refused");
    assert!(format!("{err:#}").contains("MPANEL_MAIL_FROM"), "{err:#}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn mpanel_worker_sends_queued_mail_and_stops_on_sigterm() {
    use std::process::Command;
    use std::time::{Duration, Instant};
    let dir = std::env::temp_dir().join(format!("mpanel-worker-{}", mpanel::db::new_id()));
    std::fs::create_dir_all(&dir).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    // Queue a mail in the database the worker will use, with no server running.
    let database_url = rt.block_on(test_database_url(&dir));
    let url = database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.join("mpanel.db").display()));
    rt.block_on(async {
        let db = mpanel::db::Db::connect(&url, 2).await.unwrap();
        db.migrate().await.unwrap();
        let mut tx = db.begin_write().await.unwrap();
        mail::enqueue(&mut tx, &invoice_mail()).await.unwrap();
        tx.commit().await.unwrap();
    });
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mpanel"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("MPANEL_DATA_DIR", &dir)
        .env("MPANEL_LOG", "warn")
        .env("DATABASE_URL", &url)
        .arg("worker");
    let mut child = cmd.spawn().unwrap();
    let started = Instant::now();
    let mail_dir = dir.join("mail");
    while std::fs::read_dir(&mail_dir).map_or(0, |d| d.count()) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "worker sent nothing"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "graceful exit, got {status:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
