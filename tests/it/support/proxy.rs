//! A loopback HTTP/1.1 proxy in front of moto that records every call
//! (query `Action` or `METHOD /path`) and can misbehave on purpose:
//! answer the first N matching calls with a throttling or 5xx error, and
//! hold NAT gateways, databases and clusters in a pending state for the first
//! N describe calls by rewriting the state in the response, or pass a call
//! on to moto and still answer it with a 500 (applied, then failed).
//!
//! Like AWS and unlike moto, a create carrying an idempotency token (EC2
//! `ClientToken`, EKS `clientRequestToken`) seen before is answered with the
//! first answer given to that token, without reaching moto; deletes AWS
//! refuses are refused, and waited-for resources can be held pending and
//! deleting for set durations ([`super::aws_like`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::aws_like::{Before, Durations, World};

/// One misbehaviour: among the calls whose name starts with `call`, skip
/// the first `after`, then do `what` to the next `times`.
#[derive(Clone, Debug)]
pub struct Rule {
    pub call: String,
    pub after: usize,
    pub times: usize,
    pub what: Fault,
}

#[derive(Clone, Debug)]
pub enum Fault {
    /// A 400 with this error code (Throttling, RequestLimitExceeded).
    Error(&'static str),
    /// A 503.
    Unavailable,
    /// A 400 in the REST-JSON shape (EKS): error type and message.
    JsonError(&'static str, &'static str),
    /// Rewrite `from` into `to` in the response body (a pending state).
    Rewrite(&'static str, &'static str),
    /// Pass the call on to moto (it takes effect), then answer 500.
    AppliedThen500,
    /// Answer with this status and JSON body without reaching moto (an
    /// API moto lacks, such as EKS version updates).
    Answer(u16, &'static str),
}

#[derive(Default)]
struct Shared {
    calls: Vec<String>,
    /// Every call with its request body (as text), in order.
    requests: Vec<(String, String)>,
    rules: Vec<(Rule, usize)>,
    applied: Vec<String>,
    /// The first successful answer to each `<call> <idempotency token>`.
    answers: HashMap<String, Answer>,
    /// Calls answered from `answers`.
    replayed: Vec<String>,
    /// Calls refused as AWS refuses them (and moto would not).
    refused: Vec<String>,
    /// EKS clusters are described with this API endpoint and CA (PEM).
    clusters_at: Option<(String, String)>,
    /// What AWS does with time and refused deletes.
    world: World,
    /// Every call with the time it arrived.
    timed: Vec<(std::time::Instant, String)>,
}

impl Shared {
    fn record(&mut self, name: &str) {
        self.calls.push(name.to_string());
        self.timed
            .push((std::time::Instant::now(), name.to_string()));
    }
}

#[derive(Clone)]
pub struct Proxy {
    pub port: u16,
    shared: Arc<Mutex<Shared>>,
}

impl Proxy {
    /// Starts the proxy on a free loopback port, forwarding to `upstream`.
    pub async fn start(upstream: u16, rules: Vec<Rule>) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Mutex::new(Shared {
            rules: rules.into_iter().map(|r| (r, 0)).collect(),
            // moto's cluster endpoints name hosts outside this machine: until
            // a test serves a cluster, point them at a closed loopback port.
            clusters_at: Some(("http://127.0.0.1:1".into(), String::new())),
            ..Shared::default()
        }));
        let s = shared.clone();
        tokio::spawn(async move {
            loop {
                let Ok((conn, _)) = listener.accept().await else {
                    return;
                };
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = serve(conn, upstream, s).await;
                });
            }
        });
        Proxy { port, shared }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// From now on, EKS DescribeCluster answers with this API endpoint and
    /// CA instead of moto's (which has no Kubernetes API behind it).
    pub fn serve_clusters_from(&self, endpoint: &str, ca_pem: &str) {
        self.shared.lock().unwrap().clusters_at = Some((endpoint.into(), ca_pem.into()));
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<String> {
        self.shared.lock().unwrap().calls.clone()
    }

    /// Every call so far with its request body (query string or JSON).
    pub fn requests(&self) -> Vec<(String, String)> {
        self.shared.lock().unwrap().requests.clone()
    }

    /// Every call so far with the time it arrived.
    pub fn timed_calls(&self) -> Vec<(std::time::Instant, String)> {
        self.shared.lock().unwrap().timed.clone()
    }

    /// Descriptions of the faults injected so far.
    pub fn applied(&self) -> Vec<String> {
        self.shared.lock().unwrap().applied.clone()
    }

    /// Adds a rule after those given at start (it applies only where none
    /// of them does).
    pub fn add_rule(&self, rule: Rule) {
        self.shared.lock().unwrap().rules.push((rule, 0));
    }

    /// The calls answered by replaying an idempotency token's first answer.
    pub fn replayed(&self) -> Vec<String> {
        self.shared.lock().unwrap().replayed.clone()
    }

    /// From now on, NAT gateways, databases, clusters and node groups stay
    /// pending and deleting for these durations.
    pub fn hold_for(&self, durations: Durations) {
        self.shared.lock().unwrap().world.durations = durations;
    }

    /// The calls refused as AWS refuses them (a delete of something in use).
    pub fn refused(&self) -> Vec<String> {
        self.shared.lock().unwrap().refused.clone()
    }

    /// Forgets the calls recorded so far (the rules stay).
    pub fn clear_calls(&self) {
        let mut g = self.shared.lock().unwrap();
        g.calls.clear();
        g.timed.clear();
        g.requests.clear();
    }
}

