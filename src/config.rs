//! One `Config`, from flags or `MPANEL_*` / `DATABASE_URL` environment variables.

mod ops;
mod payments;
pub use ops::OpsConfig;
pub use payments::PaymentConfig;

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use clap::{Args, Parser, Subcommand};
use rand::RngCore;

#[derive(Parser, Debug)]
#[command(
    name = "mpanel",
    version,
    about = "mPanel: a hosting company's control panel",
    long_about = "mPanel: a hosting company's control panel.\n\n\
        With no subcommand it serves the panel (SQLite at ./data/mpanel.db, created and \
        migrated on first run). Every option can also be given as the environment variable \
        shown beside it."
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the panel (the default); runs the job worker too unless --no-worker.
    Serve,
    /// Run only the job worker (several may share one PostgreSQL database).
    Worker,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Administrative tasks.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Exit 0 when the panel at --bind answers /healthz (used by the Docker HEALTHCHECK).
    Healthcheck,
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create an OWNER of the operator tenant (creating the operator tenant on a fresh install).
    /// The password is read from standard input when it is not a terminal; otherwise a strong
    /// password is generated and printed once.
    CreateOwner {
        #[arg(long)]
        email: String,
        /// Operator company name, used when the operator tenant does not exist yet.
        #[arg(long, default_value = "Operator")]
        company: String,
    },
}

#[derive(Args, Debug, Clone)]
pub struct Config {
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB. Default: sqlite in the data dir.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// Address and port to listen on.
    #[arg(
        long,
        env = "MPANEL_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: SocketAddr,

    /// Directory for the SQLite database, the generated secret key and outgoing mail files.
    #[arg(long, env = "MPANEL_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,

    /// Public URL of the panel (e.g. https://panel.example.com). Cookies are marked Secure when
    /// it is https. Default: http://<bind>.
    #[arg(long, env = "MPANEL_BASE_URL", global = true)]
    pub base_url: Option<String>,

    /// Secret for signing cookies (at least 32 characters). Default: generated on first run and
    /// kept in <data dir>/secret.key.
    #[arg(long, env = "MPANEL_SECRET_KEY", hide_env_values = true, global = true)]
    pub secret_key: Option<String>,

