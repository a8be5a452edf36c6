//! A small stateful fake of the Google Cloud APIs liftoff calls, on
//! 127.0.0.1 (plain HTTP), in their real wire shapes: an OAuth token
//! endpoint (for an `authorized_user` ADC file), Compute Engine (networks,
//! subnetworks, firewalls, routers with Cloud NAT, addresses; strings for
//! enums, uint64 ids as decimal strings, operations), Service Networking
//! (connections, operations), GKE and Cloud SQL (enums as integers,
//! operations polled with `get`; GKE version upgrades of the control plane
//! one minor at a time and of node pools, the versions GKE offers per
//! release channel in `serverConfig`; Cloud SQL on-demand backup runs).
//! Operations stay RUNNING for a configured number of polls. Request bodies are checked as the real API would
//! (required fields, enum encodings, CIDRs, references), and every call is
//! recorded so tests can assert order.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use serde_json::{Value, json};

#[derive(Default)]
struct State {
    /// Resources by their path (`projects/p/global/networks/n`, …).
    objects: BTreeMap<String, Value>,
    /// Operations: the API's own shape, polls left before DONE, and what
    /// happens when DONE (a resource made ready, or removed).
    operations: BTreeMap<String, Op>,
    calls: Vec<String>,
    next_id: u64,
    /// Polls an operation stays RUNNING.
    pending_polls: u32,
    /// Where clusters say their endpoint is, and their CA (base64 PEM).
    endpoint: String,
    ca_base64: String,
    /// The access token the token endpoint hands out (and every call needs).
    token: String,
    /// `METHOD path-prefix` → a failed operation message, once.
    fail_operation: BTreeMap<String, String>,
    /// The Kubernetes minor versions GKE offers, by release channel (its
    /// integer; 0: control plane versions without a channel).
    offered: BTreeMap<i64, Vec<u32>>,
    /// Backup runs still RUNNING: their operation, and polls of the run
    /// left after the operation is done.
    backups: BTreeMap<String, (String, u32)>,
    /// Backup runs stay RUNNING while this holds.
    hold_backups: bool,
}

struct Op {
    body: Value,
    polls_left: u32,
    api: Api,
    /// On DONE: resources to set fields on, or to remove.
    done_set: Vec<(String, Value)>,
    done_remove: Vec<String>,
    error: Option<String>,
    /// An update (of something that exists before and after): a failure
    /// sets these fields instead of removing what `done_set` names.
    failed_set: Option<Vec<(String, Value)>>,
}

#[derive(Clone, Copy, PartialEq)]
enum Api {
    Compute,
    Gke,
    Sql,
    ServiceNetworking,
}

pub struct GcpFake {
    pub url: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for GcpFake {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn error(code: u16, message: &str, reason: &str) -> (u16, Value) {
    let status = match code {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        404 => "NOT_FOUND",
        409 => "ALREADY_EXISTS",
        _ => "FAILED_PRECONDITION",
    };
    (
        code,
        json!({"error": {"code": code, "message": message, "status": status, "errors": [{"message": message, "domain": "global", "reason": reason}]}}),
    )
}

fn bad(message: &str) -> (u16, Value) {
    error(400, message, "invalid")
}

fn is_cidr(text: &str) -> bool {
    text.parse::<ipnet::Ipv4Net>().is_ok_and(|n| n.trunc() == n)
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// The name at the end of a self link or path.
fn last(link: &str) -> &str {
    link.rsplit('/').next().unwrap_or(link)
}

impl GcpFake {
    /// Starts on a free loopback port; operations stay RUNNING for
    /// `pending_polls` polls.
    pub async fn start(pending_polls: u32) -> GcpFake {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            pending_polls,
            token: "fake-access-token".into(),
            endpoint: "203.0.113.10".into(),
            next_id: 1000,
            offered: (0..=3).map(|c| (c, (31..=35).collect())).collect(),
            ..State::default()
        }));
        let st = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let st = st.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let st = st.clone();
                        async move { Ok::<_, Infallible>(handle(&st, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        GcpFake { url, state, task }
    }

    /// An `authorized_user` ADC file whose token endpoint is this fake.
    pub fn credentials_file(&self, dir: &std::path::Path) -> std::path::PathBuf {
        let path = dir.join("adc.json");
        let doc = json!({"type": "authorized_user", "client_id": "liftoff-test", "client_secret": "secret", "refresh_token": "refresh", "token_uri": format!("{}/token", self.url)});
        std::fs::write(&path, doc.to_string()).unwrap();
        path
    }

    /// Clusters answer at `endpoint` (host:port or URL) with this CA (PEM),
    /// and the token endpoint hands out `token`.
    pub fn serve_clusters_at(&self, endpoint: &str, ca_pem: &str, token: &str) {
        use base64::Engine as _;
        let mut s = self.state.lock().unwrap();
        s.endpoint = endpoint.into();
        s.ca_base64 = base64::engine::general_purpose::STANDARD.encode(ca_pem);
        s.token = token.into();
    }

    /// The next operation whose call starts with `call` (`POST /v1/projects/p/instances`) ends with `message`.
    pub fn fail_next_operation(&self, call: &str, message: &str) {
        self.state
            .lock()
            .unwrap()
            .fail_operation
            .insert(call.into(), message.into());
    }

    /// GKE offers these minor versions (1.N) in release channel `channel`
    /// (1 RAPID, 2 REGULAR, 3 STABLE; 0: without a channel).
    pub fn offer_versions(&self, channel: i64, minors: &[u32]) {
        self.state
            .lock()
            .unwrap()
            .offered
            .insert(channel, minors.to_vec());
    }

    /// While `on`, backup runs stay RUNNING (however often they are read).
    pub fn hold_backups(&self, on: bool) {
        self.state.lock().unwrap().hold_backups = on;
    }

    /// Every call so far: `METHOD path` (no query).
    pub fn calls(&self) -> Vec<String> {
        self.state.lock().unwrap().calls.clone()
    }

    /// The mutating calls so far.
    pub fn writes(&self) -> Vec<String> {
        self.calls()
            .into_iter()
            .filter(|c| !c.starts_with("GET ") && c != "POST /token")
            .collect()
    }

    pub fn get(&self, path: &str) -> Option<Value> {
        self.state.lock().unwrap().objects.get(path).cloned()
    }

    /// Puts a resource in place (test setup: what exists already).
    pub fn put(&self, path: &str, v: Value) {
        self.state.lock().unwrap().objects.insert(path.into(), v);
    }

    pub fn remove(&self, path: &str) {
        self.state.lock().unwrap().objects.remove(path);
    }

    /// The paths of every resource.
    pub fn paths(&self) -> Vec<String> {
        self.state.lock().unwrap().objects.keys().cloned().collect()
    }
}

async fn handle(st: &Arc<Mutex<State>>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let bytes = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let (code, out) = {
        let mut s = st.lock().unwrap();
        s.calls.push(format!("{method} {path}"));
        if path == "/token" {
            (
                200,
                json!({"access_token": s.token, "expires_in": 3600, "token_type": "Bearer"}),
            )
        } else if auth != format!("Bearer {}", s.token) {
            error(
                401,
                "Request had invalid authentication credentials.",
                "authError",
            )
        } else {
            route(&mut s, &method, &path, &query, &body)
        }
    };
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(out.to_string())))
        .unwrap()
}

fn route(s: &mut State, method: &str, path: &str, query: &str, body: &Value) -> (u16, Value) {
    if let Some(rest) = path.strip_prefix("/compute/v1/") {
        return compute(s, method, rest, body);
    }
    if let Some(rest) = path.strip_prefix("/dns/v1/") {
        return dns(s, method, rest, body);
    }
    if let Some(rest) = path.strip_prefix("/v1/services/servicenetworking.googleapis.com/") {
        return service_networking(s, method, rest, query, body);
    }
    if let Some(rest) = path.strip_prefix("/v1/operations/") {
        return poll(s, &format!("operations/{rest}"));
    }
    let Some(rest) = path.strip_prefix("/v1/") else {
        return error(404, &format!("no such API: {path}"), "notFound");
    };
    if rest.contains("/locations/") {
        if !query.replace("%3D", "=").contains("enum-encoding=int") {
            return bad("GKE clients ask for integer enums");
        }
        return gke(s, method, rest, body);
    }
    sql(s, method, rest, body)
}

impl State {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn operation(&mut self, api: Api, call: &str, mut op: Op) -> Value {
        let id = self.id();
        let name = match api {
            Api::Compute => format!("operation-{id}"),
            Api::Gke => format!("operation-{id}"),
            Api::Sql => format!("op-{id}"),
            Api::ServiceNetworking => format!("operations/pssn.{id}"),
        };
        if let Some(prefix) = self
            .fail_operation
            .keys()
            .find(|k| call.starts_with(k.as_str()))
            .cloned()
        {
            op.error = self.fail_operation.remove(&prefix);
        }
        op.polls_left = self.pending_polls;
        op.body["name"] = json!(name);
        op.api = api;
        let key = match api {
            Api::ServiceNetworking => name.clone(),
            _ => name.clone(),
        };
        self.operations.insert(key.clone(), op);
        let now = self.render(&key);
        // A call whose operation needs no polls is done at once.
        if self.pending_polls == 0 {
            return self.poll_once(&key);
        }
        now
    }

