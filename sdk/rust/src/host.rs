//! The host functions of import module "moat", wrapped. Each wrapper calls
//! exactly one import, and the linker keeps only the imports a plugin's code
//! reaches, so a module's import section still tells an operator what it can
//! do.
//!
//! Built for anything but wasm32, the imports are stubs: logs go to stderr,
//! progress does nothing, `cancelled` is false and every capability fails
//! with `Errno::EUNSUPPORTED`, so tool logic can be tested with `cargo test`.

use crate::json::{self, Value};
use std::fmt;

/// An error code of the ABI (docs/ABI.md, "Error codes").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub i32);

impl Errno {
    pub const EPERM: Errno = Errno(1);
    pub const EINVAL: Errno = Errno(2);
    pub const ETIMEDOUT: Errno = Errno(3);
    pub const EIO: Errno = Errno(4);
    pub const ETOOBIG: Errno = Errno(5);
    pub const ENOTFOUND: Errno = Errno(6);
    pub const ECANCELED: Errno = Errno(7);
    pub const EUNSUPPORTED: Errno = Errno(8);
    pub const ERATELIMIT: Errno = Errno(9);

    /// The code's name, such as "ENOTFOUND".
    pub fn name(self) -> String {
        let n = match self.0 {
            1 => "EPERM",
            2 => "EINVAL",
            3 => "ETIMEDOUT",
            4 => "EIO",
            5 => "ETOOBIG",
            6 => "ENOTFOUND",
            7 => "ECANCELED",
            8 => "EUNSUPPORTED",
            9 => "ERATELIMIT",
            n => return format!("errno({})", n),
        };
        n.to_string()
    }
}

/// The failure of a host function: the code and the message the host staged
/// with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub code: Errno,
    pub message: String,
}

impl fmt::Display for Error {
    /// "moat: ENOTFOUND: no key x".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            write!(f, "moat: {}", self.code.name())
        } else {
            write!(f, "moat: {}: {}", self.code.name(), self.message)
        }
    }
}

impl std::error::Error for Error {}

impl From<Error> for String {
    /// Lets a handler pass a host error on with `?`.
    fn from(e: Error) -> String {
        e.to_string()
    }
}

/// A log level of the `log` import.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Debug = 0,
    Info = 1,
    Warn = 2,
    Error = 3,
}

/// Sends `msg` to the host's log under the plugin's name, and to the client
/// as an MCP log message if it asked for that level.
pub fn log(level: Level, msg: &str) {
    sys::log(level as i32, msg.as_bytes())
}

pub fn log_debug(msg: &str) {
    log(Level::Debug, msg)
}
pub fn log_info(msg: &str) {
    log(Level::Info, msg)
}
pub fn log_warn(msg: &str) {
    log(Level::Warn, msg)
}
pub fn log_error(msg: &str) {
    log(Level::Error, msg)
}

/// Reports progress on the current call, with an optional message (empty
/// for none); `total` is 0 when unknown. Nothing happens when the client
/// sent no progress token.
pub fn progress(progress: f64, total: f64, msg: &str) {
    sys::progress(progress, total, msg.as_bytes())
}

/// Whether the current call has been cancelled or is past its deadline. A
/// long handler should check it and return early.
pub fn cancelled() -> bool {
    sys::cancelled() != 0
}

/// An HTTP request for `http_request`. Set `body` or `body_base64`, not both.
#[derive(Clone, Debug, Default)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    pub body_base64: Option<String>,
    /// 0 for the host's default.
    pub timeout_ms: u32,
}

impl HttpRequest {
    /// A GET of `url`.
    pub fn get(url: &str) -> HttpRequest {
        HttpRequest { method: "GET".into(), url: url.into(), ..Default::default() }
    }
}

/// What `http_request` answers.
#[derive(Clone, Debug, Default)]
pub struct HttpResponse {
    pub status: i64,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    pub body_base64: Option<String>,
}

/// Makes an HTTP request to a host the operator granted. A response of any
/// status is a response; the error is for a request that got none.
pub fn http_request(req: &HttpRequest) -> Result<HttpResponse, Error> {
    let mut v = Value::object().set("method", req.method.as_str()).set("url", req.url.as_str());
    if !req.headers.is_empty() {
        let h = req.headers.iter().map(|(k, x)| (k.clone(), Value::from(x.as_str()))).collect();
        v = v.set("headers", Value::Object(h));
    }
    if let Some(b) = &req.body {
        v = v.set("body", b.as_str());
    }
    if let Some(b) = &req.body_base64 {
        v = v.set("body_base64", b.as_str());
    }
    if req.timeout_ms > 0 {
        v = v.set("timeout_ms", req.timeout_ms as i64);
    }
    let out = result(sys::http_request(v.to_json().as_bytes()))?;
    let r = json::parse(&out).map_err(|e| io_error(format!("decoding the HTTP response: {}", e)))?;
    let headers = match r.get("headers") {
        Some(Value::Object(m)) => {
            m.iter().map(|(k, x)| (k.clone(), x.as_str().unwrap_or_default().to_string())).collect()
        }
        _ => Vec::new(),
    };
    Ok(HttpResponse {
        status: r.int("status").unwrap_or(0),
        headers,
        body: r.str("body").map(str::to_string),
        body_base64: r.str("body_base64").map(str::to_string),
    })
}

