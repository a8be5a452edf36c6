//! A small stateful fake Kubernetes API server on 127.0.0.1 (plain HTTP):
//! version, discovery, namespaces, secrets, services, storage classes,
//! pods, SelfSubjectAccessReview and server-side apply, in the real JSON
//! shapes. Every mutating request is logged as a write.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use serde_json::{Value, json};

#[derive(Default)]
struct State {
    /// Objects by collection path, then name.
    objects: BTreeMap<String, BTreeMap<String, Value>>,
    writes: Vec<String>,
    minor: String,
    /// `verb resource` pairs access reviews deny.
    deny: BTreeSet<String>,
    reviews: usize,
    rv: u64,
    /// API groups served besides storage and authorization (an add-on's).
    groups: Vec<String>,
}

pub struct FakeKube {
    pub url: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeKube {
    fn drop(&mut self) {
        self.task.abort();
    }
}

const RESOURCES: &[&str] = &[
    "namespaces",
    "secrets",
    "services",
    "pods",
    "storageclasses",
];

fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code})
}

fn merge(into: &mut Value, patch: &Value) {
    match (into, patch) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                if k == "data" || !a.contains_key(k) || !v.is_object() {
                    a.insert(k.clone(), v.clone());
                } else {
                    merge(a.get_mut(k).expect("present"), v);
                }
            }
        }
        (a, b) => *a = b.clone(),
    }
}

fn kind_of(resource: &str) -> &'static str {
    match resource {
        "namespaces" => "Namespace",
        "secrets" => "Secret",
        "services" => "Service",
        "pods" => "Pod",
        _ => "StorageClass",
    }
}

impl FakeKube {
    /// Starts on a free loopback port, reporting Kubernetes `1.<minor>`.
    pub async fn start(minor: &str) -> FakeKube {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            minor: minor.into(),
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
        FakeKube { url, state, task }
    }

    /// Puts an object in place without counting a write (test setup).
    pub fn put(&self, collection: &str, obj: Value) {
        let name = obj["metadata"]["name"].as_str().unwrap().to_string();
        let mut s = self.state.lock().unwrap();
        s.objects
            .entry(collection.into())
            .or_default()
            .insert(name, obj);
    }

    pub fn get(&self, collection: &str, name: &str) -> Option<Value> {
        let s = self.state.lock().unwrap();
        s.objects.get(collection).and_then(|c| c.get(name)).cloned()
    }

    pub fn names(&self, collection: &str) -> Vec<String> {
        let s = self.state.lock().unwrap();
        s.objects
            .get(collection)
            .map(|c| c.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Every mutating request so far: `METHOD path content-type query`.
    pub fn writes(&self) -> Vec<String> {
        self.state.lock().unwrap().writes.clone()
    }

    pub fn reviews(&self) -> usize {
        self.state.lock().unwrap().reviews
    }

    /// Serves the API group `group` too (as an installed add-on does).
    pub fn serve_group(&self, group: &str) {
        self.state.lock().unwrap().groups.push(group.into());
    }

    /// Access reviews for `verb` on `resource` answer "denied".
    pub fn deny(&self, verb: &str, resource: &str) {
        self.state
            .lock()
            .unwrap()
            .deny
            .insert(format!("{verb} {resource}"));
    }

    /// A default storage class, the nginx service with a load balancer
    /// hostname: what a ready cloud cluster has.
    pub fn ready_cluster(&self, namespace: &str, service: &str, hostname: &str) {
        self.put("/apis/storage.k8s.io/v1/storageclasses", json!({
            "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": "gp3", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "ebs.csi.aws.com",
        }));
        self.put(
            &format!("/api/v1/namespaces/{namespace}/services"),
            json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": service, "namespace": namespace},
                "spec": {"type": "LoadBalancer", "ports": [{"port": 443}]},
                "status": {"loadBalancer": {"ingress": [{"hostname": hostname}]}},
            }),
        );
    }
}

