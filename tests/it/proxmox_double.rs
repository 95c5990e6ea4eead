//! An in-process imitation of the Proxmox VE API endpoints the driver calls: VMs and tasks
//! in memory, tasks that finish after a set number of polls, injectable failures, and a log
//! of every request. Served over plain HTTP on 127.0.0.1 or over TLS with a self-signed
//! certificate (for fingerprint pinning).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub const NODE: &str = "pve1";
pub const TEMPLATE: i64 = 9000;
pub const TOKEN_ID: &str = "mpanel@pve!prov";
pub const TOKEN_SECRET: &str = "5f0c2a4e-1111-2222-3333-444455556666";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vm {
    pub name: String,
    pub running: bool,
    pub cores: i64,
    pub memory: i64,
    pub disk_gb: i64,
    /// Config changes waiting for a reboot (set while running).
    pub pending_cores: Option<i64>,
    pub pending_memory: Option<i64>,
    pub agent_ip: Option<String>,
}

impl Vm {
    fn apply_pending(&mut self) {
        if let Some(c) = self.pending_cores.take() {
            self.cores = c;
        }
        if let Some(m) = self.pending_memory.take() {
            self.memory = m;
        }
    }
}

#[derive(Clone, Debug)]
enum Effect {
    Clone {
        vmid: i64,
        name: String,
    },
    Start(i64),
    Stop(i64),
    Reboot(i64),
    Resize {
        vmid: i64,
        gb: i64,
    },
    Destroy(i64),
    Backup {
        vmid: i64,
        storage: String,
        starttime: i64,
    },
}

/// A backup on a storage (`GET …/content?content=backup`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Volume {
    pub storage: String,
    pub volid: String,
    pub vmid: i64,
    pub size: i64,
    pub ctime: i64,
}

/// What `GET /nodes/{node}/status` answers.
#[derive(Clone, Debug)]
pub struct NodeStatus {
    pub cpu: f64,
    pub mem_used: i64,
    pub mem_total: i64,
    pub rootfs_used: i64,
    pub rootfs_total: i64,
    pub loadavg: [&'static str; 3],
}

#[derive(Clone, Debug)]
struct Task {
    polls_left: u32,
    /// `OK` or the error text it ends with.
    exitstatus: String,
    never_ends: bool,
    effect: Option<Effect>,
    done: bool,
}

/// One request as received.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// Path below /api2/json, with the query (e.g. `/nodes/pve1/qemu/100?purge=1…`).
    pub path: String,
    pub form: BTreeMap<String, String>,
}

impl Request {
    pub fn is(&self, method: &str, path_suffix: &str) -> bool {
        self.method == method
            && self
                .path
                .split('?')
                .next()
                .unwrap_or("")
                .ends_with(path_suffix)
    }
}

#[derive(Debug)]
pub struct DoubleState {
    pub vms: BTreeMap<i64, Vm>,
    tasks: BTreeMap<String, Task>,
    pub requests: Vec<Request>,
    pub next_id: i64,
    /// Polls of `tasks/{upid}/status` that answer "running" before a task stops.
    pub polls_to_finish: u32,
    /// Exit statuses for the next tasks started (front first); `OK` once empty.
    pub task_failures: VecDeque<String>,
    /// The next task started never ends.
    pub hang_next_task: bool,
    /// Clone answers "unable to create VM N: config file already exists" (creating the VM
    /// first when it does not exist, as if an earlier clone had got through).
    pub clone_conflict: bool,
    /// `/pending` answers 500.
    pub pending_broken: bool,
    /// Resize answers null (synchronous) instead of a UPID.
    pub resize_sync: bool,
    /// The next N task polls answer 503.
    pub poll_errors: u32,
    /// The next request whose path (query excluded) ends with `.0` answers status `.1` with
    /// the reason `.2`.
    pub fail_once: Option<(String, u16, String)>,
    upid_seq: u64,
    /// Backups on the storages, in the order written.
    pub volumes: Vec<Volume>,
    /// Size of the next backups written (front first); 1,048,576 × n for the nth once empty.
    pub backup_sizes: VecDeque<i64>,
    /// Node status answers by node name.
    pub node_status: BTreeMap<String, NodeStatus>,
}

#[derive(Clone)]
pub struct Double {
    /// API base, `http(s)://127.0.0.1:PORT/api2/json`.
    pub url: String,
    pub state: Arc<Mutex<DoubleState>>,
    /// SHA-256 of the TLS certificate (TLS doubles only).
    pub fingerprint: Option<[u8; 32]>,
    /// The CA that signed the certificate, in PEM (TLS doubles only).
    pub ca_pem: Option<String>,
}

