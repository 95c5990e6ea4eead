//! Outgoing e-mail. Features call [`enqueue`] inside their own transaction; the worker's
//! `mail.send` handler sends it with lettre: SMTP when `MPANEL_SMTP_URL` is set, otherwise an
//! `.eml` file under `<data dir>/mail`. Delivery is at least once: a crash between the SMTP
//! server's "250 OK" and the job's completion sends the message again.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::db::Tx;
use crate::jobs::{self, Enqueued, JobError, NewJob, Registry};

pub const KIND: &str = "mail.send";

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct OutgoingMail {
    /// One recipient, `name@example.com` or `Name <name@example.com>`.
    pub to: String,
    pub subject: String,
    pub text_body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html_body: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<MailAttachment>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct MailAttachment {
    pub filename: String,
    pub content_type: String,
    pub content_base64: String,
}

impl MailAttachment {
    pub fn new(filename: &str, content_type: &str, content: &[u8]) -> MailAttachment {
        MailAttachment {
            filename: filename.to_string(),
            content_type: content_type.to_string(),
            content_base64: STANDARD.encode(content),
        }
    }
}

/// The `mail.send` job for `mail`, to add `.subject(…)` / `.tenant(…)` before enqueueing.
pub fn job(mail: &OutgoingMail) -> NewJob {
    NewJob::new(KIND, &serde_json::json!(mail)).max_attempts(12)
}

/// Enqueues `mail` in the caller's transaction: it is sent only if that transaction commits.
pub async fn enqueue(tx: &mut Tx, mail: &OutgoingMail) -> sqlx::Result<Enqueued> {
    jobs::enqueue(tx, job(mail)).await
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(PathBuf),
}

pub struct Mailer {
    from: Mailbox,
    transport: Transport,
}

impl Mailer {
    /// Fails on a malformed `MPANEL_SMTP_URL` or `MPANEL_MAIL_FROM`, so start-up can refuse.
    pub fn from_config(c: &Config) -> anyhow::Result<Mailer> {
        let from: Mailbox = c
            .mail_from
            .parse()
            .map_err(|e| anyhow::anyhow!("MPANEL_MAIL_FROM {:?}: {e}", c.mail_from))?;
        let transport = match c.smtp_url.as_deref().filter(|u| !u.trim().is_empty()) {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.trim())
                    .map_err(|e| anyhow::anyhow!("MPANEL_SMTP_URL: {e}"))?
                    .timeout(Some(Duration::from_secs(30)))
                    .build(),
            ),
            None => Transport::Files(c.data_dir.join("mail")),
        };
        Ok(Mailer { from, transport })
    }

    pub async fn send(&self, mail: &OutgoingMail) -> Result<(), JobError> {
        let message = build_message(&self.from, mail)?;
        match &self.transport {
            Transport::Smtp(smtp) => smtp.send(message).await.map(|_| ()).map_err(|e| {
                // 5xx: the server will never take it (bad recipient, policy); 4xx, I/O: later.
                if e.is_permanent() {
                    JobError::permanent(format!("SMTP refused the message: {e}"))
                } else {
                    JobError::retry(format!("SMTP: {e}"))
                }
            }),
            Transport::Files(dir) => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| JobError::retry(format!("creating {}: {e}", dir.display())))?;
                AsyncFileTransport::<Tokio1Executor>::new(dir)
                    .send(message)
                    .await
                    .map(|_| ())
                    .map_err(|e| JobError::retry(format!("writing to {}: {e}", dir.display())))
            }
        }
    }
}

