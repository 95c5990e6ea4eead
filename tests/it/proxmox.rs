//! The Proxmox VE driver against the API double (proxmox_double.rs).

use std::sync::Mutex;
use std::time::Duration;

use mpanel::provision::proxmox::{Proxmox, ProxmoxSettings, ProxmoxTls, fingerprint_hex};
use mpanel::provision::{
    Checkpoint, CheckpointFuture, PowerAction, ProvisionError, Provisioner, VmSpec, VmState,
};

use reqwest::StatusCode;

use crate::proxmox_double::{Double, NODE, TEMPLATE, TOKEN_ID, TOKEN_SECRET};

/// Records every state saved through the checkpoint.
#[derive(Default)]
struct Recorder {
    saved: Mutex<Vec<VmState>>,
}

impl Checkpoint for Recorder {
    fn save<'a>(&'a self, state: &'a VmState) -> CheckpointFuture<'a> {
        Box::pin(async move {
            self.saved.lock().unwrap().push(state.clone());
            Ok(())
        })
    }
}

impl Recorder {
    fn saved(&self) -> Vec<VmState> {
        self.saved.lock().unwrap().clone()
    }
}

fn settings(url: &str, tls: ProxmoxTls) -> ProxmoxSettings {
    let mut s = ProxmoxSettings::new(
        url,
        TOKEN_ID,
        TOKEN_SECRET,
        NODE,
        TEMPLATE,
        "local-lvm",
        tls,
    );
    s.poll_interval = Duration::from_millis(10);
    s.task_timeout = Duration::from_secs(5);
    s.request_timeout = Duration::from_secs(5);
    s
}

fn driver(double: &Double) -> Proxmox {
    Proxmox::new(settings(&double.url, ProxmoxTls::PlainLocalhost)).unwrap()
}

fn spec() -> VmSpec {
    VmSpec {
        name: "pod-42".into(),
        cpu_cores: 2,
        ram_mb: 2048,
        disk_gb: 20,
    }
}

fn retryable(e: ProvisionError) -> String {
    match e {
        ProvisionError::Retryable(m) => m,
        other => panic!("expected a retryable error, got {other:?}"),
    }
}

fn permanent(e: ProvisionError) -> String {
    match e {
        ProvisionError::Permanent(m) => m,
        other => panic!("expected a permanent error, got {other:?}"),
    }
}

/// Index of the first call starting with `prefix` (panics when absent).
fn pos(calls: &[String], prefix: &str) -> usize {
    calls
        .iter()
        .position(|c| c.starts_with(prefix))
        .unwrap_or_else(|| panic!("no call {prefix:?} in {calls:#?}"))
}

#[tokio::test]
async fn proxmox_provision_happy_path() {
    let double = Double::start().await;
    let px = driver(&double);
    let cp = Recorder::default();
    let mut state = VmState::default();

    let done = px.provision(&spec(), &mut state, &cp).await.unwrap();
    assert_eq!(done.ip_address.as_deref(), Some("203.0.113.100"));
    assert_eq!(state.vmid, Some(100));
    assert_eq!(state.node.as_deref(), Some(NODE));
    assert_eq!(state.task, None);

    let calls = double.calls();
    let nextid = pos(&calls, "GET /cluster/nextid");
    let clone = pos(&calls, &format!("POST /nodes/{NODE}/qemu/{TEMPLATE}/clone"));
    let config = pos(&calls, &format!("PUT /nodes/{NODE}/qemu/100/config"));
    let resize = pos(&calls, &format!("PUT /nodes/{NODE}/qemu/100/resize"));
    let start = pos(&calls, &format!("POST /nodes/{NODE}/qemu/100/status/start"));
    assert!(
        nextid < clone && clone < config && config < resize && resize < start,
        "{calls:#?}"
    );
    assert_eq!(double.count("POST", "/clone"), 1);

    let reqs = double.requests();
    let clone_req = reqs.iter().find(|r| r.is("POST", "/clone")).unwrap();
    assert_eq!(clone_req.form["newid"], "100");
    assert_eq!(clone_req.form["name"], "pod-42");
    assert_eq!(clone_req.form["full"], "1");
    assert_eq!(clone_req.form["storage"], "local-lvm");
    assert_eq!(clone_req.form["target"], NODE);
    let config_req = reqs.iter().find(|r| r.is("PUT", "/config")).unwrap();
    assert_eq!(config_req.form["cores"], "2");
    assert_eq!(config_req.form["memory"], "2048");
    let resize_req = reqs.iter().find(|r| r.is("PUT", "/resize")).unwrap();
    assert_eq!(resize_req.form["disk"], "scsi0");
    assert_eq!(resize_req.form["size"], "20G");

    let vm = double.vm(100).unwrap();
    assert!(vm.running);
    assert_eq!((vm.cores, vm.memory, vm.disk_gb), (2, 2048, 20));

    // The checkpoints: the VMID before the clone, each UPID before waiting on it, cleared
    // when the task ended.
    let saved = cp.saved();
    assert_eq!(
        saved[0],
        VmState {
            vmid: Some(100),
            node: Some(NODE.into()),
            task: None
        }
    );
    let kinds: Vec<String> = saved
        .iter()
        .map(|s| match &s.task {
            Some(upid) => upid.split(':').nth(5).unwrap().to_string(),
            None => "-".into(),
        })
        .collect();
    assert_eq!(
        kinds,
        ["-", "qmclone", "-", "resize", "-", "qmstart", "-"],
        "{saved:#?}"
    );
    // Every saved UPID is the one the double handed out, saved before it was polled.
    let first_clone_poll = double
        .requests()
        .iter()
        .position(|r| r.path.contains("/tasks/") && r.path.contains(":qmclone:"))
        .unwrap();
    let clone_post = double
        .requests()
        .iter()
        .position(|r| r.is("POST", "/clone"))
        .unwrap();
    assert!(clone_post < first_clone_poll);

    // Provisioning again with the saved state clones nothing more.
    let cp2 = Recorder::default();
    px.provision(&spec(), &mut state, &cp2).await.unwrap();
    assert_eq!(double.count("POST", "/clone"), 1);
    assert_eq!(double.count("POST", "/status/start"), 1);
}

