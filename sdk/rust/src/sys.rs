//! The C ABI of `wharf.h` (and the zone layout of `wharf_kv.h`), as Rust
//! types: every `#[repr(C)]` struct, constant and function-pointer type of the
//! header, typed, in the header's order. Nothing here is checked by hand: the
//! crate's test `layout` compares every size, offset and constant below with
//! what the SDK's layout checker (`checker/wharf_layout.c`, compiled against
//! the installed `wharf.h`) prints.
//!
//! Use these for what the safe layer does not wrap; [`crate::api`] gives the
//! host's table.
#![allow(non_camel_case_types)]

use std::os::raw::{c_char, c_int, c_void};

// --- versions and identity ------------------------------------------------

pub const WHARF_ABI_MAJOR: u16 = 1;
pub const WHARF_ABI_MINOR: u16 = 6;
pub const WHARF_SDK_VERSION: &str = "1.6.0";
pub const WHARF_HOST_MAGIC: u32 = 0x5748_4f53; // "WHOS"
pub const WHARF_PLUGIN_MAGIC: u32 = 0x5750_4c47; // "WPLG"
pub const WHARF_PLUGIN_ENTRY_SYMBOL: &str = "wharf_plugin_entry";

// --- opaque host handles ----------------------------------------------------

/// A listener's plugin instance (opaque).
#[repr(C)]
pub struct wharf_instance {
    _private: [u8; 0],
}
/// A connection or a datagram exchange (opaque).
#[repr(C)]
pub struct wharf_session {
    _private: [u8; 0],
}
/// One metric series (opaque).
#[repr(C)]
pub struct wharf_metric {
    _private: [u8; 0],
}
/// A shared zone (opaque).
#[repr(C)]
pub struct wharf_zone {
    _private: [u8; 0],
}
/// A waker: posts to a session from any thread (opaque).
#[repr(C)]
pub struct wharf_waker {
    _private: [u8; 0],
}

// --- enums: C enums are ints; their values are the header's ----------------

pub type wharf_status = c_int;
pub const WHARF_OK: wharf_status = 0;
pub const WHARF_ERROR: wharf_status = -1;
pub const WHARF_CLOSED: wharf_status = -2;
pub const WHARF_UNSUPPORTED: wharf_status = -3;
pub const WHARF_INVALID: wharf_status = -4;
pub const WHARF_NOT_FOUND: wharf_status = -5;
pub const WHARF_BUFFER_TOO_SMALL: wharf_status = -6;
pub const WHARF_ENDED: wharf_status = -7;

pub type wharf_end_reason = c_int;
pub const WHARF_END_NONE: wharf_end_reason = 0;
pub const WHARF_END_PEER: wharf_end_reason = 1;
pub const WHARF_END_PLUGIN: wharf_end_reason = 2;
pub const WHARF_END_IDLE: wharf_end_reason = 3;
pub const WHARF_END_DRAIN: wharf_end_reason = 4;
pub const WHARF_END_SHUTDOWN: wharf_end_reason = 5;
pub const WHARF_END_ERROR: wharf_end_reason = 6;
pub const WHARF_END_MIGRATED: wharf_end_reason = 7;

pub type wharf_log_level = c_int;
pub const WHARF_LOG_ERROR: wharf_log_level = 3;
pub const WHARF_LOG_WARNING: wharf_log_level = 4;
pub const WHARF_LOG_NOTICE: wharf_log_level = 5;
pub const WHARF_LOG_INFO: wharf_log_level = 6;
pub const WHARF_LOG_DEBUG: wharf_log_level = 7;

pub type wharf_socket_kind = c_int;
pub const WHARF_SOCKET_STREAM: wharf_socket_kind = 1;
pub const WHARF_SOCKET_DATAGRAM: wharf_socket_kind = 2;

pub type wharf_address = c_int;
pub const WHARF_ADDRESS_PEER: wharf_address = 1;
pub const WHARF_ADDRESS_LOCAL: wharf_address = 2;
pub const WHARF_ADDRESS_BALANCER: wharf_address = 3;