struct Request {
    head: Vec<String>,
    body: Vec<u8>,
}

async fn read_request(
    r: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> std::io::Result<Option<Request>> {
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).await? == 0 {
            return Ok(None);
        }
        let line = line.trim_end().to_string();
        if line.is_empty() {
            break;
        }
        head.push(line);
    }
    let len = header(&head, "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    r.read_exact(&mut body).await?;
    Ok(Some(Request { head, body }))
}

fn header<'a>(head: &'a [String], name: &str) -> Option<&'a str> {
    head.iter().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn call_name(req: &Request) -> String {
    let body = String::from_utf8_lossy(&req.body);
    let target = req.head[0].split_whitespace().nth(1).unwrap_or("");
    body.split('&')
        .chain(target.split_once('?').map_or("", |(_, q)| q).split('&'))
        .find_map(|kv| kv.strip_prefix("Action="))
        .map(str::to_string)
        .unwrap_or_else(|| {
            let method = req.head[0].split_whitespace().next().unwrap_or("");
            format!("{method} {}", target.split('?').next().unwrap_or(""))
        })
}

/// A response: status, headers, body.
type Answer = (u16, String, Vec<u8>);

/// The idempotency token a create carries: EC2's `ClientToken` query
/// parameter or EKS's `clientRequestToken` JSON field.
fn idempotency_token(req: &Request) -> Option<String> {
    let body = String::from_utf8_lossy(&req.body);
    if let Some(t) = body
        .split('&')
        .find_map(|kv| kv.strip_prefix("ClientToken="))
        .filter(|t| !t.is_empty())
    {
        return Some(t.to_string());
    }
    let v: serde_json::Value = serde_json::from_slice(&req.body).ok()?;
    v.get("clientRequestToken")?.as_str().map(str::to_string)
}