#[tokio::test]
async fn proxmox_provision_resumes_after_a_crash_without_cloning_twice() {
    let double = Double::start().await;
    let px = driver(&double);
    double.with(|s| s.hang_next_task = true);
    let cp = Recorder::default();
    let mut state = VmState::default();
    // First attempt: the clone task is slow; the attempt gives up waiting (as a crash
    // would), leaving the VMID and UPID saved.
    let mut quick = settings(&double.url, ProxmoxTls::PlainLocalhost);
    quick.task_timeout = Duration::from_millis(100);
    let impatient = Proxmox::new(quick).unwrap();
    let err = impatient
        .provision(&spec(), &mut state, &cp)
        .await
        .unwrap_err();
    assert!(retryable(err).contains("did not finish"));
    let upid = state.task.clone().expect("the clone UPID stays saved");
    assert!(upid.contains(":qmclone:"));
    assert_eq!(state.vmid, Some(100));

    // The hypervisor finishes the clone meanwhile.
    let tasks_before = double.count("GET", "/status");
    unhang(&double, &upid);

    // The next attempt (a fresh worker, the state read back from the pod) waits for the same
    // task and does not clone again.
    let cp2 = Recorder::default();
    let mut resumed = cp.saved().last().unwrap().clone();
    let done = px.provision(&spec(), &mut resumed, &cp2).await.unwrap();
    assert!(done.ip_address.is_some());
    assert_eq!(double.count("POST", "/clone"), 1);
    assert!(double.count("GET", "/status") > tasks_before);
    assert!(
        double
            .requests()
            .iter()
            .any(|r| r.path == format!("/nodes/{NODE}/tasks/{upid}/status")),
        "the saved UPID was polled"
    );
    assert_eq!(resumed.task, None);
    assert_eq!(
        cp2.saved()[0].task,
        None,
        "the finished task is cleared first"
    );
    assert!(double.vm(100).unwrap().running);
}

/// Lets a task started with `hang_next_task` end on its next poll.
fn unhang(double: &Double, upid: &str) {
    double.with(|s| s.unhang(upid));
}

#[tokio::test]
async fn proxmox_provision_treats_config_file_already_exists_as_cloned() {
    let double = Double::start().await;
    let px = driver(&double);
    double.with(|s| s.clone_conflict = true);
    let cp = Recorder::default();
    // A fresh attempt whose clone answer reports the VM exists (an earlier clone got through)
    let mut state = VmState::default();
    px.provision(&spec(), &mut state, &cp).await.unwrap();
    assert_eq!(double.count("POST", "/clone"), 1);
    let vm = double.vm(100).unwrap();
    assert!(vm.running);
    assert_eq!((vm.cores, vm.memory, vm.disk_gb), (2, 2048, 20));
}

#[tokio::test]
async fn proxmox_provision_with_saved_vmid_skips_clone_when_the_vm_exists() {
    let double = Double::start().await;
    let px = driver(&double);
    double.insert_vm(120, "pod-42", false);
    let cp = Recorder::default();
    let mut state = VmState {
        vmid: Some(120),
        node: Some(NODE.into()),
        task: None,
    };
    px.provision(&spec(), &mut state, &cp).await.unwrap();
    assert_eq!(double.count("POST", "/clone"), 0);
    assert_eq!(double.count("GET", "/cluster/nextid"), 0);
    assert!(double.vm(120).unwrap().running);

    // A VMID that belongs to another VM is not taken over.
    double.insert_vm(121, "someone-else", false);
    let mut other = VmState {
        vmid: Some(121),
        node: Some(NODE.into()),
        task: None,
    };
    let msg = permanent(px.provision(&spec(), &mut other, &cp).await.unwrap_err());
    assert!(msg.contains("someone-else"), "{msg}");
}

