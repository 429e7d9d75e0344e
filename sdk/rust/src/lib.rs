//! wharf-sdk: Wharf plugins in Rust.
//!
//! [`sys`] is the C ABI of `wharf.h`, typed and checked against the header by
//! the SDK's layout checker (`cargo test`). The rest is a safe layer over it,
//! as `wharf.hpp` is for C++: implement [`Plugin`] (its instance and session
//! state are associated types) and export it with [`export_plugin!`]:
//!
//! ```no_run
//! use wharf_sdk::{export_plugin, Instance, Plugin, Result, Session};
//!
//! struct Echo;
//! impl Plugin for Echo {
//!     type Instance = ();
//!     type Session = ();
//!     fn new_instance(_instance: &Instance) -> Result<()> { Ok(()) }
//!     fn open(_listener: &(), _session: &Session) -> Result<()> { Ok(()) }
//!     fn data(_listener: &(), _state: &mut (), session: &Session, data: &[u8]) -> Result<()> {
//!         session.write(data)?;
//!         Ok(())
//!     }
//! }
//! export_plugin!(Echo, name: "echo", version: "1.0.0", description: "echoes",
//!                capabilities: wharf_sdk::CAP_EVENT | wharf_sdk::CAP_STREAM);
//! ```
//!
//! NOTHING CROSSES THE BOUNDARY BUT C: every hook the crate generates, and
//! every timer, posted call and release it hands the host, runs the plugin's
//! code under `catch_unwind`. A panic (or an `Err`) in a session's hook is
//! logged with the listener and peer and fails that session only (the host
//! closes it); in `new_instance` it refuses the listener; in an instance
//! timer it is logged and cancels that timer. Build plugins with the default
//! `panic = "unwind"`: with `panic = "abort"` a panic would end wharfd's
//! worker, and this crate refuses to compile so.
//!
//! THREADS: a session's hooks run one at a time, but not always on the same
//! thread, so session state is `Send`; different sessions' hooks (and
//! instance timers) may run at once, so instance state is `Send + Sync`. A
//! [`Session`] handle is neither: from another thread, post through a
//! [`Waker`].

#![deny(unsafe_op_in_unsafe_fn)]

#[cfg(panic = "abort")]
compile_error!(
    "wharf-sdk needs panic = \"unwind\": a plugin's panics are caught at the C boundary"
);

pub mod kv;
pub mod sys;

use std::any::Any;
use std::ffi::{CStr, CString};
use std::fmt;
use std::marker::PhantomData;
use std::os::raw::{c_char, c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::{self, null, null_mut};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::time::Duration;

pub use kv::Kv;

pub const CAP_EVENT: u32 = sys::WHARF_CAP_EVENT;
pub const CAP_BLOCKING: u32 = sys::WHARF_CAP_BLOCKING;
pub const CAP_STREAM: u32 = sys::WHARF_CAP_STREAM;
pub const CAP_DATAGRAM: u32 = sys::WHARF_CAP_DATAGRAM;
pub const CAP_CONCURRENT: u32 = sys::WHARF_CAP_CONCURRENT;
pub const CAP_FORK_SAFE: u32 = sys::WHARF_CAP_FORK_SAFE;
pub const CAP_NEVER_UNLOAD: u32 = sys::WHARF_CAP_NEVER_UNLOAD;
pub const CAP_CLIENT_FIRST: u32 = sys::WHARF_CAP_CLIENT_FIRST;

// ---------------------------------------------------------------------------
// The host's table
// ---------------------------------------------------------------------------

static HOST: AtomicPtr<sys::wharf_host> = AtomicPtr::new(null_mut());
static API: AtomicPtr<sys::wharf_host_api> = AtomicPtr::new(null_mut());

/// The host's function table (NULL before `wharf_plugin_entry` ran), for what
/// the safe layer does not wrap. Read a function with [`host_fn!`], which
/// checks that the host's table has it, never past its `struct_size`.
pub fn api_ptr() -> *const sys::wharf_host_api {
    API.load(Ordering::Acquire)
}

#[doc(hidden)]
pub fn __size_of_pointee<T>(_: *const T) -> usize {
    std::mem::size_of::<T>()
}

/// `WHARF_HOST_HAS` for one function: `Some(function)` if the host's table
/// has it (it lies within the `struct_size` the host declared, and is not
/// NULL), else `None`. `host_fn!(zone_declare)`.
#[macro_export]
macro_rules! host_fn {
    ($field:ident) => {{
        let api = $crate::api_ptr();
        if api.is_null() {
            None
        } else {
            // SAFETY: `api` is the host's table, valid while the plugin is
            // loaded; nothing past its declared size is read.
            unsafe {
                let field = ::std::ptr::addr_of!((*api).$field);
                let end = (field as usize - api as usize) + $crate::__size_of_pointee(field);
                if end <= (*api).struct_size as usize {
                    ::std::ptr::read(field)
                } else {
                    None
                }
            }
        }
    }};
}

/// `WHARF_HOST_HAS(api, function)`: whether the host offers `function`.
#[macro_export]
macro_rules! host_has {
    ($field:ident) => {
        $crate::host_fn!($field).is_some()
    };
}

/// The host, once `wharf_plugin_entry` ran.
pub fn host() -> Option<Host> {
    let raw = HOST.load(Ordering::Acquire);
    (!raw.is_null()).then_some(Host { raw })
}

/// The host, as `wharf_plugin_entry` got it.
pub struct Host {
    raw: *const sys::wharf_host,
}

impl Host {
    /// E.g. "wharfd 0.1.0".
    pub fn version(&self) -> String {
        // SAFETY: the host's struct and string live until on_plugin_unload.
        unsafe { string_at((*self.raw).host_version) }
    }
    /// The ABI minor the host was built with.
    pub fn abi_minor(&self) -> u16 {
        // SAFETY: as above.
        unsafe { (*self.raw).header.abi_minor }
    }
}

unsafe fn string_at(text: *const c_char) -> String {
    if text.is_null() {
        return String::new();
    }
    // SAFETY: the caller's: a NUL-terminated string.
    unsafe { CStr::from_ptr(text) }.to_string_lossy().into_owned()
}

unsafe fn string_of(text: *const c_char, len: usize) -> String {
    if text.is_null() || len == 0 {
        return String::new();
    }
    // SAFETY: the caller's: `len` bytes at `text`.
    let bytes = unsafe { std::slice::from_raw_parts(text as *const u8, len) };
    String::from_utf8_lossy(bytes).into_owned()
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// A failure, reported to the host as a hook's status (and logged with its
/// message).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    status: sys::wharf_status,
    message: String,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A failure (`WHARF_ERROR`) with a message for the log.
    pub fn new(message: impl Into<String>) -> Self {
        Error { status: sys::WHARF_ERROR, message: message.into() }
    }
    /// A failure with a status of `wharf.h` (a negative one; anything else
    /// counts as `WHARF_ERROR`).
    pub fn with_status(status: sys::wharf_status, message: impl Into<String>) -> Self {
        Error {
            status: if status < 0 { status } else { sys::WHARF_ERROR },
            message: message.into(),
        }
    }
    fn unsupported(what: &str) -> Self {
        Error::with_status(sys::WHARF_UNSUPPORTED, format!("{} is not supported", what))
    }
    fn host_lacks(function: &str) -> Self {
        Error::with_status(sys::WHARF_UNSUPPORTED, format!("the host has no {}", function))
    }
    pub fn status(&self) -> sys::wharf_status {
        self.status
    }
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            write!(f, "status {}", self.status)
        } else {
            f.write_str(&self.message)
        }
    }
}

impl std::error::Error for Error {}

impl From<String> for Error {
    fn from(message: String) -> Self {
        Error::new(message)
    }
}
impl From<&str> for Error {
    fn from(message: &str) -> Self {
        Error::new(message)
    }
}
impl From<std::io::Error> for Error {
    fn from(error: std::io::Error) -> Self {
        Error::new(error.to_string())
    }
}