async fn serve(conn: TcpStream, upstream: u16, s: Arc<Mutex<Shared>>) -> std::io::Result<()> {
    let (rd, mut wr) = conn.into_split();
    let mut rd = BufReader::new(rd);
    while let Some(req) = read_request(&mut rd).await? {
        let name = call_name(&req);
        s.lock()
            .unwrap()
            .requests
            .push((name.clone(), String::from_utf8_lossy(&req.body).to_string()));
        let token = idempotency_token(&req).map(|t| format!("{name} {t}"));
        let replay = {
            let mut g = s.lock().unwrap();
            let answer = token.as_ref().and_then(|t| g.answers.get(t).cloned());
            if answer.is_some() {
                g.record(&name);
                g.replayed.push(name.clone());
            }
            answer
        };
        if let Some((status, headers, body)) = replay {
            write_answer(&mut wr, status, headers, body).await?;
            continue;
        }
        let path = req.head[0]
            .split_whitespace()
            .nth(1)
            .unwrap_or("")
            .split('?')
            .next()
            .unwrap_or("")
            .to_string();
        let request_text = String::from_utf8_lossy(&req.body).to_string();
        let before = s.lock().unwrap().world.before(&name, &path, &request_text);
        let refusal = match before {
            Before::Forward => None,
            Before::Answer(answer) => Some(answer),
            Before::UnlessGatewayAttached(vpc) => {
                gateway_attached(&req, upstream, &vpc).await?.then(|| {
                    super::aws_like::ec2_error(
                        "DependencyViolation",
                        &format!("The vpc '{vpc}' has dependencies and cannot be deleted."),
                    )
                })
            }
        };
        if let Some((status, headers, body)) = refusal {
            {
                let mut g = s.lock().unwrap();
                g.record(&name);
                if status != 200 {
                    g.refused.push(name.clone());
                }
            }
            write_answer(&mut wr, status, headers, body).await?;
            continue;
        }
        let fault = {
            let mut g = s.lock().unwrap();
            g.record(&name);
            let mut f = None;
            for (r, seen) in g
                .rules
                .iter_mut()
                .filter(|(r, _)| name.starts_with(&r.call))
            {
                *seen += 1;
                if f.is_none() && *seen > r.after && *seen <= r.after + r.times {
                    f = Some(r.what.clone());
                }
            }
            if let Some(f) = &f {
                g.applied.push(format!("{name}: {f:?}"));
            }
            f
        };
        let (status, headers, body) = match fault {
            Some(Fault::Error(code)) => (400, String::new(), error_body(&req, code)),
            Some(Fault::Unavailable) => {
                (503, String::new(), error_body(&req, "ServiceUnavailable"))
            }
            Some(Fault::JsonError(kind, message)) => (
                400,
                format!("Content-Type: application/json\r\nX-Amzn-ErrorType: {kind}\r\n"),
                format!("{{\"message\": \"{message}\"}}").into_bytes(),
            ),
            Some(Fault::Answer(status, json)) => (
                status,
                "Content-Type: application/json\r\n".to_string(),
                json.as_bytes().to_vec(),
            ),
            Some(Fault::AppliedThen500) => {
                let answer = forward(&req, upstream).await?;
                let (status, headers, body) =
                    s.lock()
                        .unwrap()
                        .world
                        .after(&name, &path, &request_text, answer);
                if let Some(t) = token.filter(|_| status == 200) {
                    s.lock().unwrap().answers.insert(t, (status, headers, body));
                }
                (500, String::new(), error_body(&req, "InternalError"))
            }
            other => {
                let answer = forward(&req, upstream).await?;
                let (status, headers, body) =
                    s.lock()
                        .unwrap()
                        .world
                        .after(&name, &path, &request_text, answer);
                if let Some(t) = token.filter(|_| status == 200) {
                    s.lock()
                        .unwrap()
                        .answers
                        .insert(t, (status, headers.clone(), body.clone()));
                }
                let body = match other {
                    Some(Fault::Rewrite(from, to)) => String::from_utf8_lossy(&body)
                        .replace(from, to)
                        .into_bytes(),
                    _ => body,
                };
                let clusters_at = s.lock().unwrap().clusters_at.clone();
                let body = match clusters_at {
                    Some((endpoint, ca)) if is_describe_cluster(&name) => {
                        point_cluster_at(&body, &endpoint, &ca)
                    }
                    _ => body,
                };
                (status, headers, body)
            }
        };
        write_answer(&mut wr, status, headers, body).await?;
    }
    Ok(())
}