#[tokio::test]
async fn proxmox_failed_clone_task_is_retryable_with_proxmox_message_then_clones_again() {
    let double = Double::start().await;
    let px = driver(&double);
    let why = "clone failed: storage 'local-lvm' does not have enough free space";
    double.with(|s| s.task_failures.push_back(why.into()));
    let cp = Recorder::default();
    let mut state = VmState::default();
    let msg = retryable(px.provision(&spec(), &mut state, &cp).await.unwrap_err());
    assert!(msg.contains(why), "{msg}");
    assert!(msg.contains("9000") && msg.contains("100"), "{msg}");
    assert_eq!(state.vmid, Some(100));
    assert_eq!(state.task, None);
    assert!(double.vm(100).is_none());

    // Next attempt: the VM is absent, so it clones again with the same VMID.
    px.provision(&spec(), &mut state, &cp).await.unwrap();
    let clones: Vec<_> = double
        .requests()
        .into_iter()
        .filter(|r| r.is("POST", "/clone"))
        .collect();
    assert_eq!(clones.len(), 2);
    assert!(clones.iter().all(|r| r.form["newid"] == "100"));
    assert_eq!(double.count("GET", "/cluster/nextid"), 1);
    assert!(double.vm(100).unwrap().running);
}

#[tokio::test]
async fn proxmox_resumed_clone_that_failed_clones_again() {
    let double = Double::start().await;
    let px = driver(&double);
    double.with(|s| {
        s.task_failures.push_back("unexpected error".into());
        s.hang_next_task = true;
    });
    let mut quick = settings(&double.url, ProxmoxTls::PlainLocalhost);
    quick.task_timeout = Duration::from_millis(50);
    let impatient = Proxmox::new(quick).unwrap();
    let cp = Recorder::default();
    let mut state = VmState::default();
    retryable(
        impatient
            .provision(&spec(), &mut state, &cp)
            .await
            .unwrap_err(),
    );
    let upid = state.task.clone().unwrap();
    unhang(&double, &upid);
    px.provision(&spec(), &mut state, &cp).await.unwrap();
    assert_eq!(double.count("POST", "/clone"), 2);
    assert!(double.vm(100).unwrap().running);
}

#[tokio::test]
async fn proxmox_start_task_failure_is_retryable_with_the_reason() {
    let double = Double::start().await;
    let px = driver(&double);
    double.with(|s| {
        // clone, resize OK; start fails
        s.task_failures.extend([
            "OK".to_string(),
            "OK".to_string(),
            "start failed: QEMU exited with code 1".to_string(),
        ])
    });
    let cp = Recorder::default();
    let mut state = VmState::default();
    let msg = retryable(px.provision(&spec(), &mut state, &cp).await.unwrap_err());
    assert!(
        msg.contains("start failed: QEMU exited with code 1"),
        "{msg}"
    );
    assert!(msg.contains("start of VM 100"), "{msg}");
}

#[tokio::test]
async fn proxmox_task_that_never_ends_times_out_retryable_keeping_the_upid() {
    let double = Double::start().await;
    double.with(|s| s.hang_next_task = true);
    let mut quick = settings(&double.url, ProxmoxTls::PlainLocalhost);
    quick.task_timeout = Duration::from_millis(200);
    let px = Proxmox::new(quick).unwrap();
    let cp = Recorder::default();
    let mut state = VmState::default();
    let started = std::time::Instant::now();
    let msg = retryable(px.provision(&spec(), &mut state, &cp).await.unwrap_err());
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(msg.contains("did not finish within"), "{msg}");
    let upid = state.task.clone().expect("UPID kept");
    assert!(msg.contains(&upid), "{msg}");
    assert_eq!(
        cp.saved().last().unwrap().task.as_deref(),
        Some(upid.as_str())
    );

    // Another attempt keeps waiting for the same task rather than cloning again.
    let msg = retryable(px.provision(&spec(), &mut state, &cp).await.unwrap_err());
    assert!(msg.contains(&upid), "{msg}");
    assert_eq!(double.count("POST", "/clone"), 1);
}

#[tokio::test]
async fn proxmox_bad_token_is_permanent() {
    let double = Double::start().await;
    let mut s = settings(&double.url, ProxmoxTls::PlainLocalhost);
    s.token_secret = "wrong".into();
    let px = Proxmox::new(s).unwrap();
    let cp = Recorder::default();
    let mut state = VmState::default();
    let msg = permanent(px.provision(&spec(), &mut state, &cp).await.unwrap_err());
    assert!(
        msg.contains("authentication failed: check token id/secret and its privileges"),
        "{msg}"
    );
    assert!(!msg.contains("wrong"), "the secret is not shown: {msg}");
    assert_eq!(state.vmid, None);
    assert!(cp.saved().is_empty());
}