pub type wharf_bytes_path = c_int;
pub const WHARF_BYTES_SESSION_SOCKET: wharf_bytes_path = 1;
pub const WHARF_BYTES_OWN_CONNECTION: wharf_bytes_path = 2;

pub type wharf_tls_field = c_int;
pub const WHARF_TLS_PROTOCOL: wharf_tls_field = 1;
pub const WHARF_TLS_CIPHER: wharf_tls_field = 2;
pub const WHARF_TLS_SERVER_NAME: wharf_tls_field = 3;
pub const WHARF_TLS_ALPN: wharf_tls_field = 4;
pub const WHARF_TLS_CLIENT_SUBJECT: wharf_tls_field = 5;

pub type wharf_metric_kind = c_int;
pub const WHARF_METRIC_COUNTER: wharf_metric_kind = 1;
pub const WHARF_METRIC_GAUGE: wharf_metric_kind = 2;

// --- capabilities -----------------------------------------------------------

pub const WHARF_CAP_EVENT: u32 = 1 << 0;
pub const WHARF_CAP_BLOCKING: u32 = 1 << 1;
pub const WHARF_CAP_STREAM: u32 = 1 << 2;
pub const WHARF_CAP_DATAGRAM: u32 = 1 << 3;
pub const WHARF_CAP_CONCURRENT: u32 = 1 << 4;
pub const WHARF_CAP_FORK_SAFE: u32 = 1 << 5;
pub const WHARF_CAP_NEVER_UNLOAD: u32 = 1 << 6;
pub const WHARF_CAP_CLIENT_FIRST: u32 = 1 << 7;
pub const WHARF_CAP_OWN_SOCKET: u32 = 1 << 8;

// --- C types of the platform the header uses --------------------------------

/// `socklen_t` (glibc, musl: an unsigned 32-bit integer).
pub type socklen_t = u32;

/// `off_t` as the header's users compile it: Debian builds with 64-bit file
/// offsets everywhere that matters; the checker says what the C side has.
#[cfg(target_pointer_width = "64")]
pub type off_t = i64;
#[cfg(not(target_pointer_width = "64"))]
pub type off_t = i32;

/// `struct sockaddr_storage` (128 bytes, aligned as `unsigned long`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct sockaddr_storage {
    pub ss_family: u16,
    pub __ss_padding: [u8; 128 - 2 - std::mem::size_of::<std::os::raw::c_ulong>()],
    pub __ss_align: std::os::raw::c_ulong,
}

impl Default for sockaddr_storage {
    fn default() -> Self {
        // SAFETY: all zero is a valid (empty, AF_UNSPEC) address.
        unsafe { std::mem::zeroed() }
    }
}

// --- the ABI header -----------------------------------------------------------

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct wharf_abi_header {
    pub magic: u32,
    pub abi_major: u16,
    pub abi_minor: u16,
    pub struct_size: u32,
    pub pointer_size: u8,
    pub size_t_size: u8,
    pub off_t_size: u8,
    pub reserved: u8,
}

impl wharf_abi_header {
    /// `WHARF_ABI_HEADER_INIT(magic, T)`.
    pub const fn init<T>(magic: u32) -> Self {
        wharf_abi_header {
            magic,
            abi_major: WHARF_ABI_MAJOR,
            abi_minor: WHARF_ABI_MINOR,
            struct_size: std::mem::size_of::<T>() as u32,
            pointer_size: std::mem::size_of::<*const c_void>() as u8,
            size_t_size: std::mem::size_of::<usize>() as u8,
            off_t_size: std::mem::size_of::<off_t>() as u8,
            reserved: 0,
        }
    }
}

// --- callbacks the host calls ---------------------------------------------------

pub type wharf_session_callback = Option<
    unsafe extern "C" fn(
        instance_state: *mut c_void,
        session_state: *mut c_void,
        session: *mut wharf_session,
        user: *mut c_void,
    ) -> wharf_status,
>;
pub type wharf_dropped_callback = Option<unsafe extern "C" fn(user: *mut c_void)>;
pub type wharf_instance_callback =
    Option<unsafe extern "C" fn(instance_state: *mut c_void, user: *mut c_void) -> wharf_status>;

// --- the host's function table ------------------------------------------------