fn check(status: sys::wharf_status, what: &str) -> Result<()> {
    if status == sys::WHARF_OK {
        Ok(())
    } else {
        Err(Error::with_status(status, format!("{} failed (status {})", what, status)))
    }
}

macro_rules! need {
    ($field:ident) => {
        $crate::host_fn!($field).ok_or_else(|| Error::host_lacks(stringify!($field)))
    };
}

// ---------------------------------------------------------------------------
// Small enums
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Error,
    Warning,
    Notice,
    Info,
    Debug,
}

impl LogLevel {
    pub fn raw(self) -> sys::wharf_log_level {
        match self {
            LogLevel::Error => sys::WHARF_LOG_ERROR,
            LogLevel::Warning => sys::WHARF_LOG_WARNING,
            LogLevel::Notice => sys::WHARF_LOG_NOTICE,
            LogLevel::Info => sys::WHARF_LOG_INFO,
            LogLevel::Debug => sys::WHARF_LOG_DEBUG,
        }
    }
}

/// Why a session ends (`wharf_end_reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndReason {
    None,
    Peer,
    Plugin,
    Idle,
    Drain,
    Shutdown,
    Error,
    /// Not an end: the session moved to a newer generation of the plugin (1.5).
    Migrated,
    /// A value this SDK does not know (a newer host's).
    Other(sys::wharf_end_reason),
}

impl EndReason {
    pub fn from_raw(raw: sys::wharf_end_reason) -> Self {
        match raw {
            sys::WHARF_END_NONE => EndReason::None,
            sys::WHARF_END_PEER => EndReason::Peer,
            sys::WHARF_END_PLUGIN => EndReason::Plugin,
            sys::WHARF_END_IDLE => EndReason::Idle,
            sys::WHARF_END_DRAIN => EndReason::Drain,
            sys::WHARF_END_SHUTDOWN => EndReason::Shutdown,
            sys::WHARF_END_ERROR => EndReason::Error,
            sys::WHARF_END_MIGRATED => EndReason::Migrated,
            other => EndReason::Other(other),
        }
    }
}

/// Which of a session's addresses (`wharf_address`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Address {
    Peer,
    Local,
    Balancer,
}

impl Address {
    fn raw(self) -> sys::wharf_address {
        match self {
            Address::Peer => sys::WHARF_ADDRESS_PEER,
            Address::Local => sys::WHARF_ADDRESS_LOCAL,
            Address::Balancer => sys::WHARF_ADDRESS_BALANCER,
        }
    }
}

/// Where bytes the plugin moved itself went (`wharf_bytes_path`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BytesPath {
    SessionSocket,
    OwnConnection,
}

/// What a session's TLS agreed on (`wharf_tls_field`, 1.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsField {
    Protocol,
    Cipher,
    ServerName,
    Alpn,
    ClientSubject,
}

impl TlsField {
    fn raw(self) -> sys::wharf_tls_field {
        match self {
            TlsField::Protocol => sys::WHARF_TLS_PROTOCOL,
            TlsField::Cipher => sys::WHARF_TLS_CIPHER,
            TlsField::ServerName => sys::WHARF_TLS_SERVER_NAME,
            TlsField::Alpn => sys::WHARF_TLS_ALPN,
            TlsField::ClientSubject => sys::WHARF_TLS_CLIENT_SUBJECT,
        }
    }
}

/// What a listener's transport delivers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketKind {
    Stream,
    Datagram,
    Other(sys::wharf_socket_kind),
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

// ---------------------------------------------------------------------------
// Instances
// ---------------------------------------------------------------------------

/// The host's handle of one listener instance. A plain value, valid until
/// the instance's state is dropped (on_instance_destroy): keep it in the
/// instance state to log from timers. THREAD: any thread running one of the
/// plugin's hooks or timers; metrics and zones are declared in
/// [`Plugin::new_instance`].
#[derive(Clone, Copy, Debug)]
pub struct Instance {
    handle: *mut sys::wharf_instance,
}

// SAFETY: the host's instance functions may be called from any thread that
// runs one of the plugin's hooks (instance timers included).
unsafe impl Send for Instance {}
unsafe impl Sync for Instance {}

impl Instance {
    /// # Safety
    /// `handle` must be a live instance handle of the host.
    pub unsafe fn from_raw(handle: *mut sys::wharf_instance) -> Self {
        Instance { handle }
    }
    pub fn handle(&self) -> *mut sys::wharf_instance {
        self.handle
    }

    /// The listener's `option.<key>`.
    pub fn option(&self, key: &str) -> Option<String> {
        let get = host_fn!(option_get)?;
        let mut value: *const c_char = null();
        let mut len = 0usize;
        // SAFETY: a live handle; the host writes the out-parameters.
        let status = unsafe {
            get(self.handle, key.as_ptr() as *const c_char, key.len(), &mut value, &mut len)
        };
        // SAFETY: `len` bytes at `value`, the host's until the instance ends.
        (status == sys::WHARF_OK).then(|| unsafe { string_of(value, len) })
    }

    /// Every `option.<key>` of the listener, in order.
    pub fn options(&self) -> Vec<(String, String)> {
        let (count, at) = match (host_fn!(option_count), host_fn!(option_at)) {
            (Some(count), Some(at)) => (count, at),
            _ => return Vec::new(),
        };
        let mut options = Vec::new();
        // SAFETY: a live handle.
        for index in 0..unsafe { count(self.handle) } {
            let (mut key, mut value): (*const c_char, *const c_char) = (null(), null());
            let (mut key_len, mut value_len) = (0usize, 0usize);
            // SAFETY: as for option().
            unsafe {
                if at(self.handle, index, &mut key, &mut key_len, &mut value, &mut value_len)
                    == sys::WHARF_OK
                {
                    options.push((string_of(key, key_len), string_of(value, value_len)));
                }
            }
        }
        options
    }

    /// The listener's name.
    pub fn name(&self) -> String {
        let name_of = match host_fn!(instance_name) {
            Some(name_of) => name_of,
            None => return String::new(),
        };
        let mut name: *const c_char = null();
        let mut len = 0usize;
        // SAFETY: a live handle; the host's string until the instance ends.
        unsafe {
            if name_of(self.handle, &mut name, &mut len) != sys::WHARF_OK {
                return String::new();
            }
            string_of(name, len)
        }
    }

    pub fn socket_kind(&self) -> SocketKind {
        // SAFETY: a live handle.
        match host_fn!(instance_socket_kind).map(|kind| unsafe { kind(self.handle) }) {
            Some(sys::WHARF_SOCKET_STREAM) => SocketKind::Stream,
            Some(sys::WHARF_SOCKET_DATAGRAM) => SocketKind::Datagram,
            Some(other) => SocketKind::Other(other),
            None => SocketKind::Other(0),
        }
    }

    /// A line in wharfd's log, with the listener's name.
    pub fn log(&self, level: LogLevel, message: &str) {
        if let Some(log) = host_fn!(log) {
            // SAFETY: a live handle; the message is borrowed for the call.
            unsafe {
                log(self.handle, level.raw(), message.as_ptr() as *const c_char, message.len())
            }
        }
    }

    /// A counter series (its name ends in `_total`); `labels`:
    /// "key=value,key=value". From new_instance.
    pub fn counter(&self, name: &str, help: &str, labels: Option<&str>) -> Result<Metric> {
        self.metric(sys::WHARF_METRIC_COUNTER, name, help, labels)
    }
    /// A gauge series. From new_instance.
    pub fn gauge(&self, name: &str, help: &str, labels: Option<&str>) -> Result<Metric> {
        self.metric(sys::WHARF_METRIC_GAUGE, name, help, labels)
    }