#[tokio::test]
async fn proxmox_server_errors_and_unreachable_are_retryable() {
    // Nothing listens on this port any more.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let px = Proxmox::new(settings(
        &format!("http://127.0.0.1:{port}/api2/json"),
        ProxmoxTls::PlainLocalhost,
    ))
    .unwrap();
    let cp = Recorder::default();
    let mut state = VmState::default();
    let msg = retryable(px.provision(&spec(), &mut state, &cp).await.unwrap_err());
    assert!(msg.contains("cannot reach"), "{msg}");
}

#[tokio::test]
async fn proxmox_task_polling_rides_out_passing_server_errors() {
    let double = Double::start().await;
    let px = driver(&double);
    double.with(|s| s.poll_errors = 3);
    let cp = Recorder::default();
    let mut state = VmState::default();
    px.provision(&spec(), &mut state, &cp).await.unwrap();
    assert_eq!(double.count("POST", "/clone"), 1);
    assert!(double.vm(100).unwrap().running);
}

#[tokio::test]
async fn proxmox_api_errors_say_what_proxmox_said() {
    let double = Double::start().await;
    let px = driver(&double);
    let cp = Recorder::default();
    let mut state = VmState::default();

    double.with(|s| {
        s.fail_once = Some((
            "/cluster/nextid".into(),
            500,
            "cluster not ready - no quorum?".into(),
        ))
    });
    let msg = retryable(px.provision(&spec(), &mut state, &cp).await.unwrap_err());
    assert!(
        msg.contains("HTTP 500") && msg.contains("no quorum"),
        "{msg}"
    );
    assert_eq!(state.vmid, None);

    double.with(|s| {
        s.fail_once = Some((
            "/clone".into(),
            403,
            "Permission check failed (/vms/100, VM.Clone)".into(),
        ))
    });
    let msg = permanent(px.provision(&spec(), &mut state, &cp).await.unwrap_err());
    assert!(msg.contains("authentication failed"), "{msg}");
    assert!(msg.contains("VM.Clone"), "{msg}");
    assert_eq!(state.vmid, Some(100), "the VMID was saved before the clone");

    // An unknown task saved by an earlier attempt is forgotten, and the work goes on.
    state.task = Some(format!(
        "UPID:{NODE}:0000FFFF:0000ABCD:65FFFFFF:qmclone:{TEMPLATE}:{TOKEN_ID}:"
    ));
    px.provision(&spec(), &mut state, &cp).await.unwrap();
    assert_eq!(state.task, None);
    assert!(double.vm(100).unwrap().running);
}

#[tokio::test]
async fn proxmox_resize_refuses_shrink_and_reports_pending_reboot() {
    let double = Double::start().await;
    let px = driver(&double);
    let cp = Recorder::default();
    let mut state = VmState::default();
    px.provision(&spec(), &mut state, &cp).await.unwrap();
    let calls_before = double.requests().len();

    let smaller = VmSpec {
        disk_gb: 10,
        ..spec()
    };
    let msg = permanent(
        px.resize(&spec(), &smaller, &mut state, &cp)
            .await
            .unwrap_err(),
    );
    assert!(msg.contains("never shrink"), "{msg}");
    assert_eq!(
        double.requests().len(),
        calls_before,
        "no call before refusing"
    );

    // Running: more CPU/RAM are pending until a reboot; the disk grows at once.
    let bigger = VmSpec {
        cpu_cores: 4,
        ram_mb: 4096,
        disk_gb: 40,
        ..spec()
    };
    let resized = px.resize(&spec(), &bigger, &mut state, &cp).await.unwrap();
    assert!(resized.pending_reboot);
    let vm = double.vm(100).unwrap();
    assert_eq!(vm.disk_gb, 40);
    assert_eq!((vm.cores, vm.pending_cores), (2, Some(4)));
    let last_resize = double
        .requests()
        .into_iter()
        .rfind(|r| r.is("PUT", "/resize"))
        .unwrap();
    assert_eq!(last_resize.form["size"], "40G");

    // The reboot applies them.
    px.power(PowerAction::Reboot, &mut state, &cp)
        .await
        .unwrap();
    let vm = double.vm(100).unwrap();
    assert_eq!((vm.cores, vm.memory, vm.pending_cores), (4, 4096, None));

    // Same CPU/RAM, same disk: nothing pending, no disk resize.
    let resizes = double.count("PUT", "/resize");
    let resized = px.resize(&bigger, &bigger, &mut state, &cp).await.unwrap();
    assert!(!resized.pending_reboot);
    assert_eq!(double.count("PUT", "/resize"), resizes);

    // /pending unreadable: assume pending when running and CPU/RAM changed.
    double.with(|s| s.pending_broken = true);
    let more = VmSpec {
        cpu_cores: 6,
        ..bigger.clone()
    };
    assert!(
        px.resize(&bigger, &more, &mut state, &cp)
            .await
            .unwrap()
            .pending_reboot
    );
}