/// `wharf_host_api`. Append-only: check with [`crate::host_has!`] before
/// calling a function newer than 1.0 (the safe layer does).
#[repr(C)]
pub struct wharf_host_api {
    pub struct_size: u32,
    pub reserved: u32,

    pub alloc: Option<unsafe extern "C" fn(size: usize) -> *mut c_void>,
    pub free: Option<unsafe extern "C" fn(ptr: *mut c_void)>,

    pub log: Option<
        unsafe extern "C" fn(
            instance: *const wharf_instance,
            level: wharf_log_level,
            message: *const c_char,
            message_len: usize,
        ),
    >,
    pub session_log: Option<
        unsafe extern "C" fn(
            session: *const wharf_session,
            level: wharf_log_level,
            message: *const c_char,
            message_len: usize,
        ),
    >,

    pub option_get: Option<
        unsafe extern "C" fn(
            instance: *const wharf_instance,
            key: *const c_char,
            key_len: usize,
            value: *mut *const c_char,
            value_len: *mut usize,
        ) -> wharf_status,
    >,
    pub option_count: Option<unsafe extern "C" fn(instance: *const wharf_instance) -> usize>,
    pub option_at: Option<
        unsafe extern "C" fn(
            instance: *const wharf_instance,
            index: usize,
            key: *mut *const c_char,
            key_len: *mut usize,
            value: *mut *const c_char,
            value_len: *mut usize,
        ) -> wharf_status,
    >,

    pub instance_name: Option<
        unsafe extern "C" fn(
            instance: *const wharf_instance,
            name: *mut *const c_char,
            name_len: *mut usize,
        ) -> wharf_status,
    >,
    pub instance_socket_kind:
        Option<unsafe extern "C" fn(instance: *const wharf_instance) -> wharf_socket_kind>,

    pub session_write: Option<
        unsafe extern "C" fn(
            session: *mut wharf_session,
            data: *const c_void,
            len: usize,
        ) -> wharf_status,
    >,
    pub session_read: Option<
        unsafe extern "C" fn(
            session: *mut wharf_session,
            buffer: *mut c_void,
            capacity: usize,
            received: *mut usize,
        ) -> wharf_status,
    >,
    pub session_close: Option<unsafe extern "C" fn(session: *mut wharf_session) -> wharf_status>,
    pub session_peer: Option<
        unsafe extern "C" fn(
            session: *const wharf_session,
            buffer: *mut c_char,
            capacity: usize,
            len: *mut usize,
        ) -> wharf_status,
    >,
    pub session_pending_output:
        Option<unsafe extern "C" fn(session: *const wharf_session) -> usize>,

    // --- 1.1
    pub session_socket: Option<unsafe extern "C" fn(session: *const wharf_session) -> c_int>,