fn new_state() -> DoubleState {
    let mut vms = BTreeMap::new();
    vms.insert(
        TEMPLATE,
        Vm {
            name: "debian-template".into(),
            running: false,
            cores: 1,
            memory: 1024,
            disk_gb: 5,
            pending_cores: None,
            pending_memory: None,
            agent_ip: None,
        },
    );
    DoubleState {
        vms,
        tasks: BTreeMap::new(),
        requests: Vec::new(),
        next_id: 100,
        polls_to_finish: 2,
        task_failures: VecDeque::new(),
        hang_next_task: false,
        clone_conflict: false,
        pending_broken: false,
        resize_sync: false,
        poll_errors: 0,
        fail_once: None,
        upid_seq: 0,
        volumes: Vec::new(),
        backup_sizes: VecDeque::new(),
        node_status: BTreeMap::new(),
    }
}

impl Double {
    /// A double over plain HTTP on 127.0.0.1.
    pub async fn start() -> Double {
        let state = Arc::new(Mutex::new(new_state()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = router(state.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Double {
            url: format!("http://{addr}/api2/json"),
            state,
            fingerprint: None,
            ca_pem: None,
        }
    }

    /// A double over HTTPS whose certificate (for localhost and 127.0.0.1) is signed by a
    /// fresh CA, like Proxmox's pve-ssl.pem by its pve-root-ca.pem.
    pub async fn start_tls() -> Double {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
        use sha2::Digest;
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Proxmox Virtual Environment CA (test)");
        let ca_key = KeyPair::generate().unwrap();
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap()
            .signed_by(&leaf_key, &ca, &ca_key)
            .unwrap();
        let cert_der = leaf.der().clone();
        let key_der = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
        let fingerprint: [u8; 32] = sha2::Sha256::digest(cert_der.as_ref()).into();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert_der, ca.der().clone()], key_der)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        let state = Arc::new(Mutex::new(new_state()));
        let app = router(state.clone());
        tokio::spawn(async move {
            axum::serve(TlsListener { tcp, acceptor }, app)
                .await
                .unwrap();
        });
        Double {
            url: format!("https://127.0.0.1:{}/api2/json", addr.port()),
            state,
            fingerprint: Some(fingerprint),
            ca_pem: Some(ca.pem()),
        }
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut DoubleState) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }

    pub fn requests(&self) -> Vec<Request> {
        self.with(|s| s.requests.clone())
    }

    /// How many requests match `method` and end with `path_suffix` (query ignored).
    pub fn count(&self, method: &str, path_suffix: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| r.is(method, path_suffix))
            .count()
    }

    /// The requests other than task polls, as `METHOD path`.
    pub fn calls(&self) -> Vec<String> {
        self.requests()
            .iter()
            .filter(|r| !r.path.contains("/tasks/"))
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }

    pub fn vm(&self, vmid: i64) -> Option<Vm> {
        self.with(|s| s.vms.get(&vmid).cloned())
    }

    /// Puts a VM in place (as if created earlier).
    pub fn insert_vm(&self, vmid: i64, name: &str, running: bool) {
        self.with(|s| {
            s.vms.insert(
                vmid,
                Vm {
                    name: name.into(),
                    running,
                    cores: 1,
                    memory: 1024,
                    disk_gb: 5,
                    pending_cores: None,
                    pending_memory: None,
                    agent_ip: None,
                },
            )
        });
    }
}

struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else {
                continue;
            };
            // Handshakes that fail (a client refusing the certificate) are skipped.
            if let Ok(tls) = self.acceptor.accept(stream).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