    /// The operation in its API's shape as it stands.
    fn render(&self, key: &str) -> Value {
        let op = &self.operations[key];
        let done = op.polls_left == 0;
        let mut v = op.body.clone();
        match op.api {
            Api::Compute => {
                v["status"] = json!(if done { "DONE" } else { "RUNNING" });
                v["progress"] = json!(if done { 100 } else { 50 });
                if done && let Some(e) = &op.error {
                    v["error"] =
                        json!({"errors": [{"code": "RESOURCE_OPERATION_FAILED", "message": e}]});
                    v["httpErrorStatusCode"] = json!(400);
                    v["httpErrorMessage"] = json!("BAD REQUEST");
                }
            }
            Api::Gke => {
                v["status"] = json!(if done { 3 } else { 2 });
                if done && let Some(e) = &op.error {
                    v["error"] = json!({"code": 9, "message": e});
                }
            }
            Api::Sql => {
                v["status"] = json!(if done { 3 } else { 2 });
                if done && let Some(e) = &op.error {
                    v["error"] = json!({"kind": "sql#operationErrors", "errors": [{"kind": "sql#operationError", "code": "INTERNAL_ERROR", "message": e}]});
                }
            }
            Api::ServiceNetworking => {
                v["done"] = json!(done);
                if done && let Some(e) = &op.error {
                    v["error"] = json!({"code": 9, "message": e});
                }
            }
        }
        v
    }