    fn metric(
        &self,
        kind: sys::wharf_metric_kind,
        name: &str,
        help: &str,
        labels: Option<&str>,
    ) -> Result<Metric> {
        let declare = need!(metric_declare)?;
        let text =
            |s: &str| CString::new(s).map_err(|_| Error::new("a NUL byte in a metric's text"));
        let (c_name, c_help) = (text(name)?, text(help)?);
        let c_labels = labels.map(text).transpose()?;
        // SAFETY: a live handle; the strings live for the call (the host copies them).
        let metric = unsafe {
            declare(
                self.handle,
                kind,
                c_name.as_ptr(),
                c_help.as_ptr(),
                c_labels.as_ref().map_or(null(), |l| l.as_ptr()),
            )
        };
        if metric.is_null() {
            return Err(Error::new(format!("metric '{}' refused", name)));
        }
        Ok(Metric { metric })
    }

    /// The shared zone `name` of `size` bytes laid out as version `layout`
    /// (zone_declare): the same zone for every worker and a reload's new
    /// instance. From new_instance.
    pub fn zone(&self, name: &str, size: usize, layout: u32) -> Result<Zone> {
        let declare = need!(zone_declare)?;
        let c_name = CString::new(name).map_err(|_| Error::new("a NUL byte in a zone's name"))?;
        let mut fresh: c_int = 0;
        // SAFETY: a live handle; the name lives for the call.
        let zone = unsafe { declare(self.handle, c_name.as_ptr(), size, layout, &mut fresh) };
        if zone.is_null() {
            return Err(Error::new(format!("zone '{}' refused", name)));
        }
        Ok(Zone { zone, fresh: fresh != 0 })
    }

    /// Runs `task` after `delay`, then every `repeat` unless that is zero,
    /// on the instance's timer thread, until the returned [`InstanceTimer`]
    /// is dropped or cancelled, or the instance ends. An `Err` or a panic is
    /// logged and stops this timer.
    pub fn start_timer<F>(
        &self,
        delay: Duration,
        repeat: Duration,
        mut task: F,
    ) -> Result<InstanceTimer>
    where
        F: FnMut() -> Result<()> + Send + 'static,
    {
        self.start_timer_raw(delay, repeat, Box::new(move |_state| task()))
    }

    /// As [`Instance::start_timer`], and `task` gets the instance state of
    /// plugin `P` (`instance.start_timer_with::<MyPlugin, _>(…)`).
    pub fn start_timer_with<P, F>(
        &self,
        delay: Duration,
        repeat: Duration,
        mut task: F,
    ) -> Result<InstanceTimer>
    where
        P: Plugin,
        F: FnMut(&P::Instance) -> Result<()> + Send + 'static,
    {
        self.start_timer_raw(
            delay,
            repeat,
            Box::new(move |state| {
                // SAFETY: the host passes the state new_instance made: P's.
                task(unsafe { &*(state as *const P::Instance) })
            }),
        )
    }

    fn start_timer_raw(
        &self,
        delay: Duration,
        repeat: Duration,
        task: InstanceTaskFn,
    ) -> Result<InstanceTimer> {
        let start = need!(instance_timer_start)?;
        let user = Box::into_raw(Box::new(InstanceTask { instance: self.handle, task }));
        let mut id = 0u64;
        // SAFETY: a live handle; `user` is ours until `release` runs.
        let status = unsafe {
            start(
                self.handle,
                millis(delay),
                millis(repeat),
                Some(run_instance_task),
                Some(release_instance_task),
                user as *mut c_void,
                &mut id,
            )
        };
        if status != sys::WHARF_OK {
            // On any failure nothing runs, release included: the task is ours.
            // SAFETY: made by Box::into_raw above, never handed on.
            drop_quietly(unsafe { Box::from_raw(user) });
            check(status, "instance_timer_start")?;
        }
        Ok(InstanceTimer { instance: self.handle, id })
    }
}

type InstanceTaskFn = Box<dyn FnMut(*mut c_void) -> Result<()> + Send>;

struct InstanceTask {
    instance: *mut sys::wharf_instance,
    task: InstanceTaskFn,
}

unsafe extern "C" fn run_instance_task(state: *mut c_void, user: *mut c_void) -> sys::wharf_status {
    // SAFETY: `user` is the InstanceTask start_timer_raw made; the host runs
    // one callback of the instance at a time.
    let scheduled = unsafe { &mut *(user as *mut InstanceTask) };
    let instance = Instance { handle: scheduled.instance };
    let outcome = catch_unwind(AssertUnwindSafe(|| (scheduled.task)(state)));
    status_of(outcome, |message, _| {
        instance.log(LogLevel::Error, &format!("{} in an instance timer", message))
    })
}

unsafe extern "C" fn release_instance_task(user: *mut c_void) {
    // SAFETY: the host releases a task once, after its last run.
    drop_quietly(unsafe { Box::from_raw(user as *mut InstanceTask) });
}

/// Drops a value of the plugin's without letting a panic of its `Drop` out.
fn drop_quietly<T>(value: T) {
    let _ = catch_unwind(AssertUnwindSafe(move || drop(value)));
}

/// An instance timer, cancelled when dropped unless detached. THREAD: any.
#[must_use = "a timer is cancelled when its handle is dropped: keep it, or detach() it"]
#[derive(Debug)]
pub struct InstanceTimer {
    instance: *mut sys::wharf_instance,
    id: u64,
}

// SAFETY: instance_timer_cancel may be called from any thread.
unsafe impl Send for InstanceTimer {}
unsafe impl Sync for InstanceTimer {}

impl InstanceTimer {
    /// Stops it; false if it had ended already, or was detached.
    pub fn cancel(&mut self) -> bool {
        let id = std::mem::replace(&mut self.id, 0);
        if id == 0 {
            return false;
        }
        match host_fn!(instance_timer_cancel) {
            // SAFETY: the instance lives as long as its state, which holds this.
            Some(cancel) => unsafe { cancel(self.instance, id) == sys::WHARF_OK },
            None => false,
        }
    }
    /// Lets it run on by itself, until the instance ends.
    pub fn detach(mut self) {
        self.id = 0;
    }
}

impl Drop for InstanceTimer {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// A metric series; add or set from any thread while the instance lives.
#[derive(Clone, Copy, Debug)]
pub struct Metric {
    metric: *mut sys::wharf_metric,
}

// SAFETY: metric_add and metric_set are callable from any thread.
unsafe impl Send for Metric {}
unsafe impl Sync for Metric {}

impl Metric {
    pub fn add(&self, delta: i64) {
        if let Some(add) = host_fn!(metric_add) {
            // SAFETY: the host's series, valid until the instance ends.
            unsafe { add(self.metric, delta) };
        }
    }
    pub fn set(&self, value: i64) {
        if let Some(set) = host_fn!(metric_set) {
            // SAFETY: as above.
            unsafe { set(self.metric, value) };
        }
    }
}

// ---------------------------------------------------------------------------
// Zones
// ---------------------------------------------------------------------------

/// A shared zone (zone_declare): memory of the listener that every worker
/// maps and a reload's new instance gets again. Each process maps it at an
/// address of its own: keep offsets in it, never pointers. A plain handle,
/// valid for the instance's life; THREAD: any. [`Kv`] keeps a key-value
/// table in one, laid out as `wharf_kv.h` lays it out.
#[derive(Clone, Copy, Debug)]
pub struct Zone {
    zone: *mut sys::wharf_zone,
    fresh: bool,
}

// SAFETY: the zone functions are callable from any thread; the lock serialises.
unsafe impl Send for Zone {}
unsafe impl Sync for Zone {}

impl Zone {
    /// # Safety
    /// `zone` must be a zone handle of the host, valid while this is used.
    pub unsafe fn from_raw(zone: *mut sys::wharf_zone, fresh: bool) -> Self {
        Zone { zone, fresh }
    }
    pub fn handle(&self) -> *mut sys::wharf_zone {
        self.zone
    }
    /// Whether the host made it for this declaration (all zero, root 0).
    pub fn fresh(&self) -> bool {
        self.fresh
    }
    /// Takes the zone's lock (across workers), until the guard is dropped.
    /// Not recursive: a thread holding it gets an `Err`, never a deadlock.
    pub fn lock(&self) -> Result<ZoneLock<'_>> {
        let lock = need!(zone_lock)?;
        need!(zone_unlock)?;
        let mut recovered: c_int = 0;
        // SAFETY: the host's zone, valid for the instance's life.
        check(unsafe { lock(self.zone, &mut recovered) }, "zone_lock")?;
        Ok(ZoneLock { zone: self, recovered: recovered != 0, _thread: PhantomData })
    }
}