#[tokio::test]
async fn proxmox_resize_stopped_vm_applies_at_once_and_handles_sync_resize() {
    let double = Double::start().await;
    let px = driver(&double);
    double.insert_vm(130, "pod-42", false);
    double.with(|s| s.resize_sync = true);
    let cp = Recorder::default();
    let mut state = VmState {
        vmid: Some(130),
        node: Some(NODE.into()),
        task: None,
    };
    let old = VmSpec {
        cpu_cores: 1,
        ram_mb: 1024,
        disk_gb: 5,
        ..spec()
    };
    let resized = px.resize(&old, &spec(), &mut state, &cp).await.unwrap();
    assert!(!resized.pending_reboot);
    let vm = double.vm(130).unwrap();
    assert_eq!((vm.cores, vm.memory, vm.disk_gb), (2, 2048, 20));
    assert_eq!(state.task, None);
}

#[tokio::test]
async fn proxmox_power_actions() {
    let double = Double::start().await;
    let px = driver(&double);
    let cp = Recorder::default();
    let mut state = VmState::default();
    px.provision(&spec(), &mut state, &cp).await.unwrap();

    px.power(PowerAction::Stop, &mut state, &cp).await.unwrap();
    assert!(!double.vm(100).unwrap().running);
    // Stopping a stopped VM is fine and calls nothing.
    let stops = double.count("POST", "/status/stop");
    px.power(PowerAction::Stop, &mut state, &cp).await.unwrap();
    px.power(PowerAction::Shutdown, &mut state, &cp)
        .await
        .unwrap();
    assert_eq!(double.count("POST", "/status/stop"), stops);

    px.power(PowerAction::Start, &mut state, &cp).await.unwrap();
    assert!(double.vm(100).unwrap().running);
    px.power(PowerAction::Reboot, &mut state, &cp)
        .await
        .unwrap();
    assert_eq!(double.count("POST", "/status/reboot"), 1);
    assert!(double.vm(100).unwrap().running);
    px.power(PowerAction::Shutdown, &mut state, &cp)
        .await
        .unwrap();
    assert!(!double.vm(100).unwrap().running);
    assert_eq!(state.task, None);

    let status = px.status(&state).await.unwrap().unwrap();
    assert!(!status.running);
    px.power(PowerAction::Start, &mut state, &cp).await.unwrap();
    let status = px.status(&state).await.unwrap().unwrap();
    assert!(status.running);
    assert_eq!(status.mem_used_mb, Some(1024));
    assert_eq!(status.ip_address.as_deref(), Some("203.0.113.100"));

    // Rebooting a stopped VM starts it (which applies pending changes too).
    px.power(PowerAction::Stop, &mut state, &cp).await.unwrap();
    let starts = double.count("POST", "/status/start");
    px.power(PowerAction::Reboot, &mut state, &cp)
        .await
        .unwrap();
    assert!(double.vm(100).unwrap().running);
    assert_eq!(double.count("POST", "/status/start"), starts + 1);
    assert_eq!(double.count("POST", "/status/reboot"), 1);

    // A task ending in error says what Proxmox said.
    double.with(|s| s.task_failures.push_back("VM quit/powerdown failed".into()));
    let msg = retryable(
        px.power(PowerAction::Shutdown, &mut state, &cp)
            .await
            .unwrap_err(),
    );
    assert!(msg.contains("VM quit/powerdown failed"), "{msg}");

    // No VM yet: a clear permanent error.
    let mut none = VmState::default();
    let msg = permanent(
        px.power(PowerAction::Start, &mut none, &cp)
            .await
            .unwrap_err(),
    );
    assert!(msg.contains("no Proxmox VM"), "{msg}");
}

#[tokio::test]
async fn proxmox_delete_is_idempotent() {
    let double = Double::start().await;
    let px = driver(&double);
    let cp = Recorder::default();
    let mut state = VmState::default();
    px.provision(&spec(), &mut state, &cp).await.unwrap();

    px.delete(&mut state, &cp).await.unwrap();
    assert!(double.vm(100).is_none());
    let del = double
        .requests()
        .into_iter()
        .find(|r| r.method == "DELETE")
        .unwrap();
    assert_eq!(
        del.path,
        format!("/nodes/{NODE}/qemu/100?purge=1&destroy-unreferenced-disks=1")
    );
    // It was running: stopped first.
    assert_eq!(double.count("POST", "/status/stop"), 1);

    // Again: the VM is gone, which is success.
    px.delete(&mut state, &cp).await.unwrap();
    assert_eq!(double.count("DELETE", "/qemu/100"), 1);
    // No VM ever: nothing to do.
    px.delete(&mut VmState::default(), &cp).await.unwrap();
    // A status of a deleted VM is a clear error.
    let msg = permanent(px.status(&state).await.unwrap_err());
    assert!(msg.contains("does not exist"), "{msg}");
}