    fn poll_once(&mut self, key: &str) -> Value {
        let finished = {
            let op = self.operations.get_mut(key).expect("known operation");
            if op.polls_left > 0 {
                op.polls_left -= 1;
            }
            op.polls_left == 0 && (!op.done_set.is_empty() || !op.done_remove.is_empty())
        };
        if finished {
            let op = self.operations.get_mut(key).unwrap();
            let failed = op.error.is_some();
            let failed_set = op.failed_set.take();
            let mut set = std::mem::take(&mut op.done_set);
            let remove = std::mem::take(&mut op.done_remove);
            let failed = match failed_set {
                Some(instead) if failed => {
                    set = instead;
                    false
                }
                _ => failed,
            };
            if failed {
                for (path, _) in set {
                    self.objects.remove(&path);
                }
            } else {
                for (path, fields) in set {
                    if let Some(obj) = self.objects.get_mut(&path) {
                        for (k, v) in fields.as_object().unwrap() {
                            obj[k] = v.clone();
                        }
                    }
                }
                for path in remove {
                    self.objects.remove(&path);
                }
            }
        }
        self.render(key)
    }
}

fn poll(s: &mut State, key: &str) -> (u16, Value) {
    if !s.operations.contains_key(key) {
        return error(404, &format!("operation {key} not found"), "notFound");
    }
    (200, s.poll_once(key))
}

fn new_op(body: Value) -> Op {
    Op {
        body,
        polls_left: 0,
        api: Api::Compute,
        done_set: Vec::new(),
        done_remove: Vec::new(),
        error: None,
        failed_set: None,
    }
}

// ---------------------------------------------------------------- compute

fn compute(s: &mut State, method: &str, rest: &str, body: &Value) -> (u16, Value) {
    let parts: Vec<&str> = rest.split('/').collect();
    // projects/{p}/global/operations/{op} | projects/{p}/regions/{r}/operations/{op}
    if parts.len() >= 5 && parts[parts.len() - 2] == "operations" {
        return poll(s, parts[parts.len() - 1]);
    }
    let (collection, name, verb) = match parts.as_slice() {
        ["projects", p, "global", c] => (format!("projects/{p}/global/{c}"), None, None),
        ["projects", p, "global", c, n] => (format!("projects/{p}/global/{c}"), Some(*n), None),
        ["projects", p, "global", c, n, v] => {
            (format!("projects/{p}/global/{c}"), Some(*n), Some(*v))
        }
        ["projects", p, "regions", r, c] => (format!("projects/{p}/regions/{r}/{c}"), None, None),
        ["projects", p, "regions", r, c, n] => {
            (format!("projects/{p}/regions/{r}/{c}"), Some(*n), None)
        }
        _ => return error(404, &format!("unknown compute path {rest}"), "notFound"),
    };
    let project = parts[1];
    let kind = last(&collection).to_string();
    let call = format!("{method} /compute/v1/{rest}");
    let op_body = |s: &mut State, target: &str, op_type: &str| {
        let id = s.id();
        json!({"kind": "compute#operation", "id": id.to_string(), "operationType": op_type, "targetLink": format!("https://www.googleapis.com/compute/v1/{target}"), "targetId": id.to_string(), "selfLink": format!("https://www.googleapis.com/compute/v1/{collection}")})
    };
    match (method, name, verb) {
        ("POST", None, None) => {
            let Some(name) = body.get("name").and_then(Value::as_str) else {
                return bad(
                    "Invalid value for field 'resource.name': ''. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'",
                );
            };
            let path = format!("{collection}/{name}");
            if s.objects.contains_key(&path) {
                return error(
                    409,
                    &format!("The resource '{path}' already exists"),
                    "alreadyExists",
                );
            }
            if let Err(e) = check_compute(s, project, &kind, body) {
                return e;
            }
            let mut obj = body.clone();
            let id = s.id();
            obj["id"] = json!(id.to_string());
            obj["selfLink"] = json!(format!("https://www.googleapis.com/compute/v1/{path}"));
            obj["creationTimestamp"] = json!("2026-12-01T10:00:00.000-08:00");
            if kind == "addresses" {
                if str_of(body, "purpose") == "VPC_PEERING" {
                    obj["address"] = json!("10.200.0.0");
                } else {
                    obj["address"] = json!(format!("34.1.2.{}", id % 250));
                }
                obj["status"] = json!("RESERVED");
            }
            if kind == "subnetworks" {
                obj["gatewayAddress"] = json!("10.0.0.1");
            }
            s.objects.insert(path.clone(), obj);
            let b = op_body(s, &path, "insert");
            (200, s.operation(Api::Compute, &call, new_op(b)))
        }
        ("GET", None, None) => {
            let prefix = format!("{collection}/");
            let items: Vec<Value> = s
                .objects
                .iter()
                .filter(|(p, _)| {
                    p.strip_prefix(&prefix)
                        .is_some_and(|rest| !rest.contains('/'))
                })
                .map(|(_, v)| v.clone())
                .collect();
            (
                200,
                json!({"kind": "compute#list", "id": collection, "items": items}),
            )
        }
        ("GET", Some(n), None) => match s.objects.get(&format!("{collection}/{n}")) {
            Some(v) => (200, v.clone()),
            None => error(
                404,
                &format!("The resource '{collection}/{n}' was not found"),
                "notFound",
            ),
        },
        ("PUT" | "PATCH", Some(n), None) => {
            let path = format!("{collection}/{n}");
            let Some(old) = s.objects.get(&path).cloned() else {
                return error(
                    404,
                    &format!("The resource '{path}' was not found"),
                    "notFound",
                );
            };
            if kind == "routers"
                && let Err(e) = check_nats(s, project, body)
            {
                return e;
            }
            let mut obj = if method == "PUT" {
                body.clone()
            } else {
                old.clone()
            };
            if method == "PATCH" {
                for (k, v) in body.as_object().into_iter().flatten() {
                    obj[k] = v.clone();
                }
            }
            for keep in ["id", "selfLink", "creationTimestamp", "name"] {
                obj[keep] = old[keep].clone();
            }
            s.objects.insert(path.clone(), obj);
            let b = op_body(s, &path, "patch");
            (200, s.operation(Api::Compute, &call, new_op(b)))
        }
        ("DELETE", Some(n), None) => {
            let path = format!("{collection}/{n}");
            if !s.objects.contains_key(&path) {
                return error(
                    404,
                    &format!("The resource '{path}' was not found"),
                    "notFound",
                );
            }
            if let Some(user) = user_of(s, &path) {
                return error(
                    400,
                    &format!(
                        "The {} resource '{path}' is already being used by '{user}'",
                        kind.trim_end_matches('s')
                    ),
                    "resourceInUseByAnotherResource",
                );
            }
            let b = op_body(s, &path, "delete");
            let mut op = new_op(b);
            op.done_remove.push(path.clone());
            if s.pending_polls == 0 {
                s.objects.remove(&path);
            }
            (200, s.operation(Api::Compute, &call, op))
        }
        ("POST", Some(n), Some("removePeering")) => {
            let path = format!("{collection}/{n}");
            let peering = str_of(body, "name").to_string();
            let Some(net) = s.objects.get_mut(&path) else {
                return error(
                    404,
                    &format!("The resource '{path}' was not found"),
                    "notFound",
                );
            };
            let peerings = net["peerings"].as_array().cloned().unwrap_or_default();
            if !peerings.iter().any(|p| str_of(p, "name") == peering) {
                return error(
                    400,
                    &format!("There is no peering {peering} in {path}"),
                    "invalid",
                );
            }
            net["peerings"] = json!(
                peerings
                    .into_iter()
                    .filter(|p| str_of(p, "name") != peering)
                    .collect::<Vec<_>>()
            );
            if peering == "servicenetworking-googleapis-com" {
                s.objects.remove(&format!("servicenetworking/{path}"));
            }
            let b = op_body(s, &path, "removePeering");
            (200, s.operation(Api::Compute, &call, new_op(b)))
        }
        _ => error(
            404,
            &format!("unknown compute call {method} {rest}"),
            "notFound",
        ),
    }
}

/// What still uses `path` (a network or subnetwork), as GCE names it.
fn user_of(s: &State, path: &str) -> Option<String> {
    let link = format!("https://www.googleapis.com/compute/v1/{path}");
    let refers = |v: &Value, key: &str| {
        let r = str_of(v, key);
        !r.is_empty() && (r == link || r == path || r.ends_with(&format!("/{path}")))
    };
    for (p, v) in &s.objects {
        if p == path {
            continue;
        }
        if refers(v, "network") || refers(v, "subnetwork") {
            return Some(p.clone());
        }
    }
    if let Some(n) = s.objects.get(path)
        && let Some(peer) = n["peerings"].as_array().and_then(|a| a.first())
    {
        return Some(format!("{path}/peerings/{}", str_of(peer, "name")));
    }
    None
}

fn network_exists(s: &State, project: &str, reference: &str) -> bool {
    s.objects.contains_key(&format!(
        "projects/{project}/global/networks/{}",
        last(reference)
    ))
}

fn check_compute(s: &State, project: &str, kind: &str, body: &Value) -> Result<(), (u16, Value)> {
    let missing_network = || error(404, "The resource 'network' was not found", "notFound");
    let needs_network = matches!(kind, "subnetworks" | "firewalls" | "routers")
        || (kind == "addresses" && str_of(body, "purpose") == "VPC_PEERING");
    if needs_network && !network_exists(s, project, str_of(body, "network")) {
        return Err(missing_network());
    }
    let problem = match kind {
        "networks" => (body.get("autoCreateSubnetworks") != Some(&json!(false)))
            .then_some("liftoff must ask for a custom-mode network"),
        "subnetworks" => {
            let secondary_ok = body["secondaryIpRanges"]
                .as_array()
                .into_iter()
                .flatten()
                .all(|r| !str_of(r, "rangeName").is_empty() && is_cidr(str_of(r, "ipCidrRange")));
            if !is_cidr(str_of(body, "ipCidrRange")) {
                Some("Invalid IPCidrRange")
            } else {
                (!secondary_ok).then_some("Invalid secondary range")
            }
        }
        "firewalls" => {
            let sources = body["sourceRanges"].as_array().cloned().unwrap_or_default();
            if sources.is_empty() || !sources.iter().all(|r| is_cidr(r.as_str().unwrap_or(""))) {
                Some("Invalid value for field 'resource.sourceRanges'")
            } else if !matches!(str_of(body, "direction"), "INGRESS" | "EGRESS") {
                Some("Invalid value for field 'resource.direction'")
            } else {
                body["allowed"]
                    .as_array()
                    .is_none_or(Vec::is_empty)
                    .then_some("Invalid value for field 'resource.allowed'")
            }
        }
        "addresses" => (str_of(body, "purpose") == "VPC_PEERING"
            && (str_of(body, "addressType") != "INTERNAL"
                || body["prefixLength"].as_i64().is_none()))
        .then_some("A VPC_PEERING range needs addressType INTERNAL and a prefixLength"),
        _ => None,
    };
    match problem {
        Some(p) => Err(bad(p)),
        None => Ok(()),
    }
}

fn check_nats(s: &State, project: &str, router: &Value) -> Result<(), (u16, Value)> {
    for nat in router["nats"].as_array().into_iter().flatten() {
        let option = str_of(nat, "natIpAllocateOption");
        if !matches!(option, "AUTO_ONLY" | "MANUAL_ONLY") {
            return Err(bad(
                "Invalid value for field 'resource.nats[0].natIpAllocateOption'",
            ));
        }
        if option == "MANUAL_ONLY" && nat["natIps"].as_array().is_none_or(Vec::is_empty) {
            return Err(bad("MANUAL_ONLY needs natIps"));
        }
        for ip in nat["natIps"].as_array().into_iter().flatten() {
            let link = ip.as_str().unwrap_or_default();
            let path = link.trim_start_matches("https://www.googleapis.com/compute/v1/");
            if !s.objects.contains_key(path) {
                return Err(error(
                    404,
                    &format!("The resource '{link}' was not found"),
                    "notFound",
                ));
            }
        }
        for sub in nat["subnetworks"].as_array().into_iter().flatten() {
            let path =
                str_of(sub, "name").trim_start_matches("https://www.googleapis.com/compute/v1/");
            if !s.objects.contains_key(path) || !path.starts_with(&format!("projects/{project}/")) {
                return Err(error(
                    404,
                    &format!("The resource '{path}' was not found"),
                    "notFound",
                ));
            }
        }
    }
    Ok(())
}

// ------------------------------------------------------- service networking

fn service_networking(
    s: &mut State,
    method: &str,
    rest: &str,
    query: &str,
    body: &Value,
) -> (u16, Value) {
    match (method, rest) {
        ("GET", "connections") => {
            let network = query
                .split('&')
                .find_map(|kv| kv.strip_prefix("network="))
                .map(|n| n.replace("%2F", "/"))
                .unwrap_or_default();
            let conns: Vec<Value> = s
                .objects
                .iter()
                .filter(|(p, v)| {
                    p.starts_with("servicenetworking/") && str_of(v, "network") == network
                })
                .map(|(_, v)| v.clone())
                .collect();
            if conns.is_empty() {
                (200, json!({}))
            } else {
                (200, json!({"connections": conns}))
            }
        }
        ("POST", "connections") => {
            let network = str_of(body, "network").to_string();
            let parts: Vec<&str> = network.split('/').collect();
            let Some(project) = parts.get(1) else {
                return bad("network must be projects/{project}/global/networks/{network}");
            };
            let net_path = format!("projects/{project}/global/networks/{}", last(&network));
            if !s.objects.contains_key(&net_path) {
                return error(400, &format!("network {network} not found"), "invalid");
            }
            let ranges = body["reservedPeeringRanges"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for r in &ranges {
                let path = format!(
                    "projects/{project}/global/addresses/{}",
                    r.as_str().unwrap_or("")
                );
                if s.objects
                    .get(&path)
                    .is_none_or(|a| str_of(a, "purpose") != "VPC_PEERING")
                {
                    return bad(&format!(
                        "reserved range {r} is not a VPC_PEERING range of the project"
                    ));
                }
            }
            s.objects.insert(
                format!("servicenetworking/{net_path}"),
                json!({"network": network, "reservedPeeringRanges": ranges, "peering": "servicenetworking-googleapis-com", "service": "services/servicenetworking.googleapis.com"}),
            );
            let net = s.objects.get_mut(&net_path).unwrap();
            let mut peerings = net["peerings"].as_array().cloned().unwrap_or_default();
            peerings.push(json!({"name": "servicenetworking-googleapis-com", "state": "ACTIVE"}));
            net["peerings"] = json!(peerings);
            let call = format!("POST /v1/services/servicenetworking.googleapis.com/{rest}");
            (
                200,
                s.operation(Api::ServiceNetworking, &call, new_op(json!({}))),
            )
        }
        _ => error(
            404,
            &format!("unknown Service Networking call {method} {rest}"),
            "notFound",
        ),
    }
}

// -------------------------------------------------------------------- GKE

fn gke(s: &mut State, method: &str, rest: &str, body: &Value) -> (u16, Value) {
    let (rest, verb) = match rest.split_once(':') {
        Some((r, v)) => (r, Some(v)),
        None => (rest, None),
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let call = format!("{method} /v1/{rest}");
    match parts.as_slice() {
        ["projects", _, "locations", _, "operations", op] => {
            if method != "GET" {
                return bad("only get");
            }
            poll(s, op)
        }
        ["projects", p, "locations", "-", "clusters"] if method == "GET" => {
            let prefix = format!("projects/{p}/locations/");
            let clusters: Vec<Value> = s
                .objects
                .iter()
                .filter(|(k, _)| k.starts_with(&prefix) && k.split('/').count() == 6)
                .map(|(_, v)| v.clone())
                .collect();
            (200, json!({"clusters": clusters}))
        }
        ["projects", _, "locations", _, "serverConfig"] if method == "GET" => {
            let versions = |minors: &Vec<u32>| -> Vec<String> {
                minors.iter().map(|m| gke_version(*m)).collect()
            };
            let channels: Vec<Value> = s
                .offered
                .iter()
                .filter(|(c, _)| **c > 0)
                .map(|(c, m)| json!({"channel": c, "defaultVersion": versions(m).first(), "validVersions": versions(m)}))
                .collect();
            let plain = versions(&s.offered[&0]);
            (
                200,
                json!({"defaultClusterVersion": plain.first(), "validMasterVersions": plain, "validNodeVersions": plain, "channels": channels}),
            )
        }
        ["projects", p, "locations", l, "clusters"] if method == "POST" => {
            let Some(cluster) = body.get("cluster") else {
                return bad("cluster is required");
            };
            create_cluster(s, p, l, cluster, &call)
        }
        ["projects", _, "locations", "-", "clusters", _] => {
            bad("Location \"-\" is not supported for this call")
        }
        ["projects", p, "locations", l, "clusters", name] => {
            let found = find_cluster(s, p, l, name);
            let Some(path) = found else {
                return error(
                    404,
                    &format!("Not found: projects/{p}/locations/{l}/clusters/{name}."),
                    "notFound",
                );
            };
            match method {
                "GET" => (200, s.objects[&path].clone()),
                "PUT" => update_cluster(s, &path, body, &call),
                "DELETE" => {
                    s.objects.get_mut(&path).unwrap()["status"] = json!(4);
                    let location = str_of(&s.objects[&path], "location").to_string();
                    let mut op = new_op(
                        json!({"operationType": 2, "zone": location, "location": location, "targetLink": path}),
                    );
                    op.done_remove.push(path.clone());
                    let prefix = format!("{path}/nodePools/");
                    op.done_remove
                        .extend(s.objects.keys().filter(|k| k.starts_with(&prefix)).cloned());
                    (200, s.operation(Api::Gke, &call, op))
                }
                _ => bad("unsupported"),
            }
        }
        ["projects", p, "locations", l, "clusters", c, "nodePools"] if method == "POST" => {
            let Some(cluster) = find_cluster(s, p, l, c) else {
                return error(404, "cluster not found", "notFound");
            };
            let Some(pool) = body.get("nodePool") else {
                return bad("nodePool is required");
            };
            if let Err(e) = check_pool(pool) {
                return e;
            }
            let path = format!("{cluster}/nodePools/{}", str_of(pool, "name"));
            if s.objects.contains_key(&path) {
                return error(409, &format!("Already exists: {path}."), "alreadyExists");
            }
            let mut obj = pool.clone();
            obj["status"] = json!(1);
            obj["version"] = s.objects[&cluster]["currentMasterVersion"].clone();
            obj["selfLink"] = json!(format!("https://container.googleapis.com/v1/{path}"));
            s.objects.insert(path.clone(), obj);
            let mut op = new_op(json!({"operationType": 7, "targetLink": path}));
            op.done_set.push((path, json!({"status": 2})));
            (200, s.operation(Api::Gke, &call, op))
        }
        ["projects", p, "locations", l, "clusters", c, "nodePools", n] => {
            let Some(cluster) = find_cluster(s, p, l, c) else {
                return error(404, "cluster not found", "notFound");
            };
            let path = format!("{cluster}/nodePools/{n}");
            if !s.objects.contains_key(&path) {
                return error(404, &format!("Not found: {path}."), "notFound");
            }
            match (method, verb) {
                ("GET", None) => (200, s.objects[&path].clone()),
                ("DELETE", None) => {
                    s.objects.get_mut(&path).unwrap()["status"] = json!(5);
                    let mut op = new_op(json!({"operationType": 8, "targetLink": path}));
                    op.done_remove.push(path);
                    (200, s.operation(Api::Gke, &call, op))
                }
                ("PUT", None) => update_pool(s, &cluster, &path, body, &call),
                ("POST", Some("setAutoscaling")) => {
                    s.objects.get_mut(&path).unwrap()["autoscaling"] = body["autoscaling"].clone();
                    let op = new_op(json!({"operationType": 9, "targetLink": path}));
                    (200, s.operation(Api::Gke, &call, op))
                }
                _ => bad("unsupported"),
            }
        }
        _ => error(404, &format!("unknown GKE path {rest}"), "notFound"),
    }
}

fn find_cluster(s: &State, project: &str, location: &str, name: &str) -> Option<String> {
    if location == "-" {
        let prefix = format!("projects/{project}/locations/");
        let suffix = format!("/clusters/{name}");
        return s
            .objects
            .keys()
            .find(|k| k.starts_with(&prefix) && k.ends_with(&suffix))
            .cloned();
    }
    let path = format!("projects/{project}/locations/{location}/clusters/{name}");
    s.objects.contains_key(&path).then_some(path)
}

/// The full version GKE runs for minor 1.N.
fn gke_version(minor: u32) -> String {
    format!("1.{minor}.5-gke.1200")
}

/// The minor of `1.N`, `1.N.P-gke.X` (None for anything else).
fn minor_of(version: &str) -> Option<u32> {
    let mut parts = version.split('.');
    (parts.next() == Some("1"))
        .then(|| parts.next()?.parse().ok())
        .flatten()
}

/// The channel a cluster is on (0: none).
fn channel_of(cluster: &Value) -> i64 {
    cluster["releaseChannel"]["channel"].as_i64().unwrap_or(0)
}

/// `clusters.update`: the control plane to `update.desiredMasterVersion`,
/// which GKE allows one minor version at a time, to a version it offers
/// (in the cluster's channel), keeping every node pool within two minor
/// versions; the cluster is RECONCILING until the operation is done.
fn update_cluster(s: &mut State, path: &str, body: &Value, call: &str) -> (u16, Value) {
    let cluster = s.objects[path].clone();
    let wanted = str_of(&body["update"], "desiredMasterVersion");
    if wanted.is_empty() {
        return bad("the fake supports only update.desiredMasterVersion");
    }
    if cluster["status"] != json!(2) {
        return error(
            400,
            &format!("Cluster is running incompatible operation on {path}."),
            "failedPrecondition",
        );
    }
    let Some(to) = minor_of(wanted) else {
        return bad(&format!("Master version \"{wanted}\" is unsupported."));
    };
    let from = minor_of(str_of(&cluster, "currentMasterVersion")).unwrap_or(0);
    if to < from || to > from + 1 {
        return bad(&format!(
            "Master cannot be upgraded from 1.{from} to \"{wanted}\": the control plane moves one minor version at a time."
        ));
    }
    if !s.offered[&channel_of(&cluster)].contains(&to) {
        return bad(&format!(
            "Master version \"{wanted}\" is unsupported in the cluster's release channel."
        ));
    }
    let prefix = format!("{path}/nodePools/");
    let lagging = s.objects.iter().any(|(k, v)| {
        k.starts_with(&prefix) && minor_of(str_of(v, "version")).is_some_and(|m| m + 2 < to)
    });
    if lagging {
        return bad("Node pools must be within two minor versions of the control plane.");
    }
    s.objects.get_mut(path).unwrap()["status"] = json!(3);
    let location = str_of(&cluster, "location").to_string();
    let mut op = new_op(
        json!({"operationType": 3, "zone": location, "location": location, "targetLink": path}),
    );
    op.done_set.push((
        path.to_string(),
        json!({"status": 2, "currentMasterVersion": gke_version(to)}),
    ));
    op.failed_set = Some(vec![(path.to_string(), json!({"status": 2}))]);
    (200, s.operation(Api::Gke, call, op))
}

/// `nodePools.update`: a node version (never newer than the control
/// plane), or a machine type and disk size; `imageType` is required.
fn update_pool(s: &mut State, cluster: &str, path: &str, body: &Value, call: &str) -> (u16, Value) {
    if str_of(body, "imageType").is_empty() {
        return bad("UpdateNodePoolRequest.image_type is required");
    }
    let pool = s.objects[path].clone();
    if pool["status"] != json!(2) {
        return error(
            400,
            &format!("Node pool is running incompatible operation on {path}."),
            "failedPrecondition",
        );
    }
    let mut done = json!({"status": 2});
    let node_version = str_of(body, "nodeVersion");
    if !node_version.is_empty() {
        let master = minor_of(str_of(&s.objects[cluster], "currentMasterVersion")).unwrap_or(0);
        let to = if node_version == "-" {
            Some(master)
        } else {
            minor_of(node_version)
        };
        let Some(to) = to.filter(|m| *m <= master) else {
            return bad(&format!(
                "Node version \"{node_version}\" must not be newer than the control plane (1.{master})."
            ));
        };
        done["version"] = json!(gke_version(to));
    }
    let machine = str_of(body, "machineType");
    let disk = match &body["diskSizeGb"] {
        Value::String(t) => t.parse::<i64>().ok(),
        v => v.as_i64(),
    };
    if !machine.is_empty() || disk.is_some() {
        let mut config = pool["config"].clone();
        if !machine.is_empty() {
            config["machineType"] = json!(machine);
        }
        if let Some(d) = disk {
            if d < 10 {
                return bad("diskSizeGb must be at least 10");
            }
            config["diskSizeGb"] = json!(d);
        }
        done["config"] = config;
    }
    if done.as_object().unwrap().len() == 1 {
        return bad("the fake supports nodeVersion, machineType and diskSizeGb updates");
    }
    s.objects.get_mut(path).unwrap()["status"] = json!(4);
    let mut op = new_op(json!({"operationType": 4, "targetLink": path}));
    op.done_set.push((path.to_string(), done));
    op.failed_set = Some(vec![(path.to_string(), json!({"status": 2}))]);
    (200, s.operation(Api::Gke, call, op))
}

fn check_pool(pool: &Value) -> Result<(), (u16, Value)> {
    if str_of(pool, "name").is_empty() {
        return Err(bad("node pool name is required"));
    }
    let config = &pool["config"];
    if str_of(config, "machineType").is_empty() {
        return Err(bad("machine type is required"));
    }
    for t in config["taints"].as_array().into_iter().flatten() {
        if !t["effect"].as_i64().is_some_and(|e| (1..=3).contains(&e)) {
            return Err(bad("taint effect must be an integer enum 1..3"));
        }
    }
    let a = &pool["autoscaling"];
    if a["enabled"] == json!(true)
        && a["minNodeCount"].as_i64().unwrap_or(0) > a["maxNodeCount"].as_i64().unwrap_or(0)
    {
        return Err(bad("minNodeCount exceeds maxNodeCount"));
    }
    Ok(())
}

fn create_cluster(
    s: &mut State,
    project: &str,
    location: &str,
    cluster: &Value,
    call: &str,
) -> (u16, Value) {
    let name = str_of(cluster, "name").to_string();
    if name.is_empty() {
        return bad("Cluster.name is required");
    }
    if find_cluster(s, project, "-", &name).is_some() {
        return error(
            409,
            &format!("Already exists: projects/{project}/locations/{location}/clusters/{name}."),
            "alreadyExists",
        );
    }
    let region = location
        .rsplit_once('-')
        .filter(|(_, z)| z.len() == 1)
        .map_or(location, |(r, _)| r);
    let subnet_path = format!(
        "projects/{project}/regions/{region}/subnetworks/{}",
        last(str_of(cluster, "subnetwork"))
    );
    let Some(subnet) = s.objects.get(&subnet_path) else {
        return bad(&format!("subnetwork {subnet_path} not found"));
    };
    if !network_exists(s, project, str_of(cluster, "network")) {
        return bad("network not found");
    }
    let ranges: Vec<&str> = subnet["secondaryIpRanges"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| str_of(r, "rangeName"))
        .collect();
    let ip = &cluster["ipAllocationPolicy"];
    for key in ["clusterSecondaryRangeName", "servicesSecondaryRangeName"] {
        if !ranges.contains(&str_of(ip, key)) {
            return bad(&format!(
                "secondary range {} not found in {subnet_path}",
                str_of(ip, key)
            ));
        }
    }
    let channel = &cluster["releaseChannel"]["channel"];
    if !channel.is_null() && !channel.is_i64() {
        return bad("releaseChannel.channel must be an integer enum");
    }
    if !is_cidr(str_of(
        &cluster["privateClusterConfig"],
        "masterIpv4CidrBlock",
    )) {
        return bad("masterIpv4CidrBlock must be a /28");
    }
    let pools = cluster["nodePools"].as_array().cloned().unwrap_or_default();
    if pools.is_empty() {
        return bad("Cluster.initial_node_count or node_pools must be set");
    }
    for p in &pools {
        if let Err(e) = check_pool(p) {
            return e;
        }
    }
    let path = format!("projects/{project}/locations/{location}/clusters/{name}");
    let mut obj = cluster.clone();
    obj.as_object_mut().unwrap().remove("nodePools");
    obj["location"] = json!(location);
    obj["status"] = json!(1);
    obj["endpoint"] = json!(s.endpoint);
    obj["masterAuth"] = json!({"clusterCaCertificate": s.ca_base64});
    // A pinned version (`1.N`), else the default (1.33).
    let version = match minor_of(str_of(cluster, "initialClusterVersion")) {
        Some(m) => gke_version(m),
        None => gke_version(33),
    };
    obj["currentMasterVersion"] = json!(version);
    obj["selfLink"] = json!(format!("https://container.googleapis.com/v1/{path}"));
    s.objects.insert(path.clone(), obj);
    let mut op = new_op(
        json!({"operationType": 1, "zone": location, "location": location, "targetLink": path}),
    );
    op.done_set.push((path.clone(), json!({"status": 2})));
    for p in pools {
        let pool_path = format!("{path}/nodePools/{}", str_of(&p, "name"));
        let mut pool = p.clone();
        pool["status"] = json!(1);
        pool["version"] = json!(version);
        s.objects.insert(pool_path.clone(), pool);
        op.done_set.push((pool_path, json!({"status": 2})));
    }
    (200, s.operation(Api::Gke, call, op))
}

// -------------------------------------------------------------- Cloud SQL

fn sql(s: &mut State, method: &str, rest: &str, body: &Value) -> (u16, Value) {
    let parts: Vec<&str> = rest.split('/').collect();
    let call = format!("{method} /v1/{rest}");
    match parts.as_slice() {
        ["projects", _, "operations", op] => poll(s, op),
        ["projects", p, "instances", name, "backupRuns"] => {
            let instance = format!("projects/{p}/instances/{name}");
            let Some(obj) = s.objects.get(&instance) else {
                return error(
                    404,
                    "The Cloud SQL instance does not exist.",
                    "instanceDoesNotExist",
                );
            };
            if method == "GET" {
                let prefix = format!("{instance}/backupRuns/");
                let items: Vec<Value> = s
                    .objects
                    .iter()
                    .filter(|(k, _)| k.starts_with(&prefix))
                    .map(|(_, v)| v.clone())
                    .collect();
                return (200, json!({"kind": "sql#backupRunsList", "items": items}));
            }
            if method != "POST" {
                return bad("unsupported");
            }
            if obj["state"] != json!(1) {
                return bad("Invalid request: the instance is not running.");
            }
            let id = s.id();
            let path = format!("{instance}/backupRuns/{id}");
            s.objects.insert(
                path.clone(),
                json!({"kind": "sql#backupRun", "id": id.to_string(), "status": 1, "type": 2,
                    "description": str_of(body, "description"), "instance": name,
                    "selfLink": format!("https://sqladmin.googleapis.com/v1/{path}")}),
            );
            let mut op = new_op(
                json!({"kind": "sql#operation", "operationType": 9, "targetId": name, "targetProject": p,
                "backupContext": {"kind": "sql#backupContext", "backupId": id.to_string()}}),
            );
            op.done_set.push((path.clone(), json!({"status": 3})));
            op.failed_set = Some(vec![(path.clone(), json!({"status": 3}))]);
            let answer = s.operation(Api::Sql, &call, op);
            let key = str_of(&answer, "name").to_string();
            let polls = s.pending_polls;
            s.backups.insert(path, (key, polls));
            (200, answer)
        }
        ["projects", p, "instances", name, "backupRuns", id] if method == "GET" => {
            let path = format!("projects/{p}/instances/{name}/backupRuns/{id}");
            if !s.objects.contains_key(&path) {
                return error(
                    404,
                    "The backup run does not exist.",
                    "backupRunDoesNotExist",
                );
            }
            // RUNNING a few polls after its operation is done, then SUCCESSFUL.
            if let Some((op, left)) = s.backups.get(&path).cloned().filter(|_| !s.hold_backups) {
                let op_done = s.operations.get(&op).is_none_or(|o| o.polls_left == 0);
                let failed = s.operations.get(&op).is_some_and(|o| o.error.is_some());
                if op_done {
                    if left == 0 {
                        s.backups.remove(&path);
                        s.objects.get_mut(&path).unwrap()["status"] =
                            json!(if failed { 4 } else { 5 });
                    } else {
                        s.backups.insert(path.clone(), (op, left - 1));
                    }
                }
            }
            (200, s.objects[&path].clone())
        }
        ["projects", p, "instances"] if method == "POST" => {
            let name = str_of(body, "name").to_string();
            if name.is_empty() {
                return bad("Missing instance name");
            }
            let path = format!("projects/{p}/instances/{name}");
            if s.objects.contains_key(&path) {
                return error(
                    409,
                    "The Cloud SQL instance already exists.",
                    "instanceAlreadyExists",
                );
            }
            if !body["databaseVersion"].is_i64() {
                return bad("databaseVersion must be an integer enum");
            }
            if str_of(body, "rootPassword").is_empty() {
                return bad("liftoff sets a root password");
            }
            let settings = &body["settings"];
            if str_of(settings, "tier").is_empty() {
                return bad("Invalid request: Missing tier.");
            }
            if !settings["availabilityType"].is_i64() {
                return bad("availabilityType must be an integer enum");
            }
            let ip = &settings["ipConfiguration"];
            if ip["ipv4Enabled"] != json!(false) {
                return bad("liftoff asks for private IP only");
            }
            let network = str_of(ip, "privateNetwork");
            let net_path = format!("projects/{p}/global/networks/{}", last(network));
            if !s
                .objects
                .contains_key(&format!("servicenetworking/{net_path}"))
            {
                return bad(&format!(
                    "Failed to create the instance: network {network} has no private services connection"
                ));
            }
            let mut obj = body.clone();
            obj.as_object_mut().unwrap().remove("rootPassword");
            obj["state"] = json!(4);
            obj["project"] = json!(p);
            obj["connectionName"] = json!(format!("{p}:{}:{name}", str_of(body, "region")));
            obj["ipAddresses"] = json!([]);
            s.objects.insert(path.clone(), obj);
            let mut op = new_op(
                json!({"kind": "sql#operation", "operationType": 1, "targetId": name, "targetProject": p}),
            );
            op.done_set.push((
                path,
                json!({"state": 1, "ipAddresses": [{"type": 3, "ipAddress": "10.200.0.3"}]}),
            ));
            op.api = Api::Sql;
            (200, s.operation(Api::Sql, &call, op))
        }
        ["projects", p, "instances", name] => {
            let path = format!("projects/{p}/instances/{name}");
            let Some(obj) = s.objects.get(&path).cloned() else {
                return error(
                    404,
                    "The Cloud SQL instance does not exist.",
                    "instanceDoesNotExist",
                );
            };
            match method {
                "GET" => (200, obj),
                "PATCH" => {
                    let mut new = obj.clone();
                    for (k, v) in body["settings"].as_object().into_iter().flatten() {
                        new["settings"][k] = v.clone();
                    }
                    s.objects.insert(path, new);
                    let op = new_op(
                        json!({"kind": "sql#operation", "operationType": 2, "targetId": name}),
                    );
                    (200, s.operation(Api::Sql, &call, op))
                }
                "DELETE" => {
                    if obj["settings"]["deletionProtectionEnabled"] == json!(true) {
                        return bad(
                            "The instance is protected. Please disable the deletion protection and try again.",
                        );
                    }
                    let mut op = new_op(
                        json!({"kind": "sql#operation", "operationType": 3, "targetId": name}),
                    );
                    op.done_remove.push(path);
                    (200, s.operation(Api::Sql, &call, op))
                }
                _ => bad("unsupported"),
            }
        }
        _ => error(404, &format!("unknown path /v1/{rest}"), "notFound"),
    }
}

// -------------------------------------------------------------- Cloud DNS

fn dns(s: &mut State, method: &str, rest: &str, body: &Value) -> (u16, Value) {
    let parts: Vec<&str> = rest.split('/').collect();
    match (method, parts.as_slice()) {
        ("GET", ["projects", p, "managedZones", z]) => {
            match s.objects.get(&format!("dns/projects/{p}/managedZones/{z}")) {
                Some(v) => (200, v.clone()),
                None => error(
                    404,
                    &format!("The 'parameters.managedZone' resource named '{z}' does not exist."),
                    "notFound",
                ),
            }
        }
        ("POST", ["projects", p, "managedZones", z, "rrsets"]) => {
            let zone_path = format!("dns/projects/{p}/managedZones/{z}");
            let Some(zone) = s.objects.get(&zone_path) else {
                return error(404, "managed zone not found", "notFound");
            };
            let name = str_of(body, "name");
            let kind = str_of(body, "type");
            if !name.ends_with(str_of(zone, "dnsName")) {
                return bad(&format!("{name} is not within the zone's DNS name"));
            }
            if !name.ends_with('.')
                || kind.is_empty()
                || body["rrdatas"].as_array().is_none_or(Vec::is_empty)
            {
                return bad("a record set needs a fully qualified name, a type and rrdatas");
            }
            let path = format!("{zone_path}/rrsets/{name}/{kind}");
            if s.objects.contains_key(&path) {
                return error(
                    409,
                    &format!(
                        "The resource 'entity.change.additions[{name}][{kind}]' named '{name} ({kind})' already exists"
                    ),
                    "alreadyExists",
                );
            }
            let mut obj = body.clone();
            obj["kind"] = json!("dns#resourceRecordSet");
            s.objects.insert(path, obj.clone());
            (200, obj)
        }
        ("GET" | "DELETE", ["projects", p, "managedZones", z, "rrsets", name, kind]) => {
            let path = format!("dns/projects/{p}/managedZones/{z}/rrsets/{name}/{kind}");
            if !s.objects.contains_key(&path) {
                return error(
                    404,
                    &format!("The 'parameters.name' resource named '{name}' does not exist."),
                    "notFound",
                );
            }
            if method == "DELETE" {
                s.objects.remove(&path);
                return (200, json!({}));
            }
            (200, s.objects[&path].clone())
        }
        _ => error(
            404,
            &format!("unknown Cloud DNS call {method} {rest}"),
            "notFound",
        ),
    }
}