/// The zone's lock, held; unlocked when dropped (on the thread that took it).
pub struct ZoneLock<'a> {
    zone: &'a Zone,
    recovered: bool,
    _thread: PhantomData<*const ()>, // neither Send nor Sync: unlock where locked
}

impl ZoneLock<'_> {
    /// Its last holder died holding it: what it was changing may be half done.
    pub fn recovered(&self) -> bool {
        self.recovered
    }
    /// `size` bytes, 16-aligned: their offset, or None when the zone is full.
    pub fn alloc(&self, size: usize) -> Option<u64> {
        let alloc = host_fn!(zone_alloc)?;
        // SAFETY: the lock is held.
        let offset = unsafe { alloc(self.zone.zone, size) };
        (offset != 0).then_some(offset)
    }
    /// Frees a block `alloc` gave.
    pub fn free(&self, offset: u64) -> Result<()> {
        let free = need!(zone_free)?;
        // SAFETY: the lock is held.
        check(unsafe { free(self.zone.zone, offset) }, "zone_free")
    }
    /// The address of `offset` in this process (NULL outside the zone's
    /// heap). Dereferencing it is the caller's business (and unsafe).
    pub fn at(&self, offset: u64) -> *mut u8 {
        match host_fn!(zone_at) {
            // SAFETY: the host checks the offset.
            Some(at) => unsafe { at(self.zone.zone, offset) as *mut u8 },
            None => null_mut(),
        }
    }
    /// The zone's root offset (0 in a fresh zone).
    pub fn root(&self) -> u64 {
        // SAFETY: the root lives as long as the zone; the lock is held.
        host_fn!(zone_root).map_or(0, |root| unsafe { *root(self.zone.zone) })
    }
    pub fn set_root(&self, offset: u64) {
        if let Some(root) = host_fn!(zone_root) {
            // SAFETY: as above.
            unsafe { *root(self.zone.zone) = offset };
        }
    }
}

impl Drop for ZoneLock<'_> {
    fn drop(&mut self) {
        if let Some(unlock) = host_fn!(zone_unlock) {
            // SAFETY: this thread holds the lock.
            unsafe { unlock(self.zone.zone) };
        }
    }
}

// ---------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------

/// The host's handle of one session, lent to a hook (or a timer's or a
/// posted call's task) for its run. Neither `Send` nor `Sync`: from another
/// thread, use a [`Waker`].
#[derive(Debug)]
pub struct Session {
    handle: *mut sys::wharf_session,
}

impl Session {
    /// # Safety
    /// `handle` must be a live session handle, used on the session's thread.
    pub unsafe fn from_raw(handle: *mut sys::wharf_session) -> Self {
        Session { handle }
    }
    pub fn handle(&self) -> *mut sys::wharf_session {
        self.handle
    }

    /// Sends `data` (event style: queued whole, never blocks; blocking
    /// style: returns once written; datagram: one datagram). `Ok(false)` if
    /// the peer has gone or the session is closing: not an error.
    pub fn write(&self, data: &[u8]) -> Result<bool> {
        let write = need!(session_write)?;
        // SAFETY: a live handle; `data` is borrowed for the call.
        match unsafe { write(self.handle, data.as_ptr() as *const c_void, data.len()) } {
            sys::WHARF_OK => Ok(true),
            sys::WHARF_CLOSED | sys::WHARF_ENDED => Ok(false),
            status => Err(Error::with_status(
                status,
                format!("session_write refused (status {})", status),
            )),
        }
    }

    /// Blocking style: waits for input; 0 at its end (the peer closed, or
    /// the host ended the session: [`Session::end_reason`] says which).
    pub fn read(&self, buffer: &mut [u8]) -> Result<usize> {
        let read = need!(session_read)?;
        let mut received = 0usize;
        // SAFETY: a live handle; the host writes at most `capacity` bytes.
        let status = unsafe {
            read(self.handle, buffer.as_mut_ptr() as *mut c_void, buffer.len(), &mut received)
        };
        match status {
            sys::WHARF_OK => Ok(received.min(buffer.len())),
            sys::WHARF_ENDED | sys::WHARF_CLOSED => Ok(0),
            status => {
                Err(Error::with_status(status, format!("session_read failed (status {})", status)))
            }
        }
    }

    /// Closes the session once its queued output is sent (on_session_close
    /// follows). Idempotent.
    pub fn close(&self) {
        if let Some(close) = host_fn!(session_close) {
            // SAFETY: a live handle.
            unsafe { close(self.handle) };
        }
    }

    /// The peer's address as text ("203.0.113.7:5000", "[::1]:5000", a path).
    pub fn peer(&self) -> String {
        let peer = match host_fn!(session_peer) {
            Some(peer) => peer,
            None => return String::new(),
        };
        let mut buffer = [0u8; 512];
        let mut len = 0usize;
        // SAFETY: a live handle; the host writes at most `capacity` bytes.
        unsafe {
            if peer(self.handle, buffer.as_mut_ptr() as *mut c_char, buffer.len(), &mut len)
                != sys::WHARF_OK
            {
                return String::new();
            }
        }
        String::from_utf8_lossy(&buffer[..len.min(buffer.len())]).into_owned()
    }

    /// One of the session's addresses as text (1.2); None if it has none such.
    pub fn address_text(&self, which: Address) -> Option<String> {
        let text = host_fn!(session_address_text)?;
        let mut buffer = [0u8; 512];
        let mut len = 0usize;
        // SAFETY: as for peer().
        let status = unsafe {
            text(
                self.handle,
                which.raw(),
                buffer.as_mut_ptr() as *mut c_char,
                buffer.len(),
                &mut len,
            )
        };
        (status == sys::WHARF_OK)
            .then(|| String::from_utf8_lossy(&buffer[..len.min(buffer.len())]).into_owned())
    }

    /// What the session's TLS agreed on (1.4): None if the session is not
    /// over TLS (its listener has `tls = off`), the field has no value, or
    /// the host is older.
    pub fn tls(&self, field: TlsField) -> Option<String> {
        let tls = host_fn!(session_tls)?;
        let mut buffer = vec![0u8; 256];
        loop {
            let mut len = 0usize;
            // SAFETY: a live handle; the host writes at most `capacity` bytes.
            let status = unsafe {
                tls(
                    self.handle,
                    field.raw(),
                    buffer.as_mut_ptr() as *mut c_char,
                    buffer.len(),
                    &mut len,
                )
            };
            if status == sys::WHARF_BUFFER_TOO_SMALL && len > buffer.len() {
                buffer.resize(len, 0);
                continue;
            }
            return (status == sys::WHARF_OK)
                .then(|| String::from_utf8_lossy(&buffer[..len.min(buffer.len())]).into_owned());
        }
    }

    /// One of the session's addresses as a socket address and its length (1.2).
    pub fn address(&self, which: Address) -> Option<(sys::sockaddr_storage, sys::socklen_t)> {
        let address = host_fn!(session_address)?;
        let mut storage = sys::sockaddr_storage::default();
        let mut length: sys::socklen_t = 0;
        // SAFETY: a live handle; the host writes the storage and its length.
        let status = unsafe { address(self.handle, which.raw(), &mut storage, &mut length) };
        (status == sys::WHARF_OK).then_some((storage, length))
    }

    /// Blocking style: the client of a connection the plugin accepted itself
    /// for this session (1.2). `Err` with `WHARF_INVALID`: close `fd`.
    pub fn accepted_client(
        &self,
        fd: std::os::unix::io::RawFd,
    ) -> Result<(sys::sockaddr_storage, sys::socklen_t)> {
        let accepted = need!(session_accepted_client)?;
        let mut storage = sys::sockaddr_storage::default();
        let mut length: sys::socklen_t = 0;
        // SAFETY: as for address().
        check(
            unsafe { accepted(self.handle, fd, &mut storage, &mut length) },
            "session_accepted_client",
        )?;
        Ok((storage, length))
    }

