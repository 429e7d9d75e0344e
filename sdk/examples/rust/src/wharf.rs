//! The parts of wharf.h (ABI 1.2) this plugin uses, as #[repr(C)] types. Every
//! field is declared, in the header's order, so the layout is the header's:
//! `layout()` lists sizes and offsets, and the test `layout_matches_the_header`
//! compares them with what a C compiler says (the file in WHARF_LAYOUT_FILE).
//! Functions this plugin never calls are typed `AnyFn`: a nullable function
//! pointer, the same size as any other.
#![allow(non_camel_case_types, dead_code)]

use std::os::raw::{c_char, c_int, c_void};

pub type wharf_status = c_int;
pub const WHARF_OK: wharf_status = 0;
pub const WHARF_ERROR: wharf_status = -1;

pub const WHARF_ABI_MAJOR: u16 = 1;
pub const WHARF_ABI_MINOR: u16 = 2;
pub const WHARF_PLUGIN_MAGIC: u32 = 0x5750_4c47; // "WPLG"

pub const WHARF_LOG_INFO: c_int = 6;

pub const WHARF_CAP_EVENT: u32 = 1 << 0;
pub const WHARF_CAP_STREAM: u32 = 1 << 2;
pub const WHARF_CAP_CONCURRENT: u32 = 1 << 4;
pub const WHARF_CAP_FORK_SAFE: u32 = 1 << 5;

/// Opaque host handles.
pub enum wharf_instance {}
pub enum wharf_session {}

pub type AnyFn = Option<unsafe extern "C" fn()>;

#[repr(C)]
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

#[repr(C)]
pub struct wharf_host_api {
    pub struct_size: u32,
    pub reserved: u32,
    pub alloc: AnyFn,
    pub free: AnyFn,
    pub log: AnyFn,
    pub session_log: Option<
        unsafe extern "C" fn(*const wharf_session, c_int, *const c_char, usize),
    >,
    pub option_get: AnyFn,
    pub option_count: AnyFn,
    pub option_at: AnyFn,
    pub instance_name: AnyFn,
    pub instance_socket_kind: AnyFn,
    pub session_write:
        Option<unsafe extern "C" fn(*mut wharf_session, *const c_void, usize) -> wharf_status>,
    pub session_read: AnyFn,
    pub session_close: AnyFn,
    pub session_peer: AnyFn,
    pub session_pending_output: AnyFn,
    pub session_socket: AnyFn,
    pub session_address: AnyFn,
    pub session_accepted_client: AnyFn,
    pub session_timer_start: AnyFn,
    pub session_timer_cancel: AnyFn,
    pub session_pause_input: AnyFn,
    pub session_waker: AnyFn,
    pub waker_post: AnyFn,
    pub waker_release: AnyFn,
    pub session_end_reason: AnyFn,
    pub metric_declare: AnyFn,
    pub metric_add: AnyFn,
    pub metric_set: AnyFn,
    pub instance_timer_start: AnyFn,
    pub instance_timer_cancel: AnyFn,
    pub session_address_text: AnyFn,
    pub session_transport: AnyFn,
    pub zone_declare: AnyFn,
    pub zone_lock: AnyFn,
    pub zone_unlock: AnyFn,
    pub zone_alloc: AnyFn,
    pub zone_free: AnyFn,
    pub zone_at: AnyFn,
    pub zone_root: AnyFn,
    pub session_count_bytes: AnyFn,
}

#[repr(C)]
pub struct wharf_host {
    pub header: wharf_abi_header,
    pub host_version: *const c_char,
    pub api: *const wharf_host_api,
}

#[repr(C)]
pub struct wharf_plugin {
    pub header: wharf_abi_header,
    pub name: *const c_char,
    pub version: *const c_char,
    pub description: *const c_char,
    pub capabilities: u32,
    pub reserved: u32,
    pub on_plugin_load:
        Option<unsafe extern "C" fn(*const wharf_host, *mut c_char, usize) -> wharf_status>,
    pub on_plugin_unload: AnyFn,
    pub on_instance_new: AnyFn,
    pub on_instance_destroy: AnyFn,
    pub on_session_open: AnyFn,
    pub on_session_data: Option<
        unsafe extern "C" fn(*mut c_void, *mut c_void, *mut wharf_session, *const u8, usize)
            -> wharf_status,
    >,
    pub on_session_writable: AnyFn,
    pub on_session_close: AnyFn,
    pub on_datagram: AnyFn,
    pub serve: AnyFn,
}

// The descriptor is a static the host reads; its pointers are to static strings.
unsafe impl Sync for wharf_plugin {}

/// "type size" and "type.field offset", for every type and field above.
pub fn layout() -> Vec<(String, usize)> {
    macro_rules! layout_of {
        ($out:ident, $t:ident { $($f:ident),* }) => {{
            let value = std::mem::MaybeUninit::<$t>::uninit();
            let base = value.as_ptr() as usize;
            $out.push((stringify!($t).to_string(), std::mem::size_of::<$t>()));
            $(
                let field = unsafe { std::ptr::addr_of!((*value.as_ptr()).$f) } as usize;
                $out.push((format!("{}.{}", stringify!($t), stringify!($f)), field - base));
            )*
        }};
    }
    let mut out = Vec::new();
    layout_of!(out, wharf_abi_header {
        magic, abi_major, abi_minor, struct_size, pointer_size, size_t_size, off_t_size, reserved
    });
    layout_of!(out, wharf_host { header, host_version, api });
    layout_of!(out, wharf_host_api {
        struct_size, reserved, alloc, free, log, session_log, option_get, option_count,
        option_at, instance_name, instance_socket_kind, session_write, session_read,
        session_close, session_peer, session_pending_output, session_socket, session_address,
        session_accepted_client, session_timer_start, session_timer_cancel, session_pause_input,
        session_waker, waker_post, waker_release, session_end_reason, metric_declare,
        metric_add, metric_set, instance_timer_start, instance_timer_cancel,
        session_address_text, session_transport, zone_declare, zone_lock, zone_unlock,
        zone_alloc, zone_free, zone_at, zone_root, session_count_bytes
    });
    layout_of!(out, wharf_plugin {
        header, name, version, description, capabilities, reserved, on_plugin_load,
        on_plugin_unload, on_instance_new, on_instance_destroy, on_session_open,
        on_session_data, on_session_writable, on_session_close, on_datagram, serve
    });
    out
}