    // --- 1.2
    pub session_address: Option<
        unsafe extern "C" fn(
            session: *const wharf_session,
            which: wharf_address,
            address: *mut sockaddr_storage,
            length: *mut socklen_t,
        ) -> wharf_status,
    >,
    pub session_accepted_client: Option<
        unsafe extern "C" fn(
            session: *const wharf_session,
            fd: c_int,
            client: *mut sockaddr_storage,
            length: *mut socklen_t,
        ) -> wharf_status,
    >,
    pub session_timer_start: Option<
        unsafe extern "C" fn(
            session: *mut wharf_session,
            delay_ms: u64,
            repeat_ms: u64,
            callback: wharf_session_callback,
            release: wharf_dropped_callback,
            user: *mut c_void,
            timer_id: *mut u64,
        ) -> wharf_status,
    >,
    pub session_timer_cancel:
        Option<unsafe extern "C" fn(session: *mut wharf_session, timer_id: u64) -> wharf_status>,
    pub session_pause_input:
        Option<unsafe extern "C" fn(session: *mut wharf_session, paused: c_int) -> wharf_status>,
    pub session_waker:
        Option<unsafe extern "C" fn(session: *mut wharf_session) -> *mut wharf_waker>,
    pub waker_post: Option<
        unsafe extern "C" fn(
            waker: *mut wharf_waker,
            callback: wharf_session_callback,
            dropped: wharf_dropped_callback,
            user: *mut c_void,
        ) -> wharf_status,
    >,
    pub waker_release: Option<unsafe extern "C" fn(waker: *mut wharf_waker)>,
    pub session_end_reason:
        Option<unsafe extern "C" fn(session: *const wharf_session) -> wharf_end_reason>,
    pub metric_declare: Option<
        unsafe extern "C" fn(
            instance: *mut wharf_instance,
            kind: wharf_metric_kind,
            name: *const c_char,
            help: *const c_char,
            labels: *const c_char,
        ) -> *mut wharf_metric,
    >,
    pub metric_add:
        Option<unsafe extern "C" fn(metric: *mut wharf_metric, delta: i64) -> wharf_status>,
    pub metric_set:
        Option<unsafe extern "C" fn(metric: *mut wharf_metric, value: i64) -> wharf_status>,
    pub instance_timer_start: Option<
        unsafe extern "C" fn(
            instance: *mut wharf_instance,
            delay_ms: u64,
            repeat_ms: u64,
            callback: wharf_instance_callback,
            release: wharf_dropped_callback,
            user: *mut c_void,
            timer_id: *mut u64,
        ) -> wharf_status,
    >,
    pub instance_timer_cancel:
        Option<unsafe extern "C" fn(instance: *mut wharf_instance, timer_id: u64) -> wharf_status>,
    pub session_address_text: Option<
        unsafe extern "C" fn(
            session: *const wharf_session,
            which: wharf_address,
            buffer: *mut c_char,
            capacity: usize,
            len: *mut usize,
        ) -> wharf_status,
    >,
    pub session_transport:
        Option<unsafe extern "C" fn(session: *const wharf_session) -> *const c_char>,
    pub zone_declare: Option<
        unsafe extern "C" fn(
            instance: *mut wharf_instance,
            name: *const c_char,
            size: usize,
            layout: u32,
            fresh: *mut c_int,
        ) -> *mut wharf_zone,
    >,
    pub zone_lock:
        Option<unsafe extern "C" fn(zone: *mut wharf_zone, recovered: *mut c_int) -> wharf_status>,
    pub zone_unlock: Option<unsafe extern "C" fn(zone: *mut wharf_zone) -> wharf_status>,
    pub zone_alloc: Option<unsafe extern "C" fn(zone: *mut wharf_zone, size: usize) -> u64>,
    pub zone_free: Option<unsafe extern "C" fn(zone: *mut wharf_zone, offset: u64) -> wharf_status>,
    pub zone_at: Option<unsafe extern "C" fn(zone: *mut wharf_zone, offset: u64) -> *mut c_void>,
    pub zone_root: Option<unsafe extern "C" fn(zone: *mut wharf_zone) -> *mut u64>,

    // --- 1.3
    pub session_count_bytes: Option<
        unsafe extern "C" fn(
            session: *mut wharf_session,
            path: wharf_bytes_path,
            received: u64,
            sent: u64,
        ) -> wharf_status,
    >,

    // --- 1.4
    pub session_tls: Option<
        unsafe extern "C" fn(
            session: *const wharf_session,
            field: wharf_tls_field,
            buffer: *mut c_char,
            capacity: usize,
            len: *mut usize,
        ) -> wharf_status,
    >,

    // --- 1.6: live migration of blocking-style sessions
    pub session_handover_fd: Option<unsafe extern "C" fn(session: *const wharf_session) -> c_int>,
    pub session_hand_over: Option<
        unsafe extern "C" fn(
            session: *mut wharf_session,
            state: *const u8,
            len: usize,
        ) -> wharf_status,
    >,
}

/// What the host hands to `wharf_plugin_entry`.
#[repr(C)]
pub struct wharf_host {
    pub header: wharf_abi_header,
    pub host_version: *const c_char,
    pub api: *const wharf_host_api,
}

// --- hooks the plugin implements ------------------------------------------------

/// The plugin descriptor, returned by `wharf_plugin_entry`.
#[repr(C)]
pub struct wharf_plugin {
    pub header: wharf_abi_header,
    pub name: *const c_char,
    pub version: *const c_char,
    pub description: *const c_char,
    pub capabilities: u32,
    pub reserved: u32,

