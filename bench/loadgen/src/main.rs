//! `loadgen`: the HTTP/1.1 load generator of Lamina's benchmark (`bench/`).
//!
//! Off-the-shelf tools (oha, hey, wrk) cannot SigV4-sign, and Lamina refuses unsigned
//! requests, so this client signs with the official `aws-sigv4` crate. A signature covers the
//! request and its `X-Amz-Date` (whole seconds), so for a fixed request it changes only once
//! a second: by default each worker signs at most once per second and reuses the headers in
//! between (the server still verifies every request in full). `--sign-every-request` signs
//! each request instead, as an SDK would; `signbench` prints what one signature costs.
//!
//! ```text
//! loadgen seq  --url URL [req options] [-n 2000] [--warmup 200]
//! loadgen thr  --url URL [req options] [-c 8] [-d 10] [--warmup-secs 2]
//! loadgen signbench [-n 20000]
//! loadgen serve [--listen 127.0.0.1:0]      # trivial HTTP server: the client+loopback floor
//!
//! req options: --method POST --path /2015-03-31/functions/F/invocations --body JSON
//!              --header 'Name: value' (repeatable) --expect 200 --no-sign
//!              --sign-every-request --region us-east-1 --service lambda
//! credentials: LAMINA_ROOT_ACCESS_KEY_ID / LAMINA_ROOT_SECRET_ACCESS_KEY
//!              (else AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)
//! ```
//!
//! `seq` and `thr` print one JSON object: requests, errors, rps and latency percentiles in
//! microseconds. Every worker keeps one keep-alive connection (reconnecting after an error).
//! The runtime is single-threaded so the client takes at most one core.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::{Method, Request};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::net::TcpStream;

type Error = Box<dyn std::error::Error + Send + Sync>;
type Headers = Vec<(HeaderName, HeaderValue)>;

// ---------------------------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------------------------

struct Args {
    rest: Vec<String>,
}

impl Args {
    fn take(&mut self, names: &[&str]) -> Option<String> {
        let i = self.rest.iter().position(|a| names.contains(&a.as_str()))?;
        if i + 1 >= self.rest.len() {
            die(&format!("{} needs a value", self.rest[i]));
        }
        let v = self.rest.remove(i + 1);
        self.rest.remove(i);
        Some(v)
    }
    fn take_all(&mut self, name: &str) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(v) = self.take(&[name]) {
            out.push(v);
        }
        out
    }
    fn flag(&mut self, name: &str) -> bool {
        match self.rest.iter().position(|a| a == name) {
            Some(i) => {
                self.rest.remove(i);
                true
            }
            None => false,
        }
    }
    fn num<T: std::str::FromStr>(&mut self, names: &[&str], default: T) -> T {
        match self.take(names) {
            Some(v) => v
                .parse()
                .unwrap_or_else(|_| die(&format!("{}: not a number: {v}", names[0]))),
            None => default,
        }
    }
    fn finish(self) {
        if !self.rest.is_empty() {
            die(&format!("unknown arguments: {:?}", self.rest));
        }
    }
}

fn die(msg: &str) -> ! {
    eprintln!("loadgen: {msg}");
    std::process::exit(2)
}

// ---------------------------------------------------------------------------------------------
// Signing
// ---------------------------------------------------------------------------------------------

struct Signer {
    identity: Identity,
    region: String,
    service: String,
}

impl Signer {
    fn from_env(region: String, service: String) -> Self {
        let get = |a: &str, b: &str| {
            std::env::var(a)
                .or_else(|_| std::env::var(b))
                .unwrap_or_else(|_| die(&format!("set {a} (or {b})")))
        };
        let ak = get("LAMINA_ROOT_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID");
        let sk = get("LAMINA_ROOT_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY");
        Self {
            identity: Credentials::new(ak, sk, None, None, "loadgen").into(),
            region,
            service,
        }
    }