fn router(state: Arc<Mutex<DoubleState>>) -> Router {
    Router::new().fallback(handle).with_state(state)
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_form(body: &str) -> BTreeMap<String, String> {
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// A Proxmox error answer: the text in the reason phrase (as PVE does), `{"data":null}`.
fn pve_error(status: StatusCode, message: &str) -> Response {
    let mut resp = (status, axum::Json(json!({ "data": null }))).into_response();
    if let Ok(reason) = hyper::ext::ReasonPhrase::try_from(message.as_bytes().to_vec()) {
        resp.extensions_mut().insert(reason);
    }
    resp
}

fn ok(data: Value) -> Response {
    axum::Json(json!({ "data": data })).into_response()
}

fn no_vm(vmid: i64) -> Response {
    pve_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        &format!("Configuration file 'nodes/{NODE}/qemu-server/{vmid}.conf' does not exist"),
    )
}

impl DoubleState {
    /// Lets a task that was started hanging end (with its exit status) on its next poll.
    pub fn unhang(&mut self, upid: &str) {
        if let Some(t) = self.tasks.get_mut(upid) {
            t.never_ends = false;
            t.polls_left = 0;
        }
    }

    /// The UPID's start time of the next task started.
    fn next_starttime(&self) -> i64 {
        0x6500_0000 + self.upid_seq as i64 + 1
    }

    fn start_task(&mut self, kind: &str, id: i64, effect: Option<Effect>) -> Value {
        self.upid_seq += 1;
        let upid = format!(
            "UPID:{NODE}:{:08X}:0000ABCD:{:08X}:{kind}:{id}:{TOKEN_ID}:",
            1000 + self.upid_seq,
            0x6500_0000 + self.upid_seq
        );
        let exitstatus = self
            .task_failures
            .pop_front()
            .unwrap_or_else(|| "OK".into());
        let never_ends = std::mem::take(&mut self.hang_next_task);
        self.tasks.insert(
            upid.clone(),
            Task {
                polls_left: self.polls_to_finish,
                exitstatus,
                never_ends,
                effect,
                done: false,
            },
        );
        json!(upid)
    }

    fn finish(&mut self, upid: &str) {
        let Some(task) = self.tasks.get_mut(upid) else {
            return;
        };
        task.done = true;
        if task.exitstatus != "OK" {
            return;
        }
        let Some(effect) = task.effect.clone() else {
            return;
        };
        match effect {
            Effect::Clone { vmid, name } => {
                let template = self.vms.get(&TEMPLATE).cloned().unwrap();
                self.vms.insert(
                    vmid,
                    Vm {
                        name,
                        running: false,
                        agent_ip: Some(format!("203.0.113.{}", vmid % 250)),
                        ..template
                    },
                );
            }
            Effect::Start(vmid) => {
                if let Some(vm) = self.vms.get_mut(&vmid) {
                    vm.running = true;
                    vm.apply_pending();
                }
            }
            Effect::Stop(vmid) => {
                if let Some(vm) = self.vms.get_mut(&vmid) {
                    vm.running = false;
                }
            }
            Effect::Reboot(vmid) => {
                if let Some(vm) = self.vms.get_mut(&vmid) {
                    vm.apply_pending();
                }
            }
            Effect::Resize { vmid, gb } => {
                if let Some(vm) = self.vms.get_mut(&vmid) {
                    vm.disk_gb = gb;
                }
            }
            Effect::Destroy(vmid) => {
                self.vms.remove(&vmid);
            }
            Effect::Backup {
                vmid,
                storage,
                starttime,
            } => {
                let n = self.volumes.len() as i64 + 1;
                let size = self.backup_sizes.pop_front().unwrap_or(1_048_576 * n);
                self.volumes.push(Volume {
                    volid: format!("{storage}:backup/vzdump-qemu-{vmid}-{n:04}.vma.zst"),
                    storage,
                    vmid,
                    size,
                    ctime: starttime + 1,
                });
            }
        }
    }

    fn task_status(&mut self, upid: &str) -> Response {
        let Some(task) = self.tasks.get_mut(upid) else {
            return pve_error(StatusCode::INTERNAL_SERVER_ERROR, "no such task");
        };
        if task.done {
            return ok(json!({"status": "stopped", "exitstatus": task.exitstatus, "upid": upid}));
        }
        if task.never_ends {
            return ok(json!({"status": "running", "upid": upid}));
        }
        if task.polls_left > 0 {
            task.polls_left -= 1;
            return ok(json!({"status": "running", "upid": upid}));
        }
        let exitstatus = task.exitstatus.clone();
        self.finish(upid);
        ok(json!({"status": "stopped", "exitstatus": exitstatus, "upid": upid}))
    }

    fn qemu(
        &mut self,
        method: &Method,
        vmid: i64,
        rest: &[&str],
        form: &BTreeMap<String, String>,
    ) -> Response {
        let exists = self.vms.contains_key(&vmid);
        match (method.as_str(), rest) {
            ("POST", ["clone"]) => {
                let newid: i64 = form.get("newid").and_then(|v| v.parse().ok()).unwrap_or(0);
                let name = form.get("name").cloned().unwrap_or_default();
                if !exists {
                    return no_vm(vmid);
                }
                if self.clone_conflict && !self.vms.contains_key(&newid) {
                    self.vms.insert(
                        newid,
                        Vm {
                            name: name.clone(),
                            ..self.vms[&TEMPLATE].clone()
                        },
                    );
                }
                if self.vms.contains_key(&newid) {
                    return pve_error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        &format!("unable to create VM {newid}: config file already exists"),
                    );
                }
                ok(self.start_task("qmclone", vmid, Some(Effect::Clone { vmid: newid, name })))
            }
            ("PUT", ["config"]) => {
                let Some(vm) = self.vms.get_mut(&vmid) else {
                    return no_vm(vmid);
                };
                let cores = form.get("cores").and_then(|v| v.parse().ok());
                let memory = form.get("memory").and_then(|v| v.parse().ok());
                if vm.running {
                    vm.pending_cores = cores.filter(|c| *c != vm.cores);
                    vm.pending_memory = memory.filter(|m| *m != vm.memory);
                } else {
                    vm.cores = cores.unwrap_or(vm.cores);
                    vm.memory = memory.unwrap_or(vm.memory);
                }
                ok(Value::Null)
            }
            ("PUT", ["resize"]) => {
                let Some(vm) = self.vms.get(&vmid) else {
                    return no_vm(vmid);
                };
                let size = form.get("size").cloned().unwrap_or_default();
                let gb: i64 = if let Some(plus) = size.strip_prefix('+') {
                    vm.disk_gb + plus.trim_end_matches('G').parse::<i64>().unwrap_or(0)
                } else {
                    size.trim_end_matches('G').parse().unwrap_or(0)
                };
                if gb < vm.disk_gb {
                    return pve_error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "shrinking disks is not supported",
                    );
                }
                if self.resize_sync {
                    self.vms.get_mut(&vmid).unwrap().disk_gb = gb;
                    return ok(Value::Null);
                }
                ok(self.start_task("resize", vmid, Some(Effect::Resize { vmid, gb })))
            }
            ("GET", ["status", "current"]) => {
                let Some(vm) = self.vms.get(&vmid) else {
                    return no_vm(vmid);
                };
                ok(json!({
                    "vmid": vmid,
                    "name": vm.name,
                    "status": if vm.running { "running" } else { "stopped" },
                    "mem": if vm.running { vm.memory * 1024 * 1024 / 2 } else { 0 },
                    "maxmem": vm.memory * 1024 * 1024,
                    "disk": 0,
                    "maxdisk": vm.disk_gb * 1024 * 1024 * 1024,
                    "cpus": vm.cores,
                }))
            }
            ("POST", ["status", action]) => {
                let Some(vm) = self.vms.get(&vmid) else {
                    return no_vm(vmid);
                };
                let running = vm.running;
                let (kind, effect) = match *action {
                    "start" if running => {
                        return pve_error(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            &format!("VM {vmid} already running"),
                        );
                    }
                    "start" => ("qmstart", Effect::Start(vmid)),
                    "stop" => ("qmstop", Effect::Stop(vmid)),
                    "shutdown" | "reboot" if !running => {
                        return pve_error(
                            StatusCode::INTERNAL_SERVER_ERROR,
                            &format!("VM {vmid} not running"),
                        );
                    }
                    "shutdown" => ("qmshutdown", Effect::Stop(vmid)),
                    "reboot" => ("qmreboot", Effect::Reboot(vmid)),
                    _ => return pve_error(StatusCode::NOT_IMPLEMENTED, "Method not implemented"),
                };
                ok(self.start_task(kind, vmid, Some(effect)))
            }
            ("GET", ["pending"]) => {
                if self.pending_broken {
                    return pve_error(StatusCode::INTERNAL_SERVER_ERROR, "pending is broken");
                }
                let Some(vm) = self.vms.get(&vmid) else {
                    return no_vm(vmid);
                };
                let mut cores = json!({"key": "cores", "value": vm.cores});
                if let Some(p) = vm.pending_cores {
                    cores["pending"] = json!(p);
                }
                let mut memory = json!({"key": "memory", "value": vm.memory.to_string()});
                if let Some(p) = vm.pending_memory {
                    memory["pending"] = json!(p.to_string());
                }
                ok(json!([cores, memory, {"key": "name", "value": vm.name}]))
            }
            ("GET", ["agent", "network-get-interfaces"]) => match self.vms.get(&vmid) {
                Some(Vm {
                    running: true,
                    agent_ip: Some(ip),
                    ..
                }) => ok(json!({"result": [
                    {"name": "lo", "ip-addresses": [{"ip-address": "127.0.0.1", "ip-address-type": "ipv4", "prefix": 8}]},
                    {"name": "eth0", "ip-addresses": [{"ip-address": ip, "ip-address-type": "ipv4", "prefix": 24}]}
                ]})),
                Some(_) => pve_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "QEMU guest agent is not running",
                ),
                None => no_vm(vmid),
            },
            ("DELETE", []) => {
                let Some(vm) = self.vms.get(&vmid) else {
                    return no_vm(vmid);
                };
                if vm.running {
                    return pve_error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        &format!("VM {vmid} is running - destroy failed"),
                    );
                }
                ok(self.start_task("qmdestroy", vmid, Some(Effect::Destroy(vmid))))
            }
            _ => pve_error(StatusCode::NOT_IMPLEMENTED, "Method not implemented"),
        }
    }
}

