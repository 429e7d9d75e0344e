//! The crate's `sys` types against `wharf.h`: the SDK's layout checker
//! (`checker/wharf_layout.c`, installed as share/wharf-sdk/checker/) is
//! compiled with the C compiler against the SDK's headers and run; every
//! line it prints (sizes, alignments, field offsets and sizes, constants)
//! must be what Rust makes of `sys`, and `sys` must have nothing it lacks.
//!
//! Where things are found (each overridable):
//!   WHARF_LAYOUT          a file of the checker's output: used as is
//!   WHARF_LAYOUT_CHECKER  the checker's source (default: ../checker/ from this crate)
//!   WHARF_INCLUDE_DIR     the directory holding wharf/wharf.h (default: ../include
//!                         in the source tree, ../../../include installed, /usr/include)
//!   CC                    the C compiler (default: cc)

use std::collections::BTreeMap;
use std::mem::{align_of, size_of};
use std::path::{Path, PathBuf};
use std::process::Command;

use wharf_sdk::sys::*;

fn pointee_size<T>(_: *const T) -> usize {
    size_of::<T>()
}

/// What Rust makes of `sys`, as the checker's lines.
fn rust_layout() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    macro_rules! ty {
        ($name:expr, $t:ty) => {
            out.insert(format!("size {}", $name), size_of::<$t>().to_string());
            out.insert(format!("align {}", $name), align_of::<$t>().to_string());
        };
    }
    macro_rules! fields {
        ($t:ident { $($f:ident),* $(,)? }) => {{
            ty!(stringify!($t), $t);
            let value = std::mem::MaybeUninit::<$t>::uninit();
            let base = value.as_ptr() as usize;
            $(
                // SAFETY: only the field's address is taken, nothing is read.
                let field = unsafe { std::ptr::addr_of!((*value.as_ptr()).$f) };
                out.insert(
                    format!("field {}.{}", stringify!($t), stringify!($f)),
                    format!("{} {}", field as usize - base, pointee_size(field)),
                );
            )*
        }};
    }
    macro_rules! consts {
        ($($c:ident),* $(,)?) => {
            $( out.insert(format!("const {}", stringify!($c)), ($c as i64).to_string()); )*
        };
    }
    ty!("pointer", *const u8);
    ty!("size_t", usize);
    ty!("off_t", off_t);
    ty!("socklen_t", socklen_t);
    ty!("sockaddr_storage", sockaddr_storage);
    ty!("wharf_status", wharf_status);
    ty!("wharf_end_reason", wharf_end_reason);
    ty!("wharf_log_level", wharf_log_level);
    ty!("wharf_socket_kind", wharf_socket_kind);
    ty!("wharf_address", wharf_address);
    ty!("wharf_bytes_path", wharf_bytes_path);
    ty!("wharf_tls_field", wharf_tls_field);
    ty!("wharf_metric_kind", wharf_metric_kind);
    ty!("wharf_kv_decision", wharf_kv_decision);
    fields!(wharf_abi_header {
        magic,
        abi_major,
        abi_minor,
        struct_size,
        pointer_size,
        size_t_size,
        off_t_size,
        reserved
    });
    fields!(wharf_host_api {
        struct_size,
        reserved,
        alloc,
        free,
        log,
        session_log,
        option_get,
        option_count,
        option_at,
        instance_name,
        instance_socket_kind,
        session_write,
        session_read,
        session_close,
        session_peer,
        session_pending_output,
        session_socket,
        session_address,
        session_accepted_client,
        session_timer_start,
        session_timer_cancel,
        session_pause_input,
        session_waker,
        waker_post,
        waker_release,
        session_end_reason,
        metric_declare,
        metric_add,
        metric_set,
        instance_timer_start,
        instance_timer_cancel,
        session_address_text,
        session_transport,
        zone_declare,
        zone_lock,
        zone_unlock,
        zone_alloc,
        zone_free,
        zone_at,
        zone_root,
        session_count_bytes,
        session_tls,
        session_handover_fd,
        session_hand_over,
    });
    fields!(wharf_host { header, host_version, api });
    fields!(wharf_plugin {
        header,
        name,
        version,
        description,
        capabilities,
        reserved,
        on_plugin_load,
        on_plugin_unload,
        on_instance_new,
        on_instance_destroy,
        on_session_open,
        on_session_data,
        on_session_writable,
        on_session_close,
        on_datagram,
        serve,
        session_export,
        session_import,
        resume,
    });
    fields!(wharf_kv_table { magic, reserved, bucket_count, buckets, count });
    fields!(wharf_kv_entry { next, hash, key_len, value_len });
    consts!(
        WHARF_ABI_MAJOR,
        WHARF_ABI_MINOR,
        WHARF_HOST_MAGIC,
        WHARF_PLUGIN_MAGIC,
        WHARF_OK,
        WHARF_ERROR,
        WHARF_CLOSED,
        WHARF_UNSUPPORTED,
        WHARF_INVALID,
        WHARF_NOT_FOUND,
        WHARF_BUFFER_TOO_SMALL,
        WHARF_ENDED,
        WHARF_END_NONE,
        WHARF_END_PEER,
        WHARF_END_PLUGIN,
        WHARF_END_IDLE,
        WHARF_END_DRAIN,
        WHARF_END_SHUTDOWN,
        WHARF_END_ERROR,
        WHARF_END_MIGRATED,
        WHARF_LOG_ERROR,
        WHARF_LOG_WARNING,
        WHARF_LOG_NOTICE,
        WHARF_LOG_INFO,
        WHARF_LOG_DEBUG,
        WHARF_SOCKET_STREAM,
        WHARF_SOCKET_DATAGRAM,
        WHARF_ADDRESS_PEER,
        WHARF_ADDRESS_LOCAL,
        WHARF_ADDRESS_BALANCER,
        WHARF_BYTES_SESSION_SOCKET,
        WHARF_BYTES_OWN_CONNECTION,
        WHARF_TLS_PROTOCOL,
        WHARF_TLS_CIPHER,
        WHARF_TLS_SERVER_NAME,
        WHARF_TLS_ALPN,
        WHARF_TLS_CLIENT_SUBJECT,
        WHARF_METRIC_COUNTER,
        WHARF_METRIC_GAUGE,
        WHARF_CAP_EVENT,
        WHARF_CAP_BLOCKING,
        WHARF_CAP_STREAM,
        WHARF_CAP_DATAGRAM,
        WHARF_CAP_CONCURRENT,
        WHARF_CAP_FORK_SAFE,
        WHARF_CAP_NEVER_UNLOAD,
        WHARF_CAP_CLIENT_FIRST,
        WHARF_CAP_OWN_SOCKET,
        WHARF_KV_LAYOUT,
        WHARF_KV_MAGIC,
        WHARF_KV_KEEP,
        WHARF_KV_WRITE,
        WHARF_KV_REMOVE,
    );
    out.insert("string WHARF_SDK_VERSION".into(), WHARF_SDK_VERSION.into());
    out.insert("string WHARF_PLUGIN_ENTRY_SYMBOL".into(), WHARF_PLUGIN_ENTRY_SYMBOL.into());
    out
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn include_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("WHARF_INCLUDE_DIR") {
        return PathBuf::from(dir);
    }
    let crate_dir = manifest_dir();
    let candidates = [
        crate_dir.join("../include"),
        crate_dir.join("../../../include"),
        PathBuf::from("/usr/include"),
    ];
    for candidate in &candidates {
        if candidate.join("wharf/wharf.h").is_file() {
            return candidate.clone();
        }
    }
    panic!("no wharf/wharf.h in {:?}: set WHARF_INCLUDE_DIR", candidates);
}