#[tokio::test]
async fn proxmox_fingerprint_pinning_over_https() {
    let double = Double::start_tls().await;
    let fp = double.fingerprint.unwrap();

    let px = Proxmox::new(settings(&double.url, ProxmoxTls::Fingerprint(fp))).unwrap();
    let cp = Recorder::default();
    let mut state = VmState::default();
    px.provision(&spec(), &mut state, &cp).await.unwrap();
    assert!(double.vm(100).unwrap().running);

    let mut wrong = fp;
    wrong[0] ^= 0xff;
    let px = Proxmox::new(settings(&double.url, ProxmoxTls::Fingerprint(wrong))).unwrap();
    let requests = double.requests().len();
    let msg = permanent(px.status(&state).await.unwrap_err());
    assert!(msg.contains(&fingerprint_hex(&wrong)), "{msg}");
    assert!(msg.contains(&fingerprint_hex(&fp)), "{msg}");
    assert_eq!(double.requests().len(), requests, "no request got through");

    // Through its CA file instead.
    let pem = double.ca_pem.clone().unwrap().into_bytes();
    let px = Proxmox::new(settings(&double.url, ProxmoxTls::CaPem(pem))).unwrap();
    assert!(px.status(&state).await.unwrap().unwrap().running);

    // Another CA is not trusted.
    let other = Double::start_tls().await;
    let pem = other.ca_pem.clone().unwrap().into_bytes();
    let px = Proxmox::new(settings(&double.url, ProxmoxTls::CaPem(pem))).unwrap();
    let msg = permanent(px.status(&state).await.unwrap_err());
    assert!(msg.contains("not trusted"), "{msg}");
}

#[tokio::test]
async fn proxmox_from_config_validation() {
    let dir = std::env::temp_dir();
    let base = || {
        let mut c = crate::helpers::test_config(&dir);
        c.provisioner = "proxmox".into();
        c.proxmox_url = Some("https://pve1.example.net:8006/api2/json".into());
        c.proxmox_token_id = Some(TOKEN_ID.into());
        c.proxmox_token_secret = Some(TOKEN_SECRET.into());
        c.proxmox_node = Some(NODE.into());
        c.proxmox_template_vmid = Some(TEMPLATE);
        c.proxmox_storage = Some("local-lvm".into());
        c.proxmox_fingerprint = Some(vec!["AB"; 32].join(":"));
        c
    };
    let err = |c: mpanel::config::Config| format!("{:#}", Proxmox::from_config(&c).unwrap_err());

    let px = Proxmox::from_config(&base()).unwrap();
    assert_eq!(px.settings().disk, "scsi0");
    let mut c = base();
    c.proxmox_disk = "virtio0".into();
    assert_eq!(Proxmox::from_config(&c).unwrap().settings().disk, "virtio0");
    assert_eq!(px.settings().task_timeout, Duration::from_secs(10));
    assert_eq!(px.settings().poll_interval, Duration::from_millis(50));
    assert!(!format!("{px:?}").contains(TOKEN_SECRET));
    // The Driver picks it.
    let driver = mpanel::provision::Driver::from_config(&base()).unwrap();
    assert_eq!(driver.name(), "proxmox");

    let mut c = base();
    c.proxmox_token_secret = None;
    c.proxmox_storage = Some("  ".into());
    let m = err(c);
    assert!(
        m.contains("MPANEL_PROXMOX_TOKEN_SECRET") && m.contains("MPANEL_PROXMOX_STORAGE"),
        "{m}"
    );
    assert!(!m.contains("MPANEL_PROXMOX_NODE"), "{m}");

    let mut c = base();
    c.proxmox_url = Some("http://pve1.example.net:8006/api2/json".into());
    c.proxmox_fingerprint = None;
    assert!(err(c).contains("must be https://"));

    let mut c = base();
    c.proxmox_url = Some("http://127.0.0.1:8006/api2/json".into());
    c.proxmox_fingerprint = None;
    Proxmox::from_config(&c).unwrap();

    let mut c = base();
    c.proxmox_fingerprint = None;
    let m = err(c);
    assert!(
        m.contains("MPANEL_PROXMOX_CA_FILE") && m.contains("MPANEL_PROXMOX_FINGERPRINT"),
        "{m}"
    );

    let mut c = base();
    c.proxmox_ca_file = Some("/etc/pve/pve-root-ca.pem".into());
    assert!(err(c).contains("only one of"));

    let mut c = base();
    c.proxmox_fingerprint = Some("AB:CD".into());
    let m = err(c);
    assert!(
        m.contains("MPANEL_PROXMOX_FINGERPRINT") && m.contains("32 bytes"),
        "{m}"
    );

    let mut c = base();
    c.proxmox_fingerprint = None;
    c.proxmox_ca_file = Some("/nonexistent/ca.pem".into());
    assert!(err(c).contains("/nonexistent/ca.pem"));

    let mut c = base();
    c.proxmox_token_id = Some("mpanel-provisioning".into());
    assert!(err(c).contains("USER@REALM!TOKENID"));

    let mut c = base();
    c.proxmox_url = Some("not a url".into());
    assert!(err(c).contains("not a URL"));
}