async fn write_answer(
    wr: &mut tokio::net::tcp::OwnedWriteHalf,
    status: u16,
    headers: String,
    body: Vec<u8>,
) -> std::io::Result<()> {
    let headers = if headers.is_empty() {
        let ctype = if body.first() == Some(&b'{') {
            "application/json"
        } else {
            "text/xml"
        };
        format!("Content-Type: {ctype}\r\nx-amzn-RequestId: proxy\r\n")
    } else {
        headers
    };
    let head = format!(
        "HTTP/1.1 {status} X\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    );
    wr.write_all(head.as_bytes()).await?;
    wr.write_all(&body).await?;
    Ok(())
}

/// Whether moto has an internet gateway attached to `vpc` (asked with the
/// headers of the request being handled).
async fn gateway_attached(req: &Request, upstream: u16, vpc: &str) -> std::io::Result<bool> {
    let ask = Request {
        head: req.head.clone(),
        body: format!("Action=DescribeInternetGateways&Version=2016-11-15&Filter.1.Name=attachment.vpc-id&Filter.1.Value.1={vpc}").into_bytes(),
    };
    let (status, _, body) = forward(&ask, upstream).await?;
    Ok(status == 200 && String::from_utf8_lossy(&body).contains("<internetGatewayId>"))
}

fn is_describe_cluster(name: &str) -> bool {
    name.strip_prefix("GET /clusters/")
        .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
}

/// Sets the cluster's endpoint and CA in a DescribeCluster answer.
fn point_cluster_at(body: &[u8], endpoint: &str, ca_pem: &str) -> Vec<u8> {
    use base64::Engine as _;
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(body) else {
        return body.to_vec();
    };
    if v["cluster"].is_object() {
        v["cluster"]["endpoint"] = endpoint.into();
        v["cluster"]["certificateAuthority"] =
            serde_json::json!({"data": base64::engine::general_purpose::STANDARD.encode(ca_pem)});
    }
    serde_json::to_vec(&v).unwrap()
}

fn error_body(req: &Request, code: &str) -> Vec<u8> {
    let body = String::from_utf8_lossy(&req.body);
    if body.contains("Version=2016-11-15") {
        // EC2's error shape.
        format!("<Response><Errors><Error><Code>{code}</Code><Message>injected by the test proxy</Message></Error></Errors><RequestID>proxy</RequestID></Response>")
    } else {
        format!("<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>injected by the test proxy</Message></Error><RequestId>proxy</RequestId></ErrorResponse>")
    }
    .into_bytes()
}

/// Sends the request to moto on a fresh connection and reads the whole
/// response: status, headers (less framing ones) and de-chunked body.
async fn forward(req: &Request, upstream: u16) -> std::io::Result<(u16, String, Vec<u8>)> {
    let mut up = TcpStream::connect(("127.0.0.1", upstream)).await?;
    let mut head = String::new();
    for (i, l) in req.head.iter().enumerate() {
        let lower = l.to_ascii_lowercase();
        if i > 0 && (lower.starts_with("connection:") || lower.starts_with("content-length:")) {
            continue;
        }
        head.push_str(l);
        head.push_str("\r\n");
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        req.body.len()
    ));
    up.write_all(head.as_bytes()).await?;
    up.write_all(&req.body).await?;
    let mut raw = Vec::new();
    up.read_to_end(&mut raw).await?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut body = raw[(split + 4).min(raw.len())..].to_vec();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(502);
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    let mut headers = String::new();
    for l in head.lines().skip(1) {
        let lower = l.to_ascii_lowercase();
        if ["content-length:", "transfer-encoding:", "connection:"]
            .iter()
            .any(|h| lower.starts_with(h))
        {
            continue;
        }
        headers.push_str(l);
        headers.push_str("\r\n");
    }
    Ok((status, headers, body))
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(p) = b.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&b[..p])
                .split(';')
                .next()
                .unwrap_or("0")
                .trim(),
            16,
        )
        .unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&b[p + 2..p + 2 + size]);
        b = &b[p + 2 + size + 2..];
    }
    out
}