    /// Maximum database connections in the pool.
    #[arg(
        long,
        env = "MPANEL_DB_MAX_CONNECTIONS",
        default_value_t = 16,
        global = true
    )]
    pub db_max_connections: u32,

    /// Absolute session lifetime in minutes.
    #[arg(
        long,
        env = "MPANEL_SESSION_TTL_MINUTES",
        default_value_t = 720,
        global = true
    )]
    pub session_ttl_minutes: i64,

    /// A session unused for this many minutes ends.
    #[arg(
        long,
        env = "MPANEL_SESSION_IDLE_MINUTES",
        default_value_t = 120,
        global = true
    )]
    pub session_idle_minutes: i64,

    /// Failed sign-ins allowed in a burst for one account before it is slowed down.
    #[arg(
        long,
        env = "MPANEL_LOGIN_ACCOUNT_BURST",
        default_value_t = 5,
        global = true
    )]
    pub login_account_burst: u32,

    /// After the burst, one more attempt per account is allowed every this many seconds.
    #[arg(
        long,
        env = "MPANEL_LOGIN_ACCOUNT_INTERVAL_SECS",
        default_value_t = 60,
        global = true
    )]
    pub login_account_interval_secs: u32,

    /// Failed sign-ins allowed in a burst from one client IP (any account).
    #[arg(
        long,
        env = "MPANEL_LOGIN_IP_BURST",
        default_value_t = 20,
        global = true
    )]
    pub login_ip_burst: u32,

    /// After the burst, one more attempt per IP is allowed every this many seconds.
    #[arg(
        long,
        env = "MPANEL_LOGIN_IP_INTERVAL_SECS",
        default_value_t = 15,
        global = true
    )]
    pub login_ip_interval_secs: u32,

    /// Reverse proxies whose X-Forwarded-For header is trusted (comma-separated IPs).
    #[arg(
        long,
        env = "MPANEL_TRUSTED_PROXIES",
        value_delimiter = ',',
        global = true
    )]
    pub trusted_proxies: Vec<IpAddr>,

    /// Log filter (tracing-subscriber syntax), e.g. info or mpanel=debug.
    #[arg(long, env = "MPANEL_LOG", default_value = "info", global = true)]
    pub log: String,

    /// Do not run the job worker inside `serve` (run `mpanel worker` processes instead).
    #[arg(long, env = "MPANEL_NO_WORKER", global = true,
        value_parser = clap::builder::BoolishValueParser::new())]
    pub no_worker: bool,

    /// Jobs one worker runs at the same time.
    #[arg(
        long,
        env = "MPANEL_WORKER_CONCURRENCY",
        default_value_t = 16,
        global = true
    )]
    pub worker_concurrency: usize,

    /// Seconds a claimed job stays leased without a heartbeat; after that another worker
    /// rescues it (heartbeats renew it every third of this).
    #[arg(
        long,
        env = "MPANEL_JOB_LEASE_SECS",
        default_value_t = 30,
        global = true
    )]
    pub job_lease_secs: u64,

    /// Milliseconds between queue polls when no wake-up arrives (jobs enqueued by another
    /// process on SQLite, scheduled retries).
    #[arg(
        long,
        env = "MPANEL_JOB_POLL_MS",
        default_value_t = 1000,
        global = true
    )]
    pub job_poll_ms: u64,

    /// On shutdown, seconds running jobs get to finish before they return to the queue.
    #[arg(
        long,
        env = "MPANEL_WORKER_SHUTDOWN_GRACE_SECS",
        default_value_t = 8,
        global = true
    )]
    pub worker_shutdown_grace_secs: u64,

    /// Outgoing mail server, e.g. smtp://user:pass@host:587?tls=required or
    /// smtps://user:pass@host:465. Without it, mail is written as .eml files to <data dir>/mail.
    #[arg(long, env = "MPANEL_SMTP_URL", hide_env_values = true, global = true)]
    pub smtp_url: Option<String>,

    /// Sender of outgoing mail.
    #[arg(
        long,
        env = "MPANEL_MAIL_FROM",
        default_value = "mPanel <mpanel@localhost>",
        global = true
    )]
    pub mail_from: String,

    /// CloudPod provisioner: `manual` (no hypervisor is connected: pods are marked active and
    /// the panel says so) or `proxmox` (the Proxmox VE API, configured below).
    #[arg(
        long,
        env = "MPANEL_PROVISIONER",
        default_value = "manual",
        global = true
    )]
    pub provisioner: String,

    /// Proxmox VE API base, e.g. https://pve1.example.net:8006/api2/json
    #[arg(long, env = "MPANEL_PROXMOX_URL", global = true)]
    pub proxmox_url: Option<String>,

    /// Proxmox API token id, USER@REALM!TOKENID (e.g. mpanel@pve!provisioning).
    #[arg(long, env = "MPANEL_PROXMOX_TOKEN_ID", global = true)]
    pub proxmox_token_id: Option<String>,

    /// Proxmox API token secret (a UUID).
    #[arg(
        long,
        env = "MPANEL_PROXMOX_TOKEN_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub proxmox_token_secret: Option<String>,

    /// Proxmox node new pods are cloned on.
    #[arg(long, env = "MPANEL_PROXMOX_NODE", global = true)]
    pub proxmox_node: Option<String>,

    /// VMID of the template that new pods are full clones of.
    #[arg(long, env = "MPANEL_PROXMOX_TEMPLATE_VMID", global = true)]
    pub proxmox_template_vmid: Option<i64>,

    /// Storage the clones' disks are written to (e.g. local-lvm).
    #[arg(long, env = "MPANEL_PROXMOX_STORAGE", global = true)]
    pub proxmox_storage: Option<String>,

    /// Storage the pods' backups are written to by `vzdump` (e.g. a PBS or NFS storage).
    /// Unset: the proxmox provisioner does not back up pods, and the panel says so.
    #[arg(long, env = "MPANEL_PROXMOX_BACKUP_STORAGE", global = true)]
    pub proxmox_backup_storage: Option<String>,

    /// The template's disk that is grown to the plan's size.
    #[arg(
        long,
        env = "MPANEL_PROXMOX_DISK",
        default_value = "scsi0",
        global = true
    )]
    pub proxmox_disk: String,

    /// PEM file with the CA (or the self-signed certificate) the Proxmox API presents.
    #[arg(long, env = "MPANEL_PROXMOX_CA_FILE", global = true)]
    pub proxmox_ca_file: Option<PathBuf>,

    /// SHA-256 fingerprint of the Proxmox API certificate (hex, colons allowed), pinned
    /// instead of a CA file. Never "accept any certificate".
    #[arg(long, env = "MPANEL_PROXMOX_FINGERPRINT", global = true)]
    pub proxmox_fingerprint: Option<String>,

    /// Seconds to wait for one Proxmox task (clone, resize, start…) before the job attempt
    /// fails and is retried; the task's UPID is kept, so the retry goes on waiting for it.
    #[arg(
        long,
        env = "MPANEL_PROXMOX_TASK_TIMEOUT_SECS",
        default_value_t = 120,
        global = true
    )]
    pub proxmox_task_timeout_secs: u64,

    /// Milliseconds between polls of a running Proxmox task.
    #[arg(
        long,
        env = "MPANEL_PROXMOX_POLL_MS",
        default_value_t = 1000,
        global = true
    )]
    pub proxmox_poll_ms: u64,

    /// Days an order's first invoice may stay unpaid before the order expires.
    #[arg(
        long,
        env = "MPANEL_ORDER_EXPIRY_DAYS",
        default_value_t = 7,
        global = true
    )]
    pub order_expiry_days: i64,

    /// Seconds between bill runs (renewals, trial ends, expired orders, dunning); 0: none run
    /// by themselves (staff start them on /billing/bill-runs).
    #[arg(
        long,
        env = "MPANEL_BILL_RUN_EVERY_SECS",
        default_value_t = 300,
        global = true
    )]
    pub bill_run_every_secs: u64,

    /// Days before a period ends that its renewal invoice is issued (0: on the day).
    #[arg(
        long,
        env = "MPANEL_RENEWAL_LEAD_DAYS",
        default_value_t = 7,
        global = true
    )]
    pub renewal_lead_days: i64,

    /// Days before an invoice's due date that a reminder is sent (0: none).
    #[arg(
        long,
        env = "MPANEL_DUNNING_REMIND_BEFORE_DAYS",
        default_value_t = 3,
        global = true
    )]
    pub dunning_remind_before_days: i64,

    /// Days after the due date that overdue reminders are sent, comma-separated (a 0 drops one).
    #[arg(
        long,
        env = "MPANEL_DUNNING_REMIND_AFTER_DAYS",
        default_value = "1,7,14",
        global = true
    )]
    pub dunning_remind_after_days: String,

    /// Days overdue after which the subscription and its pod are suspended (reason OVERDUE).
    #[arg(
        long,
        env = "MPANEL_DUNNING_SUSPEND_AFTER_DAYS",
        default_value_t = 7,
        global = true
    )]
    pub dunning_suspend_after_days: i64,

    /// Days overdue after which the subscription is cancelled, its pod deleted and the invoice
    /// voided; at least the suspension's days.
    #[arg(
        long,
        env = "MPANEL_DUNNING_CANCEL_AFTER_DAYS",
        default_value_t = 30,
        global = true
    )]
    pub dunning_cancel_after_days: i64,

    /// A late fee added once to an invoice when it is suspended for: `5%` of its total or a
    /// fixed amount such as `10.00` in the invoice's currency. Empty: none.
    #[arg(long, env = "MPANEL_LATE_FEE", default_value = "", global = true)]
    pub late_fee: String,

    /// The operations overview, `/metrics` and the node probes.
    #[command(flatten)]
    pub ops: OpsConfig,
    /// API requests each token may make per minute, on average (a token bucket per token and
    /// per instance: with several `serve` instances a token gets this much from each).
    #[arg(
        long,
        env = "MPANEL_API_RATE_PER_MINUTE",
        default_value_t = 600,
        global = true
    )]
    pub api_rate_per_minute: u32,

    /// How many API requests a token may make at once before the per-minute rate applies.
    #[arg(
        long,
        env = "MPANEL_API_RATE_BURST",
        default_value_t = 120,
        global = true
    )]
    pub api_rate_burst: u32,
    /// Online payments (Stripe Checkout, payment webhooks, bank details).
    #[command(flatten)]
    pub payments: PaymentConfig,
}