    /// "tcp", "udp", "unix" or "unix-dgram" (1.2).
    pub fn transport(&self) -> Option<&'static str> {
        let transport = host_fn!(session_transport)?;
        // SAFETY: the host's NUL-terminated string, valid while the plugin is loaded.
        unsafe {
            let text = transport(self.handle);
            if text.is_null() {
                return None;
            }
            CStr::from_ptr(text).to_str().ok()
        }
    }

    /// Bytes queued and not yet sent (event style).
    pub fn pending_output(&self) -> usize {
        // SAFETY: a live handle.
        host_fn!(session_pending_output).map_or(0, |pending| unsafe { pending(self.handle) })
    }

    /// Blocking style on a stream: the connection's descriptor (1.1); the
    /// host's: never close it.
    pub fn socket(&self) -> Option<std::os::unix::io::RawFd> {
        // SAFETY: a live handle.
        let fd = host_fn!(session_socket).map_or(-1, |socket| unsafe { socket(self.handle) });
        (fd >= 0).then_some(fd)
    }

    /// Bytes the plugin moved itself for this session (1.3).
    pub fn count_bytes(&self, path: BytesPath, received: u64, sent: u64) -> Result<()> {
        let count = need!(session_count_bytes)?;
        let path = match path {
            BytesPath::SessionSocket => sys::WHARF_BYTES_SESSION_SOCKET,
            BytesPath::OwnConnection => sys::WHARF_BYTES_OWN_CONNECTION,
        };
        // SAFETY: a live handle.
        check(unsafe { count(self.handle, path, received, sent) }, "session_count_bytes")
    }

    /// Why the session is ending (1.2): from [`Plugin::close`], or once a
    /// blocking read or write failed.
    pub fn end_reason(&self) -> EndReason {
        // SAFETY: a live handle.
        EndReason::from_raw(
            host_fn!(session_end_reason)
                .map_or(sys::WHARF_END_NONE, |reason| unsafe { reason(self.handle) }),
        )
    }

    /// Event style on a stream: stop (true) or resume reading (1.2).
    pub fn pause_input(&self, paused: bool) -> Result<()> {
        let pause = need!(session_pause_input)?;
        // SAFETY: a live handle.
        check(unsafe { pause(self.handle, paused as c_int) }, "session_pause_input")
    }

    /// A line in wharfd's log, with the listener's name and the peer.
    pub fn log(&self, level: LogLevel, message: &str) {
        log_session(self.handle, level, message)
    }

    /// Event style on a stream (1.2): runs `task` after `delay`, then every
    /// `repeat` unless that is zero, on the session's thread, never during
    /// one of its hooks, until the returned [`Timer`] is dropped or
    /// cancelled, or the session ends. An `Err` or a panic fails the session.
    pub fn start_timer<F>(&self, delay: Duration, repeat: Duration, mut task: F) -> Result<Timer>
    where
        F: FnMut(&Session) -> Result<()> + Send + 'static,
    {
        self.start_timer_raw(delay, repeat, Box::new(move |_, _, session| task(session)))
    }

    /// As [`Session::start_timer`], and `task` gets the instance and session
    /// state of plugin `P`: `session.start_timer_with::<MyPlugin, _>(…)`.
    pub fn start_timer_with<P, F>(
        &self,
        delay: Duration,
        repeat: Duration,
        mut task: F,
    ) -> Result<Timer>
    where
        P: Plugin,
        F: FnMut(&P::Instance, &mut P::Session, &Session) -> Result<()> + Send + 'static,
    {
        self.start_timer_raw(
            delay,
            repeat,
            Box::new(move |instance, state, session| {
                // SAFETY: the host passes the states P's hooks made; none of
                // the session's hooks runs at the same time.
                let (instance, state) = unsafe { states::<P>(instance, state) }?;
                task(instance, state, session)
            }),
        )
    }

    fn start_timer_raw(
        &self,
        delay: Duration,
        repeat: Duration,
        task: SessionTaskFn,
    ) -> Result<Timer> {
        let start = need!(session_timer_start)?;
        let user = Box::into_raw(Box::new(task));
        let mut id = 0u64;
        // SAFETY: a live handle; `user` is the host's until release runs.
        let status = unsafe {
            start(
                self.handle,
                millis(delay),
                millis(repeat),
                Some(run_session_task),
                Some(release_session_task),
                user as *mut c_void,
                &mut id,
            )
        };
        if status != sys::WHARF_OK {
            // SAFETY: on failure nothing runs, release included: still ours.
            drop_quietly(unsafe { Box::from_raw(user) });
            check(status, "session_timer_start")?;
        }
        Ok(Timer { session: self.handle, id })
    }

    /// A [`Waker`] to post to this session from any thread (event style on
    /// a stream, 1.2); None if the host cannot make one.
    pub fn waker(&self) -> Option<Waker> {
        let make = host_fn!(session_waker)?;
        // SAFETY: a live handle.
        let waker = unsafe { make(self.handle) };
        (!waker.is_null()).then(|| Waker { waker })
    }
}

/// The states behind the host's pointers, for P.
unsafe fn states<'a, P: Plugin>(
    instance: *mut c_void,
    state: *mut c_void,
) -> Result<(&'a P::Instance, &'a mut P::Session)> {
    if instance.is_null() || state.is_null() {
        return Err(Error::new("no session state (a datagram or blocking session?)"));
    }
    // SAFETY: the caller's: P's instance and session states, the session's
    // hooks not running.
    unsafe { Ok((&*(instance as *const P::Instance), &mut *(state as *mut P::Session))) }
}

fn log_session(handle: *mut sys::wharf_session, level: LogLevel, message: &str) {
    if let Some(log) = host_fn!(session_log) {
        // SAFETY: a live handle; the message is borrowed for the call.
        unsafe { log(handle, level.raw(), message.as_ptr() as *const c_char, message.len()) }
    }
}

type SessionTaskFn = Box<dyn FnMut(*mut c_void, *mut c_void, &Session) -> Result<()> + Send>;

unsafe extern "C" fn run_session_task(
    instance: *mut c_void,
    state: *mut c_void,
    handle: *mut sys::wharf_session,
    user: *mut c_void,
) -> sys::wharf_status {
    // SAFETY: `user` is the task start_timer_raw boxed; the host runs it on
    // the session's thread, one call at a time.
    let task = unsafe { &mut *(user as *mut SessionTaskFn) };
    guard(handle, "a session timer", || task(instance, state, &Session { handle }))
}

unsafe extern "C" fn release_session_task(user: *mut c_void) {
    // SAFETY: the host releases a timer's task once.
    drop_quietly(unsafe { Box::from_raw(user as *mut SessionTaskFn) });
}

/// A session timer, cancelled when dropped unless detached. THREAD: the
/// session's: keep it in the session state (dropped with it in
/// [`Plugin::close`] at the latest). It is `Send` only so that the session
/// state can be; cancelling or dropping it on another thread (moved into
/// instance state, say) would race with the session's end, as a [`Session`]
/// handle would: post through a [`Waker`] instead.
#[must_use = "a timer is cancelled when its handle is dropped: keep it, or detach() it"]
#[derive(Debug)]
pub struct Timer {
    session: *mut sys::wharf_session,
    id: u64,
}

// SAFETY: see above: a timer travels with its session's state, whose hooks
// run one at a time; the host's cancel is only called from them.
unsafe impl Send for Timer {}