    /// The headers SigV4 adds (`x-amz-date`, `authorization`) for `target` at `time`.
    fn sign(&self, target: &Target, time: SystemTime) -> Result<Headers, Error> {
        let params = v4::SigningParams::builder()
            .identity(&self.identity)
            .region(&self.region)
            .name(&self.service)
            .time(time)
            .settings(SigningSettings::default())
            .build()?
            .into();
        let signed_headers = target
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.to_str().unwrap_or("")));
        let signable = SignableRequest::new(
            target.method.as_str(),
            target.url.as_str(),
            signed_headers,
            SignableBody::Bytes(&target.body),
        )?;
        let (instructions, _) = sign(signable, &params)?.into_parts();
        let mut out = Vec::new();
        for (k, v) in instructions.headers() {
            out.push((
                HeaderName::from_bytes(k.as_bytes())?,
                HeaderValue::from_str(v)?,
            ));
        }
        Ok(out)
    }
}

/// One worker's signatures: fresh each request, or reused within the same second.
struct WorkerSigner {
    signer: Option<Arc<Signer>>,
    every_request: bool,
    cached: Option<(u64, Headers)>,
    signatures: u64,
    sign_time: Duration,
}

impl WorkerSigner {
    fn headers(&mut self, target: &Target) -> Result<Option<&Headers>, Error> {
        let Some(signer) = &self.signer else {
            return Ok(None);
        };
        let now = SystemTime::now();
        let secs = now.duration_since(UNIX_EPOCH)?.as_secs();
        let stale = self.every_request || self.cached.as_ref().is_none_or(|(s, _)| *s != secs);
        if stale {
            let t = Instant::now();
            let h = signer.sign(target, UNIX_EPOCH + Duration::from_secs(secs))?;
            self.sign_time += t.elapsed();
            self.signatures += 1;
            self.cached = Some((secs, h));
        }
        Ok(self.cached.as_ref().map(|(_, h)| h))
    }
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

struct Target {
    addr: SocketAddr,
    url: String,
    method: Method,
    path: String,
    body: Bytes,
    /// Sent and signed: host, content-type and the caller's `--header`s.
    headers: Headers,
    expect: u16,
}

fn target_from(args: &mut Args) -> (Target, Option<Arc<Signer>>, bool) {
    let url = args
        .take(&["--url"])
        .unwrap_or_else(|| die("--url is required"));
    let hostport = url
        .strip_prefix("http://")
        .unwrap_or_else(|| die("--url must be http://HOST:PORT"))
        .trim_end_matches('/')
        .to_owned();
    let addr: SocketAddr = hostport
        .parse()
        .unwrap_or_else(|_| die("--url must be http://IP:PORT"));
    let method: Method = args
        .take(&["--method", "-m"])
        .unwrap_or_else(|| "GET".into())
        .parse()
        .unwrap_or_else(|_| die("bad --method"));
    let path = args.take(&["--path"]).unwrap_or_else(|| "/".into());
    let body = Bytes::from(args.take(&["--body"]).unwrap_or_default());
    let mut headers: Headers = vec![(
        http::header::HOST,
        HeaderValue::from_str(&hostport).unwrap_or_else(|_| die("bad host")),
    )];
    if method == Method::POST || method == Method::PUT {
        headers.push((
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        ));
    }
    for h in args.take_all("--header") {
        let (k, v) = h
            .split_once(':')
            .unwrap_or_else(|| die("--header 'Name: value'"));
        headers.push((
            HeaderName::from_bytes(k.trim().to_ascii_lowercase().as_bytes())
                .unwrap_or_else(|_| die("bad header name")),
            HeaderValue::from_str(v.trim()).unwrap_or_else(|_| die("bad header value")),
        ));
    }
    let expect = args.num(&["--expect"], 200u16);
    let region = args
        .take(&["--region"])
        .unwrap_or_else(|| "us-east-1".into());
    let service = args.take(&["--service"]).unwrap_or_else(|| "lambda".into());
    let every = args.flag("--sign-every-request");
    let signer = (!args.flag("--no-sign")).then(|| Arc::new(Signer::from_env(region, service)));
    let target = Target {
        addr,
        url: format!("http://{hostport}{path}"),
        method,
        path,
        body,
        headers,
        expect,
    };
    (target, signer, every)
}

async fn connect(addr: SocketAddr) -> Result<SendRequest<Full<Bytes>>, Error> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

struct Worker {
    target: Arc<Target>,
    signer: WorkerSigner,
    conn: Option<SendRequest<Full<Bytes>>>,
    first_error: Option<String>,
}

impl Worker {
    fn new(target: Arc<Target>, signer: Option<Arc<Signer>>, every_request: bool) -> Self {
        Self {
            target,
            signer: WorkerSigner {
                signer,
                every_request,
                cached: None,
                signatures: 0,
                sign_time: Duration::ZERO,
            },
            conn: None,
            first_error: None,
        }
    }