// ------------------------------------------------------------ the whole panel on Proxmox

async fn panel_on(double: &Double) -> crate::cloudpods::PodWorld {
    let url = double.url.clone();
    let app = crate::helpers::TestApp::spawn_with(move |c| {
        c.provisioner = "proxmox".into();
        c.proxmox_url = Some(url);
        c.proxmox_token_id = Some(TOKEN_ID.into());
        c.proxmox_token_secret = Some(TOKEN_SECRET.into());
        c.proxmox_node = Some(NODE.into());
        c.proxmox_template_vmid = Some(TEMPLATE);
        c.proxmox_storage = Some("local-lvm".into());
        c.proxmox_poll_ms = 10;
        c.proxmox_task_timeout_secs = 5;
    })
    .await;
    crate::cloudpods::pod_world_with(app).await
}

/// A customer orders a pod, staff record the payment, and the activation provisions it on the
/// hypervisor: the subscription is ACTIVE once the cloned VM runs.
#[tokio::test]
async fn an_ordered_and_paid_pod_is_provisioned_on_proxmox() {
    let double = Double::start().await;
    double.with(|s| s.polls_to_finish = 2);
    let w = panel_on(&double).await;
    w.app
        .create_user(&w.staff, &w.tenant, "owner@acme.test", "OWNER")
        .await;
    let owner = w.app.signed_in("owner@acme.test").await;
    let res = w
        .staff
        .post(
            "/billing/products/0192f000-0000-7000-8000-000000000002/prices",
            &[
                ("currency", "EUR"),
                ("period", "MONTHLY"),
                ("amount", "19.00"),
                ("setup_fee", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = owner
        .post(
            "/billing/subscriptions",
            &[
                ("product", "CLOUDPOD-PRO"),
                ("period", "MONTHLY"),
                ("quantity", "1"),
                ("pod_name", "shop"),
                ("region", ""),
                ("idempotency_key", "proxmox-order-0001-abcdef"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let sub = crate::helpers::location(&res)
        .trim_start_matches("/billing/subscriptions/")
        .to_string();
    assert_eq!(double.count("POST", "/clone"), 0, "nothing before payment");
    let invoice: String = sqlx::query_scalar("SELECT id FROM invoices WHERE subscription_id = $1")
        .bind(&sub)
        .fetch_one(&w.app.state.db.pool)
        .await
        .unwrap();
    let res = w
        .staff
        .post(
            &format!("/billing/invoices/{invoice}/pay"),
            &[
                ("amount", "19.00"),
                ("method", "Bank transfer"),
                ("paid_on", ""),
                ("status", "SUCCESS"),
                ("idempotency_key", "proxmox-pay-0001"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let app = &w.app;
    crate::helpers::wait_until("the subscription is active", 20, || async {
        let status: String = sqlx::query_scalar("SELECT status FROM subscriptions WHERE id = $1")
            .bind(&sub)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
        (status == "ACTIVE").then_some(())
    })
    .await;
    let (vmid, status): (Option<i64>, String) =
        sqlx::query_as("SELECT vmid, status FROM cloudpods WHERE subscription_id = $1")
            .bind(&sub)
            .fetch_one(&w.app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(status, "ACTIVE");
    let vm = double.vm(vmid.expect("the VMID is saved")).expect("cloned");
    assert_eq!(
        (vm.name.as_str(), vm.cores, vm.memory, vm.running),
        ("shop", 2, 2048, true)
    );
    let page = owner
        .get(&format!("/billing/subscriptions/{sub}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("shop"), "{page}");
}

/// Create → clone/config/resize/start on the hypervisor → ACTIVE with its VMID; resize while
/// running is pending until the reboot; suspend/resume stop and start the VM; delete purges it.
#[tokio::test]
async fn proxmox_pods_end_to_end_through_the_panel() {
    let double = Double::start().await;
    double.with(|s| s.polls_to_finish = 2);
    let w = panel_on(&double).await;
    let id = crate::cloudpods::create_pod(&w, "web-01", "MINI").await;
    assert_eq!(crate::cloudpods::settled(&w.app, &id).await, "ACTIVE");
    let (vmid, node): (Option<i64>, Option<String>) =
        sqlx::query_as("SELECT vmid, node FROM cloudpods WHERE id = $1")
            .bind(&id)
            .fetch_one(&w.app.state.db.pool)
            .await
            .unwrap();
    let vmid = vmid.expect("the VMID is saved");
    assert_eq!(node.as_deref(), Some(NODE));
    let vm = double.vm(vmid).expect("cloned");
    assert_eq!(
        (
            vm.name.as_str(),
            vm.cores,
            vm.memory,
            vm.disk_gb,
            vm.running
        ),
        ("web-01", 1, 1024, 20, true)
    );
    assert_eq!(double.count("POST", "/clone"), 1);
    let page = w
        .staff
        .get(&format!("/cloudpods/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!("VMID {vmid} on {NODE}")), "{page}");
    assert!(!page.contains("No hypervisor is connected"));

    let res = w
        .staff
        .post(&format!("/cloudpods/{id}/resize"), &[("plan_code", "PRO")])
        .await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "the settled pod takes the next action"
    );
    crate::cloudpods::settled(&w.app, &id).await;
    let (_, _, plan, pending, _) = crate::cloudpods::pod_row(&w.app, &id).await;
    assert_eq!((plan.as_str(), pending), ("PRO", 1));
    let vm = double.vm(vmid).unwrap();
    assert_eq!(
        (vm.pending_cores, vm.pending_memory, vm.disk_gb),
        (Some(2), Some(2048), 50)
    );

    let res = w
        .staff
        .post(
            &format!("/cloudpods/{id}/power"),
            &[("action", "reboot"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "the settled pod takes the next action"
    );
    crate::cloudpods::settled(&w.app, &id).await;
    assert_eq!(crate::cloudpods::pod_row(&w.app, &id).await.3, 0);
    let vm = double.vm(vmid).unwrap();
    assert_eq!((vm.cores, vm.memory, vm.pending_cores), (2, 2048, None));

    let res = w
        .staff
        .post(&format!("/cloudpods/{id}/suspend"), &[("confirm", "yes")])
        .await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "the settled pod takes the next action"
    );
    assert_eq!(crate::cloudpods::settled(&w.app, &id).await, "SUSPENDED");
    assert!(!double.vm(vmid).unwrap().running);
    let res = w.staff.post(&format!("/cloudpods/{id}/resume"), &[]).await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "the settled pod takes the next action"
    );
    assert_eq!(crate::cloudpods::settled(&w.app, &id).await, "ACTIVE");
    assert!(double.vm(vmid).unwrap().running);

    let res = w
        .staff
        .post(
            &format!("/cloudpods/{id}/delete"),
            &[("confirm_name", "web-01")],
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "the settled pod takes the next action"
    );
    assert_eq!(crate::cloudpods::settled(&w.app, &id).await, "DELETED");
    assert!(double.vm(vmid).is_none(), "purged");
    assert!(
        double
            .requests()
            .iter()
            .any(|r| r.method == "DELETE" && r.path.contains("purge=1"))
    );
}

/// A rejected token fails the pod at once with Proxmox's reason, and a retry after the
/// operator fixes it provisions the same pod.
#[tokio::test]
async fn proxmox_failure_is_shown_on_the_pod_and_retry_recovers() {
    let double = Double::start().await;
    double.with(|s| {
        s.task_failures
            .push_back("clone failed: storage 'local-lvm' is full".into())
    });
    let w = panel_on(&double).await;
    let id = crate::cloudpods::create_pod(&w, "web-01", "MINI").await;
    // The failed clone task is retryable: the job backs off; the pod shows the error meanwhile.
    crate::helpers::wait_until("the attempt's error on the pod", 20, || async {
        let e: String = sqlx::query_scalar("SELECT last_error FROM cloudpods WHERE id = $1")
            .bind(&id)
            .fetch_one(&w.app.state.db.pool)
            .await
            .unwrap();
        e.contains("storage 'local-lvm' is full").then_some(())
    })
    .await;
    let page = w
        .staff
        .get(&format!("/cloudpods/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Attempt 1 of 8 failed, retrying"), "{page}");
    assert!(
        page.contains("hx-trigger=\"every 1s\""),
        "still polling while the job retries"
    );
    // Run the retry now rather than after the backoff.
    sqlx::query("UPDATE jobs SET run_at = 0 WHERE subject = $1 AND state = 'retryable'")
        .bind(format!("cloudpod:{id}"))
        .execute(&w.app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(crate::cloudpods::settled(&w.app, &id).await, "ACTIVE");
    assert_eq!(
        double.count("POST", "/clone"),
        2,
        "the failed clone is cloned again, once"
    );
}