impl Timer {
    /// Stops it (from its own task too); false if it had ended, or was detached.
    pub fn cancel(&mut self) -> bool {
        let id = std::mem::replace(&mut self.id, 0);
        if id == 0 {
            return false;
        }
        match host_fn!(session_timer_cancel) {
            // SAFETY: kept in the session's state, so the session is live.
            Some(cancel) => unsafe { cancel(self.session, id) == sys::WHARF_OK },
            None => false,
        }
    }
    /// Lets it run on by itself, until it ends or its session does.
    pub fn detach(mut self) {
        self.id = 0;
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.cancel();
    }
}

/// Posts calls to one session from any thread (session_waker); released
/// when dropped, which may be after the session ended.
#[derive(Debug)]
pub struct Waker {
    waker: *mut sys::wharf_waker,
}

// SAFETY: waker_post and waker_release are callable from any thread.
unsafe impl Send for Waker {}
unsafe impl Sync for Waker {}

type PostedFn = Box<dyn FnOnce(*mut c_void, *mut c_void, &Session) -> Result<()> + Send>;

impl Waker {
    /// Runs `task` on the session's thread soon. False if the session has
    /// ended (or 10,000 posts wait): `task` is then dropped unrun, as it is
    /// if the session ends before it runs.
    pub fn post<F>(&self, task: F) -> bool
    where
        F: FnOnce(&Session) -> Result<()> + Send + 'static,
    {
        self.post_raw(Box::new(move |_, _, session| task(session)))
    }

    /// As [`Waker::post`], and `task` gets the states of plugin `P`.
    pub fn post_with<P, F>(&self, task: F) -> bool
    where
        P: Plugin,
        F: FnOnce(&P::Instance, &mut P::Session, &Session) -> Result<()> + Send + 'static,
    {
        self.post_raw(Box::new(move |instance, state, session| {
            // SAFETY: as for Session::start_timer_with.
            let (instance, state) = unsafe { states::<P>(instance, state) }?;
            task(instance, state, session)
        }))
    }

    fn post_raw(&self, task: PostedFn) -> bool {
        let post = match host_fn!(waker_post) {
            Some(post) => post,
            None => return false,
        };
        let user = Box::into_raw(Box::new(task));
        // SAFETY: the waker is ours until dropped; `user` is the host's on success.
        let status =
            unsafe { post(self.waker, Some(run_posted), Some(drop_posted), user as *mut c_void) };
        if status != sys::WHARF_OK {
            // SAFETY: not taken: still ours.
            drop_quietly(unsafe { Box::from_raw(user) });
            return false;
        }
        true
    }
}

unsafe extern "C" fn run_posted(
    instance: *mut c_void,
    state: *mut c_void,
    handle: *mut sys::wharf_session,
    user: *mut c_void,
) -> sys::wharf_status {
    // SAFETY: the task post_raw boxed, run once.
    let task = unsafe { Box::from_raw(user as *mut PostedFn) };
    guard(handle, "a posted call", move || task(instance, state, &Session { handle }))
}

unsafe extern "C" fn drop_posted(user: *mut c_void) {
    // SAFETY: the session ended first: the task is dropped unrun, once.
    drop_quietly(unsafe { Box::from_raw(user as *mut PostedFn) });
}

impl Drop for Waker {
    fn drop(&mut self) {
        if let Some(release) = host_fn!(waker_release) {
            // SAFETY: released once, from any thread.
            unsafe { release(self.waker) };
        }
    }
}

// ---------------------------------------------------------------------------
// The plugin
// ---------------------------------------------------------------------------

/// A Wharf plugin: its instance state (one per listener, made by
/// `new_instance`, dropped by on_instance_destroy) and session state (one
/// per stream session, made by `open`, handed to `close` and dropped) are
/// associated types. Which hooks the host gets follows the capabilities
/// given to [`export_plugin!`]: `CAP_EVENT | CAP_STREAM` needs `open` and
/// `data`; `CAP_EVENT | CAP_DATAGRAM` needs `datagram`; `CAP_BLOCKING` needs
/// `serve`. A hook left at its default fails with `WHARF_UNSUPPORTED`.
pub trait Plugin: Sized + 'static {
    type Instance: Send + Sync + 'static;
    type Session: Send + 'static;

    /// Whether the host should call [`Plugin::writable`] after each hook
    /// that wrote (for long replies written in parts).
    const WRITABLE: bool = false;

    /// Whether the host gets [`Plugin::export`] and [`Plugin::import`]: live
    /// session migration (1.5; an event-style stream on a reactor listener
    /// with `migrate = on`). Without it a reload leaves each session on the
    /// code it started with, as before. Blocking-style sessions
    /// ([`Plugin::serve`]) do not move with this crate: it does not offer
    /// 1.6's `session_hand_over` and `resume` (`wharf.hpp` does).
    const MIGRATE: bool = false;

    /// After the handshake, before any instance (the host's main thread).
    fn load(_host: &Host) -> Result<()> {
        Ok(())
    }
    /// Before the library is unloaded: join every thread the plugin started.
    fn unload() {}

    /// A listener that names the plugin is being set up: read and check its
    /// options, declare metrics and zones. An `Err` refuses the listener.
    fn new_instance(instance: &Instance) -> Result<Self::Instance>;

    /// A stream connection was accepted (event style). An `Err` closes it at once.
    fn open(_instance: &Self::Instance, _session: &Session) -> Result<Self::Session> {
        Err(Error::unsupported("open"))
    }
    /// Bytes arrived (event style). An `Err` closes the session.
    fn data(
        _instance: &Self::Instance,
        _state: &mut Self::Session,
        _session: &Session,
        _data: &[u8],
    ) -> Result<()> {
        Err(Error::unsupported("data"))
    }
    /// Everything written has been sent (only if `WRITABLE`).
    fn writable(
        _instance: &Self::Instance,
        _state: &mut Self::Session,
        _session: &Session,
    ) -> Result<()> {
        Ok(())
    }
    /// The session ends; the state is dropped after. Not called for a
    /// session that migrated: it did not end (its old state is only dropped).
    fn close(_instance: &Self::Instance, _state: Self::Session, _session: &Session) {}

    /// Live migration (1.5, with [`Plugin::MIGRATE`]): the bytes newer code
    /// needs to go on with this quiescent session (never pointers; put a
    /// format number in them). An `Err` or a panic refuses the move (the
    /// session stays on this code; a message is logged, an empty one not).
    /// It sees the state, not changes it: the new code may yet refuse it.
    /// May be called twice for one move (a state over 4 KiB: the host asks
    /// again with room): give the same bytes. THREAD: the session's, never
    /// during one of its hooks.
    fn export(
        _instance: &Self::Instance,
        _state: &Self::Session,
        _session: &Session,
    ) -> Result<Vec<u8>> {
        Err(Error::unsupported("export"))
    }
    /// Live migration (1.5, with [`Plugin::MIGRATE`]), in the new
    /// generation's instance: the session's state rebuilt from what `export`
    /// of the plugin whose version is `from_version` wrote. An `Err` or a
    /// panic refuses it: the session stays on its old code, untouched (write
    /// nothing before you decide). Once it succeeds, the old code's state is
    /// dropped without [`Plugin::close`]. THREAD: the session's, as for
    /// [`Plugin::open`].
    fn import(
        _instance: &Self::Instance,
        _session: &Session,
        _from_version: &str,
        _data: &[u8],
    ) -> Result<Self::Session> {
        Err(Error::unsupported("import"))
    }
    /// A datagram arrived (event style, datagram listeners); reply with write.
    fn datagram(_instance: &Self::Instance, _session: &Session, _data: &[u8]) -> Result<()> {
        Err(Error::unsupported("datagram"))
    }
    /// Blocking style: serve one session to its end with read and write.
    fn serve(_instance: &Self::Instance, _session: &Session) -> Result<()> {
        Err(Error::unsupported("serve"))
    }
}

/// Where a panic happened: the file (its first bytes) and the line. Plain
/// bytes, so that the thread-local holding it needs no destructor: one would
/// pin the plugin's code in memory (glibc keeps a library with thread-local
/// destructors mapped until every thread that ran them exits).
#[derive(Clone, Copy)]
struct PanicLocation {
    file: [u8; 96],
    file_len: usize,
    line: u32,
}