/// The value stored under `key`; an error with `Errno::ENOTFOUND` if none.
pub fn kv_get(key: &str) -> Result<Vec<u8>, Error> {
    result(sys::kv_get(key.as_bytes()))
}

/// Stores `value` under `key`; durable once it returns `Ok`.
pub fn kv_set(key: &str, value: &[u8]) -> Result<(), Error> {
    result(sys::kv_set(key.as_bytes(), value)).map(|_| ())
}

/// Removes `key`; removing a missing key is not an error.
pub fn kv_delete(key: &str) -> Result<(), Error> {
    result(sys::kv_delete(key.as_bytes())).map(|_| ())
}

/// The keys that start with `prefix`.
pub fn kv_list(prefix: &str) -> Result<Vec<String>, Error> {
    let out = result(sys::kv_list(prefix.as_bytes()))?;
    let v = json::parse(&out).map_err(|e| io_error(format!("decoding the key list: {}", e)))?;
    match v {
        Value::Array(items) => Ok(items.iter().filter_map(|k| k.as_str().map(str::to_string)).collect()),
        _ => Err(io_error("the key list is not a JSON array".into())),
    }
}

/// The value the operator set for `key` (secrets included); an error with
/// `Errno::ENOTFOUND` if none.
pub fn config_get(key: &str) -> Result<String, Error> {
    let out = result(sys::config_get(key.as_bytes()))?;
    String::from_utf8(out).map_err(|_| io_error(format!("config value {:?} is not UTF-8", key)))
}

/// Asks the client's model for a completion: `params` are the JSON params
/// of MCP's sampling/createMessage; the answer is the client's JSON result.
///
/// Under MCP 2026-07-28 the call ends at the first `sample` or `elicit`
/// without an answer yet, and runs again from the start once the client
/// answered: whatever the tool did before it happens again, so ask first
/// and act after, and ask in the same order on every run (docs/ABI.md).
pub fn sample(params: &str) -> Result<String, Error> {
    utf8(result(sys::sample(params.as_bytes()))?)
}

/// Asks the user for input through the client: `params` are the JSON params
/// of MCP's elicitation/create; the answer is the client's JSON result.
/// Under MCP 2026-07-28 the tool runs again for each answer; see `sample`.
pub fn elicit(params: &str) -> Result<String, Error> {
    utf8(result(sys::elicit(params.as_bytes()))?)
}

/// Tells the host that the resource at `uri` (one of the plugin's, or one
/// its templates match) changed, so that it notifies the clients subscribed
/// to it. Only a plugin that calls this imports the host function.
pub fn notify_resource_updated(uri: &str) -> Result<(), Error> {
    result(sys::notify_resource_updated(uri.as_bytes())).map(|_| ())
}

fn utf8(b: Vec<u8>) -> Result<String, Error> {
    String::from_utf8(b).map_err(|_| io_error("the host's answer is not UTF-8".into()))
}

fn io_error(message: String) -> Error {
    Error { code: Errno::EIO, message }
}

/// How much of an error message is read; the rest is dropped.
const MAX_ERROR_MESSAGE: usize = 4096;

/// Collects what a capability call staged: `r >= 0` bytes of answer, or for
/// `r < 0` the message of error `-r`.
fn result(r: i64) -> Result<Vec<u8>, Error> {
    if r < 0 {
        let mut buf = vec![0u8; MAX_ERROR_MESSAGE];
        let n = sys::read_result(&mut buf).clamp(0, MAX_ERROR_MESSAGE as i32) as usize;
        buf.truncate(n);
        let code = Errno(r.checked_neg().unwrap_or(0).min(i32::MAX as i64) as i32);
        return Err(Error { code, message: String::from_utf8_lossy(&buf).into_owned() });
    }
    let mut buf = Vec::new();
    if buf.try_reserve_exact(r as usize).is_err() {
        return Err(Error { code: Errno::ETOOBIG, message: format!("no memory for an answer of {} bytes", r) });
    }
    buf.resize(r as usize, 0);
    if r == 0 {
        return Ok(buf);
    }
    let got = sys::read_result(&mut buf);
    if got as i64 != r {
        return Err(io_error(format!("read_result copied {} of {} bytes", got, r)));
    }
    Ok(buf)
}