fn respond(code: u16, body: &Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

fn resource_list(group_version: &str, resources: &[(&str, &str, bool, &[&str])]) -> Value {
    json!({
        "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
        "resources": resources.iter().map(|(name, kind, namespaced, verbs)| json!({
            "name": name, "singularName": "", "namespaced": namespaced, "kind": kind, "verbs": verbs,
        })).collect::<Vec<_>>(),
    })
}

async fn handle(st: &Mutex<State>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let method = req.method().as_str().to_string();
    let path = req.uri().path().trim_end_matches('/').to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let ctype = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let crud = &["get", "list", "create", "patch", "update", "delete"][..];
    match (method.as_str(), path.as_str()) {
        ("GET", "/version") => {
            let minor = st.lock().unwrap().minor.clone();
            return respond(
                200,
                &json!({
                    "major": "1", "minor": minor, "gitVersion": format!("v1.{minor}.0"),
                    "gitCommit": "0", "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z",
                    "goVersion": "go1.24", "compiler": "gc", "platform": "linux/amd64",
                }),
            );
        }
        ("GET", "/api") => {
            return respond(
                200,
                &json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}),
            );
        }
        ("GET", "/apis") => {
            let group = |g: &str| json!({"name": g, "versions": [{"groupVersion": format!("{g}/v1"), "version": "v1"}], "preferredVersion": {"groupVersion": format!("{g}/v1"), "version": "v1"}});
            let extra = st.lock().unwrap().groups.clone();
            let groups: Vec<Value> = ["storage.k8s.io", "authorization.k8s.io"]
                .into_iter()
                .map(String::from)
                .chain(extra)
                .map(|g| group(&g))
                .collect();
            return respond(
                200,
                &json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}),
            );
        }
        ("GET", "/api/v1") => {
            return respond(
                200,
                &resource_list(
                    "v1",
                    &[
                        ("namespaces", "Namespace", false, crud),
                        ("secrets", "Secret", true, crud),
                        ("services", "Service", true, crud),
                        ("pods", "Pod", true, crud),
                    ],
                ),
            );
        }
        ("GET", "/apis/storage.k8s.io/v1") => {
            return respond(
                200,
                &resource_list(
                    "storage.k8s.io/v1",
                    &[("storageclasses", "StorageClass", false, crud)],
                ),
            );
        }
        ("GET", "/apis/authorization.k8s.io/v1") => {
            return respond(
                200,
                &resource_list(
                    "authorization.k8s.io/v1",
                    &[(
                        "selfsubjectaccessreviews",
                        "SelfSubjectAccessReview",
                        false,
                        &["create"],
                    )],
                ),
            );
        }
        ("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews") => {
            let mut review: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let attrs = &review["spec"]["resourceAttributes"];
            let key = format!(
                "{} {}",
                attrs["verb"].as_str().unwrap_or(""),
                attrs["resource"].as_str().unwrap_or("")
            );
            let mut s = st.lock().unwrap();
            s.reviews += 1;
            let allowed = !s.deny.contains(&key);
            review["status"] = json!({"allowed": allowed});
            review["apiVersion"] = "authorization.k8s.io/v1".into();
            review["kind"] = "SelfSubjectAccessReview".into();
            return respond(201, &review);
        }
        _ => {}
    }
    // Collections and objects.
    let segs: Vec<&str> = path.split('/').collect();
    let Some(i) = segs.iter().rposition(|s| RESOURCES.contains(s)) else {
        return respond(
            404,
            &status(
                404,
                "NotFound",
                "the server could not find the requested resource",
            ),
        );
    };
    let resource = segs[i];
    let collection = segs[..=i].join("/");
    let name = segs.get(i + 1).map(|s| s.to_string());
    let mut s = st.lock().unwrap();
    if method != "GET" {
        s.writes.push(format!("{method} {path} {ctype} {query}"));
    }
    match (method.as_str(), name) {
        ("GET", None) => {
            let items: Vec<Value> = s
                .objects
                .get(&collection)
                .map(|c| c.values().cloned().collect())
                .unwrap_or_default();
            respond(
                200,
                &json!({"apiVersion": if resource == "storageclasses" {"storage.k8s.io/v1"} else {"v1"}, "kind": format!("{}List", kind_of(resource)), "metadata": {"resourceVersion": s.rv.to_string()}, "items": items}),
            )
        }
        ("GET", Some(n)) => match s.objects.get(&collection).and_then(|c| c.get(&n)) {
            Some(o) => respond(200, o),
            None => respond(
                404,
                &status(404, "NotFound", &format!("{resource} \"{n}\" not found")),
            ),
        },
        ("PATCH", Some(n)) => {
            if !ctype.starts_with("application/apply-patch") {
                return respond(
                    415,
                    &status(
                        415,
                        "UnsupportedMediaType",
                        "only server-side apply is supported here",
                    ),
                );
            }
            let Ok(patch) = serde_json::from_slice::<Value>(&body) else {
                return respond(400, &status(400, "BadRequest", "body is not JSON"));
            };
            if patch["metadata"]["name"].as_str() != Some(n.as_str()) {
                return respond(400, &status(400, "BadRequest", "name mismatch"));
            }
            s.rv += 1;
            let rv = s.rv.to_string();
            let coll = s.objects.entry(collection).or_default();
            let (code, obj) = match coll.get_mut(&n) {
                Some(existing) => {
                    merge(existing, &patch);
                    existing["metadata"]["resourceVersion"] = rv.into();
                    (200, existing.clone())
                }
                None => {
                    let mut o = patch.clone();
                    o["metadata"]["uid"] = format!("uid-{rv}").into();
                    o["metadata"]["resourceVersion"] = rv.into();
                    o["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z".into();
                    if resource == "namespaces" {
                        o["status"] = json!({"phase": "Active"});
                    }
                    coll.insert(n, o.clone());
                    (201, o)
                }
            };
            respond(code, &obj)
        }
        ("DELETE", Some(n)) => match s.objects.get_mut(&collection).and_then(|c| c.remove(&n)) {
            Some(o) => respond(200, &o),
            None => respond(
                404,
                &status(404, "NotFound", &format!("{resource} \"{n}\" not found")),
            ),
        },
        _ => respond(
            405,
            &status(405, "MethodNotAllowed", "not supported by the fake"),
        ),
    }
}