async fn handle(
    State(state): State<Arc<Mutex<DoubleState>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path_and_query = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let Some(rel) = path_and_query.strip_prefix("/api2/json") else {
        return pve_error(StatusCode::NOT_FOUND, "Not Found");
    };
    let form = parse_form(&String::from_utf8_lossy(&body));
    let mut s = state.lock().unwrap();
    s.requests.push(Request {
        method: method.to_string(),
        path: rel.to_string(),
        form: form.clone(),
    });
    let expected = format!("PVEAPIToken={TOKEN_ID}={TOKEN_SECRET}");
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return pve_error(StatusCode::UNAUTHORIZED, "authentication failure");
    }
    let path = rel.split('?').next().unwrap_or("");
    if let Some((suffix, code, reason)) = s.fail_once.clone()
        && path.ends_with(&suffix)
    {
        s.fail_once = None;
        return pve_error(StatusCode::from_u16(code).unwrap(), &reason);
    }
    if path.contains("/tasks/") && s.poll_errors > 0 {
        s.poll_errors -= 1;
        return pve_error(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable");
    }
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("GET", ["cluster", "nextid"]) => {
            let mut id = s.next_id;
            while s.vms.contains_key(&id) {
                id += 1;
            }
            s.next_id = id + 1;
            ok(json!(id.to_string()))
        }
        ("GET", ["nodes", node, "tasks", upid, "status"]) if *node == NODE => {
            let upid = decode(upid);
            s.task_status(&upid)
        }
        ("POST", ["nodes", node, "vzdump"]) if *node == NODE => {
            let vmid: i64 = form.get("vmid").and_then(|v| v.parse().ok()).unwrap_or(0);
            let Some(storage) = form.get("storage").cloned() else {
                return pve_error(StatusCode::BAD_REQUEST, "Parameter verification failed.");
            };
            if !s.vms.contains_key(&vmid) {
                return no_vm(vmid);
            }
            let starttime = s.next_starttime();
            let effect = Effect::Backup {
                vmid,
                storage,
                starttime,
            };
            ok(s.start_task("vzdump", vmid, Some(effect)))
        }
        ("GET", ["nodes", node, "storage", storage, "content"]) if *node == NODE => {
            let query = rel
                .split_once('?')
                .map(|(_, q)| parse_form(q))
                .unwrap_or_default();
            let vmid: Option<i64> = query.get("vmid").and_then(|v| v.parse().ok());
            let list: Vec<Value> = s
                .volumes
                .iter()
                .filter(|v| v.storage == *storage && vmid.is_none_or(|id| id == v.vmid))
                .map(|v| {
                    json!({"volid": v.volid, "size": v.size, "ctime": v.ctime, "vmid": v.vmid,
                           "content": "backup", "format": "vma.zst"})
                })
                .collect();
            ok(json!(list))
        }
        ("DELETE", ["nodes", node, "storage", storage, "content", volume]) if *node == NODE => {
            let volid = decode(volume);
            let before = s.volumes.len();
            s.volumes
                .retain(|v| !(v.storage == *storage && v.volid == volid));
            if s.volumes.len() == before {
                return pve_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &format!("volume '{volid}' does not exist"),
                );
            }
            ok(s.start_task("imgdel", 0, None))
        }
        ("GET", ["nodes", node, "status"]) => match s.node_status.get(*node) {
            Some(n) => ok(json!({
                "cpu": n.cpu,
                "loadavg": n.loadavg,
                "memory": {"used": n.mem_used, "total": n.mem_total, "free": n.mem_total - n.mem_used},
                "rootfs": {"used": n.rootfs_used, "total": n.rootfs_total, "avail": n.rootfs_total - n.rootfs_used},
                "uptime": 86400,
            })),
            None => pve_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("hostname lookup '{node}' failed"),
            ),
        },
        (_, ["nodes", node, "qemu", vmid, rest @ ..]) if *node == NODE => {
            let Ok(vmid) = vmid.parse::<i64>() else {
                return pve_error(StatusCode::BAD_REQUEST, "Parameter verification failed.");
            };
            s.qemu(&method, vmid, rest, &form)
        }
        _ => pve_error(StatusCode::NOT_IMPLEMENTED, "Method not implemented"),
    }
}