/// An unparsable address or attachment can never be sent: permanent errors.
fn build_message(from: &Mailbox, mail: &OutgoingMail) -> Result<Message, JobError> {
    let to: Mailbox = mail
        .to
        .parse()
        .map_err(|e| JobError::permanent(format!("recipient {:?}: {e}", mail.to)))?;
    let mut builder = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(mail.subject.clone())
        .message_id(None);
    if let Some(reply_to) = &mail.reply_to {
        let r: Mailbox = reply_to
            .parse()
            .map_err(|e| JobError::permanent(format!("reply-to {reply_to:?}: {e}")))?;
        builder = builder.reply_to(r);
    }
    let text = SinglePart::plain(mail.text_body.clone());
    let built = if mail.attachments.is_empty() && mail.html_body.is_none() {
        builder.singlepart(text)
    } else {
        let body = match &mail.html_body {
            Some(html) => MultiPart::alternative_plain_html(mail.text_body.clone(), html.clone()),
            None => MultiPart::mixed().singlepart(text),
        };
        let mut mixed = MultiPart::mixed().multipart(body);
        for a in &mail.attachments {
            let content = STANDARD.decode(&a.content_base64).map_err(|e| {
                JobError::permanent(format!("attachment {:?} is not base64: {e}", a.filename))
            })?;
            let content_type = ContentType::parse(&a.content_type).map_err(|e| {
                JobError::permanent(format!("attachment {:?} type: {e}", a.filename))
            })?;
            mixed =
                mixed.singlepart(Attachment::new(a.filename.clone()).body(content, content_type));
        }
        builder.multipart(mixed)
    };
    built.map_err(|e| JobError::permanent(format!("cannot build the message: {e}")))
}

/// Registers `mail.send`. A bad mail configuration fails each attempt (retryable), so mail
/// waits in the queue until the configuration is fixed; start-up has already refused it.
pub fn register(registry: &mut Registry, config: &Config) {
    let mailer = Mailer::from_config(config)
        .map(Arc::new)
        .map_err(|e| format!("{e:#}"));
    registry.register(KIND, move |ctx| {
        let mailer = mailer.clone();
        async move {
            let mailer = mailer.map_err(JobError::retry)?;
            let mail: OutgoingMail = ctx.parse()?;
            mailer.send(&mail).await
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from() -> Mailbox {
        "Panel <panel@example.test>".parse().unwrap()
    }

    #[test]
    fn builds_plain_and_multipart_messages() {
        let mail = OutgoingMail {
            to: "Ann <ann@example.test>".into(),
            subject: "Invoice INV-2026-000001".into(),
            text_body: "Hello Ann".into(),
            ..OutgoingMail::default()
        };
        let raw = String::from_utf8(build_message(&from(), &mail).unwrap().formatted()).unwrap();
        assert!(raw.contains("To: Ann <ann@example.test>"));
        assert!(raw.contains("Subject: Invoice INV-2026-000001"));
        assert!(raw.contains("Message-ID: <") && raw.contains("Hello Ann"));

        let with_pdf = OutgoingMail {
            html_body: Some("<p>Hello</p>".into()),
            attachments: vec![MailAttachment::new(
                "inv.pdf",
                "application/pdf",
                b"%PDF-1.7",
            )],
            ..mail
        };
        let raw =
            String::from_utf8(build_message(&from(), &with_pdf).unwrap().formatted()).unwrap();
        assert!(raw.contains("multipart/mixed") && raw.contains("text/html"));
        assert!(raw.contains("filename=\"inv.pdf\""));
    }

    #[test]
    fn bad_addresses_and_attachments_are_permanent_errors() {
        let bad = OutgoingMail {
            to: "not an address".into(),
            ..OutgoingMail::default()
        };
        assert!(matches!(
            build_message(&from(), &bad),
            Err(JobError::Permanent(_))
        ));
        let bad = OutgoingMail {
            to: "a@example.test".into(),
            attachments: vec![MailAttachment {
                filename: "x".into(),
                content_type: "text/plain".into(),
                content_base64: "***".into(),
            }],
            ..OutgoingMail::default()
        };
        assert!(matches!(
            build_message(&from(), &bad),
            Err(JobError::Permanent(_))
        ));
    }
}