thread_local! {
    /// Where this thread's last panic happened, for the log line.
    static PANIC_LOCATION: std::cell::Cell<Option<PanicLocation>> =
        const { std::cell::Cell::new(None) };
}

/// The plugin's own panic hook (its copy of std is its own: the hook is the
/// plugin's, not the process's). The default one would print a message, and
/// a backtrace, on wharfd's stderr; this one keeps where the panic happened
/// for the line the caught panic is logged as, with the listener and peer.
/// A plugin that wants another sets it in [`Plugin::load`]. on_plugin_unload
/// removes it (it is memory of the plugin's, which would leak otherwise).
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let location = info.location().map(|location| {
                let mut file = [0u8; 96];
                let name = location.file().as_bytes();
                let file_len = name.len().min(file.len());
                file[..file_len].copy_from_slice(&name[..file_len]);
                PanicLocation { file, file_len, line: location.line() }
            });
            let _ = PANIC_LOCATION.try_with(|last| last.set(location));
        }))
    });
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    let text = if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_string()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "a panic".to_string()
    };
    match PANIC_LOCATION.try_with(|last| last.take()).ok().flatten() {
        Some(at) => {
            format!(
                "{} (at {}:{})",
                text,
                String::from_utf8_lossy(&at.file[..at.file_len]),
                at.line
            )
        }
        None => text,
    }
}

/// The status of a hook's outcome; `report` logs a failure: what to log
/// ("plugin error: …", "plugin panicked: …"), and the bare reason (for the
/// error buffer of load and new_instance, which the host prefixes itself).
fn status_of(
    outcome: std::thread::Result<Result<()>>,
    report: impl FnOnce(&str, &str),
) -> sys::wharf_status {
    match outcome {
        Ok(Ok(())) => sys::WHARF_OK,
        Ok(Err(error)) => {
            if !error.message.is_empty() {
                report(&format!("plugin error: {}", error.message), &error.message);
            }
            if error.status < 0 {
                error.status
            } else {
                sys::WHARF_ERROR
            }
        }
        Err(payload) => {
            let message = panic_message(&*payload);
            drop_quietly(payload);
            report(&format!("plugin panicked: {}", message), &format!("panicked: {}", message));
            sys::WHARF_ERROR
        }
    }
}

/// Runs a session's hook (or task) under catch_unwind; a failure is logged
/// on the session and becomes its status.
fn guard(
    handle: *mut sys::wharf_session,
    what: &str,
    body: impl FnOnce() -> Result<()>,
) -> sys::wharf_status {
    status_of(catch_unwind(AssertUnwindSafe(body)), |message, _| {
        log_session(handle, LogLevel::Error, &format!("{} in {}", message, what))
    })
}

fn copy_error(message: &str, error: *mut c_char, size: usize) {
    if error.is_null() || size == 0 {
        return;
    }
    let bytes = message.as_bytes();
    let len = bytes.len().min(size - 1);
    // SAFETY: the host's buffer of `size` bytes.
    unsafe {
        ptr::copy_nonoverlapping(bytes.as_ptr(), error as *mut u8, len);
        *error.add(len) = 0;
    }
}

/// The hooks [`export_plugin!`] hands the host. Not an API.
#[doc(hidden)]
pub mod __thunks {
    use super::*;

    pub unsafe extern "C" fn plugin_load<P: Plugin>(
        host: *const sys::wharf_host,
        error: *mut c_char,
        size: usize,
    ) -> sys::wharf_status {
        let outcome = catch_unwind(|| P::load(&Host { raw: host }));
        status_of(outcome, |_, reason| copy_error(reason, error, size))
    }

    pub unsafe extern "C" fn plugin_unload<P: Plugin>() {
        let _ = catch_unwind(|| P::unload()); // nothing to log through: the library goes
                                              // The default hook again, and ours (a box of the plugin's) freed.
        drop_quietly(std::panic::take_hook());
    }

    pub unsafe extern "C" fn instance_new<P: Plugin>(
        handle: *mut sys::wharf_instance,
        state: *mut *mut c_void,
        error: *mut c_char,
        size: usize,
    ) -> sys::wharf_status {
        let outcome = catch_unwind(|| P::new_instance(&Instance { handle }));
        let made = match outcome {
            Ok(Ok(made)) => made,
            Ok(Err(failure)) => {
                return status_of(Ok(Err(failure)), |_, reason| copy_error(reason, error, size))
            }
            Err(payload) => {
                return status_of(Err(payload), |_, reason| copy_error(reason, error, size))
            }
        };
        // SAFETY: the host's out-parameter.
        unsafe { *state = Box::into_raw(Box::new(made)) as *mut c_void };
        sys::WHARF_OK
    }

    pub unsafe extern "C" fn instance_destroy<P: Plugin>(state: *mut c_void) {
        if !state.is_null() {
            // SAFETY: made by instance_new, destroyed once.
            drop_quietly(unsafe { Box::from_raw(state as *mut P::Instance) });
        }
    }

    /// Hands a session state the plugin made (if it did) to the host.
    unsafe fn hand_over<T>(made: Option<T>, state: *mut *mut c_void) {
        if let Some(made) = made {
            // SAFETY: the caller's: the host's out-parameter.
            unsafe { *state = Box::into_raw(Box::new(made)) as *mut c_void };
        }
    }

    pub unsafe extern "C" fn session_open<P: Plugin>(
        instance: *mut c_void,
        handle: *mut sys::wharf_session,
        state: *mut *mut c_void,
    ) -> sys::wharf_status {
        let mut made = None;
        let status = guard(handle, "open", || {
            // SAFETY: the state instance_new made, alive for the session.
            let instance = unsafe { &*(instance as *const P::Instance) };
            made = Some(P::open(instance, &Session { handle })?);
            Ok(())
        });
        // SAFETY: the host's out-parameter.
        unsafe { hand_over(made, state) };
        status
    }

    pub unsafe extern "C" fn session_data<P: Plugin>(
        instance: *mut c_void,
        state: *mut c_void,
        handle: *mut sys::wharf_session,
        data: *const u8,
        len: usize,
    ) -> sys::wharf_status {
        guard(handle, "data", || {
            // SAFETY: the states this plugin's hooks made; one hook of a
            // session runs at a time; `data` is borrowed for the call.
            let (instance, state) = unsafe { states::<P>(instance, state) }?;
            let data =
                if len == 0 { &[][..] } else { unsafe { std::slice::from_raw_parts(data, len) } };
            P::data(instance, state, &Session { handle }, data)
        })
    }

    pub unsafe extern "C" fn session_writable<P: Plugin>(
        instance: *mut c_void,
        state: *mut c_void,
        handle: *mut sys::wharf_session,
    ) -> sys::wharf_status {
        guard(handle, "writable", || {
            // SAFETY: as for session_data.
            let (instance, state) = unsafe { states::<P>(instance, state) }?;
            P::writable(instance, state, &Session { handle })
        })
    }

    pub unsafe extern "C" fn session_close<P: Plugin>(
        instance: *mut c_void,
        state: *mut c_void,
        handle: *mut sys::wharf_session,
    ) {
        if state.is_null() {
            return;
        }
        // SAFETY: made by session_open (or session_import), closed once.
        let state = unsafe { Box::from_raw(state as *mut P::Session) };
        // Migrated: the session goes on in newer code; only this state goes.
        if (Session { handle }).end_reason() == EndReason::Migrated {
            drop_quietly(state);
            return;
        }
        guard(handle, "close", || {
            // SAFETY: the instance outlives its sessions.
            let instance = unsafe { &*(instance as *const P::Instance) };
            P::close(instance, *state, &Session { handle });
            Ok(())
        });
    }

