//! rot13: a Wharf plugin in Rust. Each byte of a stream session comes back
//! rot13'ed, in every concurrency mode (event style). Nothing crosses the C
//! boundary but C: a panic is caught and becomes WHARF_ERROR.

mod wharf;

use std::mem::size_of;
use std::os::raw::{c_char, c_void};
use std::panic::catch_unwind;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicPtr, Ordering};

use wharf::*;

static API: AtomicPtr<wharf_host_api> = AtomicPtr::new(null_mut());

fn rot13(byte: u8) -> u8 {
    match byte {
        b'a'..=b'z' => (byte - b'a' + 13) % 26 + b'a',
        b'A'..=b'Z' => (byte - b'A' + 13) % 26 + b'A',
        _ => byte,
    }
}

unsafe extern "C" fn load(host: *const wharf_host, _error: *mut c_char, _size: usize) -> wharf_status {
    API.store((*host).api as *mut wharf_host_api, Ordering::Release);
    WHARF_OK
}

unsafe extern "C" fn data(
    _instance: *mut c_void,
    _state: *mut c_void,
    session: *mut wharf_session,
    bytes: *const u8,
    length: usize,
) -> wharf_status {
    let input = std::slice::from_raw_parts(bytes, length);
    let answer = match catch_unwind(|| input.iter().map(|&byte| rot13(byte)).collect::<Vec<u8>>()) {
        Ok(answer) => answer,
        Err(_) => return WHARF_ERROR,
    };
    let api = &*API.load(Ordering::Acquire);
    if let Some(log) = api.session_log {
        let line = b"rot13 from Rust";
        log(session, WHARF_LOG_INFO, line.as_ptr() as *const c_char, line.len());
    }
    match api.session_write {
        Some(write) => write(session, answer.as_ptr() as *const c_void, answer.len()),
        None => WHARF_ERROR,
    }
}

static PLUGIN: wharf_plugin = wharf_plugin {
    header: wharf_abi_header {
        magic: WHARF_PLUGIN_MAGIC,
        abi_major: WHARF_ABI_MAJOR,
        abi_minor: WHARF_ABI_MINOR,
        struct_size: size_of::<wharf_plugin>() as u32,
        pointer_size: size_of::<*const c_void>() as u8,
        size_t_size: size_of::<usize>() as u8,
        off_t_size: size_of::<i64>() as u8, // 64-bit Linux
        reserved: 0,
    },
    name: b"rot13\0".as_ptr() as *const c_char,
    version: b"1.0.0\0".as_ptr() as *const c_char,
    description: b"rot13, written in Rust\0".as_ptr() as *const c_char,
    capabilities: WHARF_CAP_EVENT | WHARF_CAP_STREAM | WHARF_CAP_CONCURRENT | WHARF_CAP_FORK_SAFE,
    reserved: 0,
    on_plugin_load: Some(load),
    on_plugin_unload: None,
    on_instance_new: None,
    on_instance_destroy: None,
    on_session_open: None,
    on_session_data: Some(data),
    on_session_writable: None,
    on_session_close: None,
    on_datagram: None,
    serve: None,
};

/// The one symbol a Wharf plugin exports.
#[no_mangle]
pub extern "C" fn wharf_plugin_entry(_host: *const wharf_host) -> *const wharf_plugin {
    &PLUGIN
}

#[cfg(test)]
mod tests {
    /// WHARF_LAYOUT_FILE: "name number" lines a C compiler wrote from wharf.h.
    #[test]
    fn layout_matches_the_header() {
        let path = std::env::var("WHARF_LAYOUT_FILE").expect("WHARF_LAYOUT_FILE");
        let expected = std::fs::read_to_string(path).expect("the layout file");
        let ours: std::collections::HashMap<String, usize> =
            super::wharf::layout().into_iter().collect();
        let mut checked = 0;
        for line in expected.lines() {
            let mut words = line.split_whitespace();
            let name = words.next().expect("a name");
            let number: usize = words.next().expect("a number").parse().expect("a number");
            assert_eq!(ours.get(name), Some(&number), "{}", name);
            checked += 1;
        }
        assert_eq!(checked, ours.len(), "the header and src/wharf.rs list different fields");
    }
}