    /// Sends one request and reads the whole response; true when the status is the expected one.
    async fn request(&mut self) -> bool {
        match self.try_request().await {
            Ok((status, _)) if status == self.target.expect => true,
            Ok((status, body)) => {
                self.first_error.get_or_insert_with(|| {
                    format!("HTTP {status}: {}", String::from_utf8_lossy(&body))
                });
                false
            }
            Err(e) => {
                self.conn = None;
                self.first_error.get_or_insert_with(|| e.to_string());
                false
            }
        }
    }

    async fn try_request(&mut self) -> Result<(u16, Bytes), Error> {
        let t = &*self.target;
        let mut builder = Request::builder()
            .method(t.method.clone())
            .uri(t.path.as_str());
        for (k, v) in &t.headers {
            builder = builder.header(k, v);
        }
        if let Some(h) = self.signer.headers(t)? {
            for (k, v) in h {
                builder = builder.header(k, v);
            }
        }
        let req = builder.body(Full::new(t.body.clone()))?;
        if self.conn.as_ref().is_none_or(|c| c.is_closed()) {
            self.conn = Some(connect(t.addr).await?);
        }
        let conn = self.conn.as_mut().ok_or("no connection")?;
        conn.ready().await?;
        let resp = conn.send_request(req).await?;
        let status = resp.status().as_u16();
        let body = resp.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}

// ---------------------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct Tally {
    latencies_ns: Vec<u64>,
    errors: u64,
    signatures: u64,
    sign_time: Duration,
    first_error: Option<String>,
}

impl Tally {
    fn absorb(&mut self, w: &Worker) {
        self.signatures += w.signer.signatures;
        self.sign_time += w.signer.sign_time;
        if self.first_error.is_none() {
            self.first_error.clone_from(&w.first_error);
        }
    }