#[cfg(target_arch = "wasm32")]
mod sys {
    // link_name is the name of the import in module "moat"; the Rust names
    // only keep these apart from the wrappers. Pointers and usize are i32 on
    // wasm32, which is what the ABI's signatures need.
    #[link(wasm_import_module = "moat")]
    extern "C" {
        #[link_name = "read_result"]
        fn moat_read_result(ptr: *mut u8, len: usize) -> i32;
        #[link_name = "log"]
        fn moat_log(level: i32, ptr: *const u8, len: usize);
        #[link_name = "progress"]
        fn moat_progress(progress: f64, total: f64, ptr: *const u8, len: usize);
        #[link_name = "cancelled"]
        fn moat_cancelled() -> i32;
        #[link_name = "http_request"]
        fn moat_http_request(ptr: *const u8, len: usize) -> i64;
        #[link_name = "kv_get"]
        fn moat_kv_get(kptr: *const u8, klen: usize) -> i64;
        #[link_name = "kv_set"]
        fn moat_kv_set(kptr: *const u8, klen: usize, vptr: *const u8, vlen: usize) -> i64;
        #[link_name = "kv_delete"]
        fn moat_kv_delete(kptr: *const u8, klen: usize) -> i64;
        #[link_name = "kv_list"]
        fn moat_kv_list(pptr: *const u8, plen: usize) -> i64;
        #[link_name = "config_get"]
        fn moat_config_get(kptr: *const u8, klen: usize) -> i64;
        #[link_name = "sample"]
        fn moat_sample(ptr: *const u8, len: usize) -> i64;
        #[link_name = "elicit"]
        fn moat_elicit(ptr: *const u8, len: usize) -> i64;
        #[link_name = "notify_resource_updated"]
        fn moat_notify_resource_updated(ptr: *const u8, len: usize) -> i64;
    }

    // Safety, for all of these: the host reads or writes only the ranges
    // passed, which are live Rust slices for the length given.
    pub fn read_result(buf: &mut [u8]) -> i32 {
        unsafe { moat_read_result(buf.as_mut_ptr(), buf.len()) }
    }
    pub fn log(level: i32, msg: &[u8]) {
        unsafe { moat_log(level, msg.as_ptr(), msg.len()) }
    }
    pub fn progress(p: f64, total: f64, msg: &[u8]) {
        unsafe { moat_progress(p, total, msg.as_ptr(), msg.len()) }
    }
    pub fn cancelled() -> i32 {
        unsafe { moat_cancelled() }
    }
    pub fn http_request(req: &[u8]) -> i64 {
        unsafe { moat_http_request(req.as_ptr(), req.len()) }
    }
    pub fn kv_get(k: &[u8]) -> i64 {
        unsafe { moat_kv_get(k.as_ptr(), k.len()) }
    }
    pub fn kv_set(k: &[u8], v: &[u8]) -> i64 {
        unsafe { moat_kv_set(k.as_ptr(), k.len(), v.as_ptr(), v.len()) }
    }
    pub fn kv_delete(k: &[u8]) -> i64 {
        unsafe { moat_kv_delete(k.as_ptr(), k.len()) }
    }
    pub fn kv_list(p: &[u8]) -> i64 {
        unsafe { moat_kv_list(p.as_ptr(), p.len()) }
    }
    pub fn config_get(k: &[u8]) -> i64 {
        unsafe { moat_config_get(k.as_ptr(), k.len()) }
    }
    pub fn sample(p: &[u8]) -> i64 {
        unsafe { moat_sample(p.as_ptr(), p.len()) }
    }
    pub fn elicit(p: &[u8]) -> i64 {
        unsafe { moat_elicit(p.as_ptr(), p.len()) }
    }
    pub fn notify_resource_updated(uri: &[u8]) -> i64 {
        unsafe { moat_notify_resource_updated(uri.as_ptr(), uri.len()) }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod sys {
    // Stubs for native builds: each capability fails with EUNSUPPORTED and
    // stages this message.
    const STUB: &[u8] = b"moat host functions exist only under WebAssembly";
    const UNSUPPORTED: i64 = -8;

    pub fn read_result(buf: &mut [u8]) -> i32 {
        let n = STUB.len().min(buf.len());
        buf[..n].copy_from_slice(&STUB[..n]);
        n as i32
    }
    pub fn log(level: i32, msg: &[u8]) {
        eprintln!("[moat log {}] {}", level, String::from_utf8_lossy(msg));
    }
    pub fn progress(_: f64, _: f64, _: &[u8]) {}
    pub fn cancelled() -> i32 {
        0
    }
    pub fn http_request(_: &[u8]) -> i64 {
        UNSUPPORTED
    }
    pub fn kv_get(_: &[u8]) -> i64 {
        UNSUPPORTED
    }
    pub fn kv_set(_: &[u8], _: &[u8]) -> i64 {
        UNSUPPORTED
    }
    pub fn kv_delete(_: &[u8]) -> i64 {
        UNSUPPORTED
    }
    pub fn kv_list(_: &[u8]) -> i64 {
        UNSUPPORTED
    }
    pub fn config_get(_: &[u8]) -> i64 {
        UNSUPPORTED
    }
    pub fn sample(_: &[u8]) -> i64 {
        UNSUPPORTED
    }
    pub fn elicit(_: &[u8]) -> i64 {
        UNSUPPORTED
    }
    pub fn notify_resource_updated(_: &[u8]) -> i64 {
        UNSUPPORTED
    }
}