    pub unsafe extern "C" fn session_export<P: Plugin>(
        instance: *mut c_void,
        state: *mut c_void,
        handle: *mut sys::wharf_session,
        buffer: *mut u8,
        capacity: usize,
        len: *mut usize,
    ) -> sys::wharf_status {
        guard(handle, "export", || {
            // SAFETY: as for session_data.
            let (instance, state) = unsafe { states::<P>(instance, state) }?;
            let exported = P::export(instance, state, &Session { handle })?;
            // SAFETY: the host's out-parameter.
            unsafe { *len = exported.len() };
            if exported.len() > capacity {
                // Not a failure: the host asks again with that much room.
                return Err(Error::with_status(sys::WHARF_BUFFER_TOO_SMALL, ""));
            }
            // SAFETY: the host's buffer of `capacity` bytes.
            unsafe { ptr::copy_nonoverlapping(exported.as_ptr(), buffer, exported.len()) };
            Ok(())
        })
    }

    pub unsafe extern "C" fn session_import<P: Plugin>(
        instance: *mut c_void,
        handle: *mut sys::wharf_session,
        from_version: *const c_char,
        data: *const u8,
        len: usize,
        state: *mut *mut c_void,
    ) -> sys::wharf_status {
        let mut made = None;
        let status = guard(handle, "import", || {
            // SAFETY: the state instance_new made; the host's version
            // string and `data` are borrowed for the call.
            let instance = unsafe { &*(instance as *const P::Instance) };
            let from_version = unsafe { string_at(from_version) };
            let data =
                if len == 0 { &[][..] } else { unsafe { std::slice::from_raw_parts(data, len) } };
            made = Some(P::import(instance, &Session { handle }, &from_version, data)?);
            Ok(())
        });
        // SAFETY: the host's out-parameter.
        unsafe { hand_over(made, state) };
        status
    }

    pub unsafe extern "C" fn datagram<P: Plugin>(
        instance: *mut c_void,
        handle: *mut sys::wharf_session,
        data: *const u8,
        len: usize,
    ) -> sys::wharf_status {
        guard(handle, "datagram", || {
            // SAFETY: as for session_data.
            let instance = unsafe { &*(instance as *const P::Instance) };
            let data =
                if len == 0 { &[][..] } else { unsafe { std::slice::from_raw_parts(data, len) } };
            P::datagram(instance, &Session { handle }, data)
        })
    }

    pub unsafe extern "C" fn serve<P: Plugin>(
        instance: *mut c_void,
        handle: *mut sys::wharf_session,
    ) -> sys::wharf_status {
        guard(handle, "serve", || {
            // SAFETY: as for session_data.
            let instance = unsafe { &*(instance as *const P::Instance) };
            P::serve(instance, &Session { handle })
        })
    }
}

/// The descriptor [`export_plugin!`] makes. Not an API: `name`, `version`
/// and `description` must be NUL-terminated (the macro appends the NUL).
#[doc(hidden)]
pub const fn __descriptor<P: Plugin>(
    name: &'static str,
    version: &'static str,
    description: &'static str,
    capabilities: u32,
) -> sys::wharf_plugin {
    use __thunks as t;
    let event = capabilities & sys::WHARF_CAP_EVENT != 0;
    let stream = event && capabilities & sys::WHARF_CAP_STREAM != 0;
    let datagram = event && capabilities & sys::WHARF_CAP_DATAGRAM != 0;
    let blocking = capabilities & sys::WHARF_CAP_BLOCKING != 0;
    type Open = unsafe extern "C" fn(
        *mut c_void,
        *mut sys::wharf_session,
        *mut *mut c_void,
    ) -> sys::wharf_status;
    type Data = unsafe extern "C" fn(
        *mut c_void,
        *mut c_void,
        *mut sys::wharf_session,
        *const u8,
        usize,
    ) -> sys::wharf_status;
    type Writable = unsafe extern "C" fn(
        *mut c_void,
        *mut c_void,
        *mut sys::wharf_session,
    ) -> sys::wharf_status;
    type Close = unsafe extern "C" fn(*mut c_void, *mut c_void, *mut sys::wharf_session);
    type Datagram = unsafe extern "C" fn(
        *mut c_void,
        *mut sys::wharf_session,
        *const u8,
        usize,
    ) -> sys::wharf_status;
    type Serve = unsafe extern "C" fn(*mut c_void, *mut sys::wharf_session) -> sys::wharf_status;
    type Export = unsafe extern "C" fn(
        *mut c_void,
        *mut c_void,
        *mut sys::wharf_session,
        *mut u8,
        usize,
        *mut usize,
    ) -> sys::wharf_status;
    type Import = unsafe extern "C" fn(
        *mut c_void,
        *mut sys::wharf_session,
        *const c_char,
        *const u8,
        usize,
        *mut *mut c_void,
    ) -> sys::wharf_status;
    let migrate = stream && P::MIGRATE;
    sys::wharf_plugin {
        header: sys::wharf_abi_header::init::<sys::wharf_plugin>(sys::WHARF_PLUGIN_MAGIC),
        name: name.as_ptr() as *const c_char,
        version: version.as_ptr() as *const c_char,
        description: description.as_ptr() as *const c_char,
        capabilities,
        reserved: 0,
        on_plugin_load: Some(t::plugin_load::<P>),
        on_plugin_unload: Some(t::plugin_unload::<P>),
        on_instance_new: Some(t::instance_new::<P>),
        on_instance_destroy: Some(t::instance_destroy::<P>),
        on_session_open: if stream { Some(t::session_open::<P> as Open) } else { None },
        on_session_data: if stream { Some(t::session_data::<P> as Data) } else { None },
        on_session_writable: if stream && P::WRITABLE {
            Some(t::session_writable::<P> as Writable)
        } else {
            None
        },
        on_session_close: if stream { Some(t::session_close::<P> as Close) } else { None },
        on_datagram: if datagram { Some(t::datagram::<P> as Datagram) } else { None },
        serve: if blocking { Some(t::serve::<P> as Serve) } else { None },
        session_export: if migrate { Some(t::session_export::<P> as Export) } else { None },
        session_import: if migrate { Some(t::session_import::<P> as Import) } else { None },
        resume: None,
    }
}

/// What `wharf_plugin_entry` does. Not an API.
#[doc(hidden)]
pub unsafe fn __entry(
    host: *const sys::wharf_host,
    plugin: &'static sys::wharf_plugin,
) -> *const sys::wharf_plugin {
    if host.is_null() {
        return null();
    }
    // SAFETY: the host's struct, valid until on_plugin_unload.
    let (header, api) = unsafe { ((*host).header, (*host).api) };
    if header.magic != sys::WHARF_HOST_MAGIC
        || header.abi_major != sys::WHARF_ABI_MAJOR
        || api.is_null()
    {
        return null();
    }
    install_panic_hook();
    HOST.store(host as *mut sys::wharf_host, Ordering::Release);
    API.store(api as *mut sys::wharf_host_api, Ordering::Release);
    plugin
}

/// Exports plugin type `$plugin` (a [`Plugin`]) as this library's
/// `wharf_plugin_entry`, once per cdylib:
///
/// ```ignore
/// wharf_sdk::export_plugin!(Rot13, name: "rot13", version: "1.0.0",
///     description: "rot13, in Rust",
///     capabilities: wharf_sdk::CAP_EVENT | wharf_sdk::CAP_STREAM | wharf_sdk::CAP_CONCURRENT);
/// ```
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty, name: $name:literal, version: $version:literal, description: $description:literal,
     capabilities: $capabilities:expr $(,)?) => {
        const _: () = {
            static WHARF_PLUGIN: $crate::sys::wharf_plugin = $crate::__descriptor::<$plugin>(
                concat!($name, "\0"),
                concat!($version, "\0"),
                concat!($description, "\0"),
                $capabilities,
            );
            /// The one symbol a Wharf plugin exports.
            #[no_mangle]
            pub unsafe extern "C" fn wharf_plugin_entry(
                host: *const $crate::sys::wharf_host,
            ) -> *const $crate::sys::wharf_plugin {
                // SAFETY: the host calls the entry with its own struct.
                unsafe { $crate::__entry(host, &WHARF_PLUGIN) }
            }
        };
    };
}