    fn report(mut self, mode: &str, conc: usize, secs: f64) -> serde_json::Value {
        self.latencies_ns.sort_unstable();
        let n = self.latencies_ns.len();
        let pct = |p: f64| -> f64 {
            if n == 0 {
                return f64::NAN;
            }
            let i = ((p / 100.0) * n as f64).ceil() as usize;
            self.latencies_ns[i.clamp(1, n) - 1] as f64 / 1000.0
        };
        let mean = if n == 0 {
            f64::NAN
        } else {
            self.latencies_ns.iter().sum::<u64>() as f64 / n as f64 / 1000.0
        };
        json!({
            "mode": mode,
            "conc": conc,
            "requests": n,
            "errors": self.errors,
            "secs": secs,
            "rps": if secs > 0.0 { n as f64 / secs } else { f64::NAN },
            "p50_us": pct(50.0),
            "p90_us": pct(90.0),
            "p99_us": pct(99.0),
            "max_us": pct(100.0),
            "mean_us": mean,
            "signatures": self.signatures,
            "sign_us_each": if self.signatures > 0 {
                self.sign_time.as_secs_f64() * 1e6 / self.signatures as f64
            } else { 0.0 },
            "first_error": self.first_error,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Modes
// ---------------------------------------------------------------------------------------------

async fn seq(mut args: Args) -> serde_json::Value {
    let (target, signer, every) = target_from(&mut args);
    let n = args.num(&["-n"], 2000usize);
    let warmup = args.num(&["--warmup"], 200usize);
    args.finish();
    let mut w = Worker::new(Arc::new(target), signer, every);
    for _ in 0..warmup {
        w.request().await;
    }
    // Signatures of the warm-up are not the run's.
    w.signer.signatures = 0;
    w.signer.sign_time = Duration::ZERO;
    w.first_error = None;
    let mut tally = Tally {
        latencies_ns: Vec::with_capacity(n),
        ..Tally::default()
    };
    let start = Instant::now();
    for _ in 0..n {
        let t = Instant::now();
        if w.request().await {
            tally.latencies_ns.push(t.elapsed().as_nanos() as u64);
        } else {
            tally.errors += 1;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    tally.absorb(&w);
    tally.report("seq", 1, secs)
}

async fn thr(mut args: Args) -> serde_json::Value {
    let (target, signer, every) = target_from(&mut args);
    let conc = args.num(&["-c"], 8usize).max(1);
    let dur = Duration::from_secs_f64(args.num(&["-d"], 10.0f64));
    let warm = Duration::from_secs_f64(args.num(&["--warmup-secs"], 2.0f64));
    args.finish();
    let target = Arc::new(target);
    let t0 = Instant::now();
    let (window_start, window_end) = (t0 + warm, t0 + warm + dur);
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut tasks = Vec::new();
    for _ in 0..conc {
        let mut w = Worker::new(Arc::clone(&target), signer.clone(), every);
        let tally = Arc::clone(&tally);
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0u64;
            loop {
                let t = Instant::now();
                if t >= window_end {
                    break;
                }
                let ok = w.request().await;
                let end = Instant::now();
                // Only requests that started and ended inside the window count.
                if t >= window_start && end <= window_end {
                    if ok {
                        lat.push((end - t).as_nanos() as u64);
                    } else {
                        errors += 1;
                    }
                }
                if !ok {
                    // Do not spin on a refusing server.
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
            let mut g = tally.lock().unwrap_or_else(|p| p.into_inner());
            g.latencies_ns.extend(lat);
            g.errors += errors;
            g.absorb(&w);
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let tally = std::mem::take(&mut *tally.lock().unwrap_or_else(|p| p.into_inner()));
    tally.report("thr", conc, dur.as_secs_f64())
}

fn signbench(mut args: Args) -> serde_json::Value {
    let n = args.num(&["-n"], 20000usize);
    args.finish();
    let signer = Signer::from_env("us-east-1".into(), "lambda".into());
    let target = Target {
        addr: "127.0.0.1:9".parse().unwrap_or_else(|_| die("addr")),
        url: "http://127.0.0.1:9000/2015-03-31/functions/echo/invocations".into(),
        method: Method::POST,
        path: "/2015-03-31/functions/echo/invocations".into(),
        body: Bytes::from_static(b"{\"hello\":\"world\"}"),
        headers: vec![
            (
                http::header::HOST,
                HeaderValue::from_static("127.0.0.1:9000"),
            ),
            (
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
        ],
        expect: 200,
    };
    let start = Instant::now();
    for _ in 0..n {
        if let Err(e) = signer.sign(&target, SystemTime::now()) {
            die(&e.to_string());
        }
    }
    let us = start.elapsed().as_secs_f64() * 1e6 / n as f64;
    json!({ "mode": "signbench", "signatures": n, "sign_us_each": us })
}

async fn serve(mut args: Args) -> Result<(), Error> {
    let listen = args
        .take(&["--listen"])
        .unwrap_or_else(|| "127.0.0.1:0".into());
    args.finish();
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("listening on http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        tokio::spawn(async move {
            let svc =
                hyper::service::service_fn(|req: Request<hyper::body::Incoming>| async move {
                    let _ = req.into_body().collect().await;
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                        Bytes::from_static(b"{}"),
                    )))
                });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

fn main() {
    let mut argv: Vec<String> = std::env::args().skip(1).collect();
    if argv.is_empty() {
        die("usage: loadgen seq|thr|signbench|serve [options] (see the source's header)");
    }
    let mode = argv.remove(0);
    let args = Args { rest: argv };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| die(&e.to_string()));
    let out = match mode.as_str() {
        "seq" => rt.block_on(seq(args)),
        "thr" => rt.block_on(thr(args)),
        "signbench" => signbench(args),
        "serve" => {
            if let Err(e) = rt.block_on(serve(args)) {
                die(&e.to_string());
            }
            return;
        }
        other => die(&format!("unknown mode {other}")),
    };
    println!("{out}");
}