impl Config {
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("mpanel.db").display()))
    }

    pub fn base_url(&self) -> String {
        self.base_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.bind))
            .trim_end_matches('/')
            .to_string()
    }

    pub fn secure_cookies(&self) -> bool {
        self.base_url().starts_with("https://")
    }

    /// The metrics token, if set; refuses one too short to be a secret.
    pub fn metrics_token(&self) -> anyhow::Result<Option<&str>> {
        match self.ops.metrics_token.as_deref().map(str::trim) {
            None | Some("") => Ok(None),
            Some(t) => {
                anyhow::ensure!(
                    t.len() >= 32,
                    "MPANEL_METRICS_TOKEN must be at least 32 characters"
                );
                Ok(Some(t))
            }
        }
    }

    /// The signing secret: given, or read from (or generated into) `<data dir>/secret.key`.
    pub fn load_secret(&self) -> anyhow::Result<Vec<u8>> {
        if let Some(s) = &self.secret_key {
            anyhow::ensure!(
                s.len() >= 32,
                "MPANEL_SECRET_KEY must be at least 32 characters"
            );
            return Ok(s.as_bytes().to_vec());
        }
        let path = self.data_dir.join("secret.key");
        if let Ok(text) = std::fs::read_to_string(&path) {
            return STANDARD
                .decode(text.trim())
                .with_context(|| format!("{} is not valid base64", path.display()));
        }
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("creating {}", self.data_dir.display()))?;
        let mut key = vec![0u8; 64];
        rand::rng().fill_bytes(&mut key);
        write_private(&path, &STANDARD.encode(&key))?;
        tracing::info!(path = %path.display(), "generated a new secret key");
        Ok(key)
    }
}

/// Writes a file readable only by its owner (the key must not be world-readable).
fn write_private(path: &std::path::Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(contents.as_bytes())?;
    Ok(())
}
