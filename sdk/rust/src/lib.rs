//! The Rust SDK for moat plugins: MCP tools served from a sandboxed
//! WebAssembly module under ABI v1 (docs/ABI.md).
//!
//! A plugin is a `cdylib` crate that builds a [`Plugin`] in a function and
//! names that function in [`plugin!`], which writes the module's exports
//! (`moat_abi_version`, `moat_alloc`, `moat_describe`, `moat_call`). Rust has
//! no init functions, so the SDK calls the function lazily, once per
//! instance, on the first moat_describe or moat_call:
//!
//! ```ignore
//! use moat::{Plugin, Tool};
//!
//! fn plugin() -> Plugin {
//!     Plugin::new("greet").version("1.0.0").tool(
//!         Tool::new("greet")
//!             .description("Greets someone by name.")
//!             .input_schema(r#"{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}"#)
//!             .read_only()
//!             .text(|call| Ok(format!("Hello, {}!", call.string("name")?))),
//!     )
//! }
//!
//! moat::plugin!(plugin);
//! ```
//!
//! Build it as a WASI reactor (a library has no `_start`):
//!
//! ```sh
//! cargo build --release --target wasm32-wasi
//! ```
//!
//! Handlers get a [`Call`] (the arguments as a [`json::Value`]) and return
//! `Result<_, String>`: an `Err` becomes a result with isError and the
//! message as its text, for the model to read. An unknown tool or method is
//! a protocol error. A panic traps: the host ends the call with a tool error
//! and retires the instance (wasm32 has no unwinding to catch).
//!
//! Resources, resource templates and prompts are added the same way, with
//! [`Plugin::resource`], [`Plugin::resource_template`] and
//! [`Plugin::prompt`]; `.complete(arg, f)` on a [`Prompt`] or a
//! [`ResourceTemplate`] suggests values for an argument, and
//! [`notify_resource_updated`] tells the host a resource changed.
//!
//! The host functions of module "moat" are plain functions here ([`log`],
//! [`progress`], [`cancelled`], [`http_request`], [`kv_get`], [`config_get`],
//! [`sample`], ...); a failed one returns an [`Error`] with the ABI's code
//! and the host's message. Built natively, they are stubs, so a plugin's
//! logic and [`Plugin::handle`] can be tested with `cargo test`.
//!
//! The SDK has no dependencies, JSON included ([`json`]), so it also builds
//! with rustc alone.

pub mod json;

mod host;
mod plugin;
mod resources;

pub use host::{
    cancelled, config_get, elicit, http_request, kv_delete, kv_get, kv_list, kv_set, log, log_debug, log_error,
    log_info, log_warn, notify_resource_updated, progress, sample, Errno, Error, HttpRequest, HttpResponse, Level,
};
pub use json::Value;
pub use plugin::{
    Call, CallResult, Capabilities, Content, Plugin, Tool, CODE_INTERNAL_ERROR, CODE_INVALID_PARAMS,
    CODE_METHOD_NOT_FOUND,
};
pub use resources::{
    Contents, Prompt, PromptArgument, PromptMessage, PromptResult, Resource, ResourceError, ResourceTemplate,
    CODE_RESOURCE_NOT_FOUND, MAX_COMPLETION_VALUES,
};

/// The ABI version this SDK speaks; moat_abi_version returns it.
pub const ABI_VERSION: i32 = 1;

/// Writes the module's exports for the plugin that `$setup`, a
/// `fn() -> Plugin`, builds. Use it once, in the plugin crate's root.
#[macro_export]
macro_rules! plugin {
    ($setup:path) => {
        #[no_mangle]
        pub extern "C" fn moat_abi_version() -> i32 {
            $crate::ABI_VERSION
        }

        #[no_mangle]
        pub extern "C" fn moat_alloc(len: i32) -> i32 {
            $crate::__export::alloc(len)
        }

        #[no_mangle]
        pub extern "C" fn moat_describe() -> i64 {
            $crate::__export::describe($setup)
        }

        #[no_mangle]
        pub extern "C" fn moat_call(ptr: i32, len: i32) -> i64 {
            $crate::__export::call($setup, ptr, len)
        }
    };
}

/// The exports' bodies, for [`plugin!`]; not for plugins to call.
#[doc(hidden)]
pub mod __export {
    use crate::Plugin;
    use std::cell::RefCell;
    use std::rc::Rc;

    // An instance runs one call at a time on one thread, so per-thread state
    // is the instance's state. The host holds addresses into REQUESTS (until
    // the moat_call they are passed to returns) and into RESPONSE (until it
    // next calls in), so both keep their buffers alive until then.
    thread_local! {
        static PLUGIN: RefCell<Option<Rc<Plugin>>> = RefCell::new(None);
        static REQUESTS: RefCell<Vec<Vec<u8>>> = RefCell::new(Vec::new());
        static RESPONSE: RefCell<String> = RefCell::new(String::new());
    }

    fn plugin(setup: fn() -> Plugin) -> Rc<Plugin> {
        if let Some(p) = PLUGIN.with(|p| p.borrow().clone()) {
            return p;
        }
        let p = Rc::new(setup());
        PLUGIN.with(|slot| *slot.borrow_mut() = Some(p.clone()));
        p
    }

    // usize is 32 bits on wasm32; the casts below are lossless there.
    fn addr(p: *const u8) -> u32 {
        p as usize as u32
    }

    fn respond(s: String) -> i64 {
        RESPONSE.with(|r| {
            let mut r = r.borrow_mut();
            *r = s;
            let packed = (addr(r.as_ptr()) as u64) << 32 | r.len() as u32 as u64;
            packed as i64
        })
    }

    pub fn alloc(len: i32) -> i32 {
        if len < 0 {
            return 0;
        }
        let mut b: Vec<u8> = Vec::new();
        // At least one byte, so the address is a real one and never 0; and
        // 0, not an abort, when memory runs out.
        if b.try_reserve_exact((len as usize).max(1)).is_err() {
            return 0;
        }
        b.resize((len as usize).max(1), 0);
        let p = addr(b.as_ptr()) as i32;
        REQUESTS.with(|r| r.borrow_mut().push(b));
        p
    }

    pub fn describe(setup: fn() -> Plugin) -> i64 {
        respond(plugin(setup).describe())
    }

    pub fn call(setup: fn() -> Plugin, ptr: i32, len: i32) -> i64 {
        // The host may use none of the buffers once this call returns.
        let req = REQUESTS.with(|r| {
            let mut all = r.borrow_mut();
            let i = all.iter().position(|b| addr(b.as_ptr()) == ptr as u32);
            let b = i.map(|i| all.swap_remove(i));
            all.clear();
            b
        });
        let req = match req {
            Some(b) if len >= 0 && len as usize <= b.len() => b,
            _ => {
                return respond(
                    crate::Value::object()
                        .set(
                            "error",
                            crate::Value::object()
                                .set("code", crate::CODE_INTERNAL_ERROR)
                                .set("message", "moat_call: the request is not in a buffer from moat_alloc"),
                        )
                        .to_json(),
                )
            }
        };
        let p = plugin(setup);
        respond(p.handle(&req[..len as usize]))
    }
}