/// The checker's output: WHARF_LAYOUT's file, or the checker compiled and run.
fn checker_output() -> String {
    if let Some(file) = std::env::var_os("WHARF_LAYOUT") {
        return std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{:?}: {}", file, e));
    }
    let source = std::env::var_os("WHARF_LAYOUT_CHECKER")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest_dir().join("../checker/wharf_layout.c"));
    assert!(source.is_file(), "no layout checker at {:?}: set WHARF_LAYOUT_CHECKER", source);
    let binary = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wharf_layout");
    let compiler = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let built = Command::new(&compiler)
        .arg("-std=gnu11")
        .arg("-I")
        .arg(include_dir())
        .arg(&source)
        .arg("-o")
        .arg(&binary)
        .output()
        .unwrap_or_else(|e| panic!("{} (set CC): {}", compiler, e));
    assert!(
        built.status.success(),
        "{} failed:\n{}",
        compiler,
        String::from_utf8_lossy(&built.stderr)
    );
    let run = Command::new(&binary).output().expect("the layout checker runs");
    assert!(
        run.status.success(),
        "the layout checker does not cover wharf.h:\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    String::from_utf8(run.stdout).expect("the checker prints text")
}

#[test]
fn sys_matches_the_header() {
    let ours = rust_layout();
    let mut theirs = BTreeMap::new();
    for line in checker_output().lines() {
        let mut words = line.splitn(3, ' ');
        let (kind, name, value) =
            (words.next().unwrap(), words.next().expect("a name"), words.next().expect("a value"));
        theirs.insert(format!("{} {}", kind, name), value.to_string());
    }
    let mut differences = Vec::new();
    for (key, value) in &theirs {
        match ours.get(key) {
            Some(mine) if mine == value => {}
            Some(mine) => differences.push(format!("{}: C says {}, Rust {}", key, value, mine)),
            None => differences.push(format!("{}: C says {}, Rust has none", key, value)),
        }
    }
    for key in ours.keys().filter(|key| !theirs.contains_key(*key)) {
        differences.push(format!("{}: Rust has it, the checker does not", key));
    }
    assert!(differences.is_empty(), "sys differs from wharf.h:\n{}", differences.join("\n"));
    // Not a vacuous pass: every struct field of the header was compared.
    assert!(theirs.keys().filter(|key| key.starts_with("field wharf_host_api.")).count() >= 41);
}

#[test]
fn the_crate_version_is_the_sdk_version() {
    assert_eq!(env!("CARGO_PKG_VERSION"), WHARF_SDK_VERSION);
}