    pub on_plugin_load: Option<
        unsafe extern "C" fn(
            host: *const wharf_host,
            error: *mut c_char,
            error_size: usize,
        ) -> wharf_status,
    >,
    pub on_plugin_unload: Option<unsafe extern "C" fn()>,

    pub on_instance_new: Option<
        unsafe extern "C" fn(
            instance: *mut wharf_instance,
            instance_state: *mut *mut c_void,
            error: *mut c_char,
            error_size: usize,
        ) -> wharf_status,
    >,
    pub on_instance_destroy: Option<unsafe extern "C" fn(instance_state: *mut c_void)>,

    pub on_session_open: Option<
        unsafe extern "C" fn(
            instance_state: *mut c_void,
            session: *mut wharf_session,
            session_state: *mut *mut c_void,
        ) -> wharf_status,
    >,
    pub on_session_data: Option<
        unsafe extern "C" fn(
            instance_state: *mut c_void,
            session_state: *mut c_void,
            session: *mut wharf_session,
            data: *const u8,
            len: usize,
        ) -> wharf_status,
    >,
    pub on_session_writable: Option<
        unsafe extern "C" fn(
            instance_state: *mut c_void,
            session_state: *mut c_void,
            session: *mut wharf_session,
        ) -> wharf_status,
    >,
    pub on_session_close: Option<
        unsafe extern "C" fn(
            instance_state: *mut c_void,
            session_state: *mut c_void,
            session: *mut wharf_session,
        ),
    >,
    pub on_datagram: Option<
        unsafe extern "C" fn(
            instance_state: *mut c_void,
            session: *mut wharf_session,
            data: *const u8,
            len: usize,
        ) -> wharf_status,
    >,

    pub serve: Option<
        unsafe extern "C" fn(
            instance_state: *mut c_void,
            session: *mut wharf_session,
        ) -> wharf_status,
    >,

    // added in 1.5: live session migration
    pub session_export: Option<
        unsafe extern "C" fn(
            instance_state: *mut c_void,
            session_state: *mut c_void,
            session: *mut wharf_session,
            buffer: *mut u8,
            capacity: usize,
            len: *mut usize,
        ) -> wharf_status,
    >,
    pub session_import: Option<
        unsafe extern "C" fn(
            instance_state: *mut c_void,
            session: *mut wharf_session,
            from_version: *const c_char,
            data: *const u8,
            len: usize,
            session_state: *mut *mut c_void,
        ) -> wharf_status,
    >,

    // added in 1.6: live migration, blocking style (session_hand_over)
    pub resume: Option<
        unsafe extern "C" fn(
            instance_state: *mut c_void,
            session_state: *mut c_void,
            session: *mut wharf_session,
        ) -> wharf_status,
    >,
}

// SAFETY: a descriptor is a static the host only reads; its pointers are to
// static NUL-terminated strings.
unsafe impl Sync for wharf_plugin {}

/// `wharf_plugin_entry_fn`.
pub type wharf_plugin_entry_fn =
    Option<unsafe extern "C" fn(host: *const wharf_host) -> *const wharf_plugin>;

// --- wharf_kv.h: the key-value table's layout in a zone -------------------------

pub const WHARF_KV_LAYOUT: u32 = 1;
pub const WHARF_KV_MAGIC: u32 = 0x5748_4b56; // "WHKV"

/// `wharf_kv_table`, at the zone's root.
#[repr(C)]
pub struct wharf_kv_table {
    pub magic: u32,
    pub reserved: u32,
    pub bucket_count: u64,
    pub buckets: u64,
    pub count: u64,
}

/// `wharf_kv_entry`: the key's bytes follow it, then the value's.
#[repr(C)]
pub struct wharf_kv_entry {
    pub next: u64,
    pub hash: u64,
    pub key_len: u32,
    pub value_len: u32,
}

pub type wharf_kv_decision = c_int;
pub const WHARF_KV_KEEP: wharf_kv_decision = 0;
pub const WHARF_KV_WRITE: wharf_kv_decision = 1;
pub const WHARF_KV_REMOVE: wharf_kv_decision = 2;
