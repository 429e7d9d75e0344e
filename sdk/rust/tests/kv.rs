//! wharf_sdk::Kv on a zone of a fake host (a heap in this process, the
//! host's zone functions in Rust): every operation, the lock released after
//! each (also when an update panics), and the table's count kept.

use std::os::raw::{c_int, c_void};
use std::ptr::{addr_of_mut, null_mut};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use wharf_sdk::kv::{self, Decision};
use wharf_sdk::sys::*;
use wharf_sdk::{Instance, Kv, Plugin, Result, Zone};

const HEAP: usize = 1 << 20;
#[repr(C, align(16))]
struct Heap([u8; HEAP]);
static mut MEMORY: Heap = Heap([0; HEAP]);
static mut ROOT: u64 = 0;
static NEXT: AtomicU64 = AtomicU64::new(16); // offset 0 means "none"
static LIVE_BLOCKS: AtomicU64 = AtomicU64::new(0);
static LOCKED: AtomicBool = AtomicBool::new(false);

unsafe extern "C" fn lock(_: *mut wharf_zone, recovered: *mut c_int) -> wharf_status {
    if LOCKED.swap(true, Ordering::SeqCst) {
        return WHARF_INVALID; // not recursive, as the host's
    }
    if !recovered.is_null() {
        *recovered = 0;
    }
    WHARF_OK
}
unsafe extern "C" fn unlock(_: *mut wharf_zone) -> wharf_status {
    if LOCKED.swap(false, Ordering::SeqCst) {
        WHARF_OK
    } else {
        WHARF_INVALID
    }
}
unsafe extern "C" fn alloc(_: *mut wharf_zone, size: usize) -> u64 {
    assert!(LOCKED.load(Ordering::SeqCst), "zone_alloc without the lock");
    let size = (size as u64 + 15) & !15;
    let offset = NEXT.fetch_add(size, Ordering::SeqCst);
    if offset + size > HEAP as u64 {
        return 0;
    }
    LIVE_BLOCKS.fetch_add(1, Ordering::SeqCst);
    offset
}
unsafe extern "C" fn free(_: *mut wharf_zone, offset: u64) -> wharf_status {
    assert!(LOCKED.load(Ordering::SeqCst), "zone_free without the lock");
    assert!(offset != 0);
    LIVE_BLOCKS.fetch_sub(1, Ordering::SeqCst);
    WHARF_OK
}
unsafe extern "C" fn at(_: *mut wharf_zone, offset: u64) -> *mut c_void {
    (addr_of_mut!(MEMORY) as *mut u8).add(offset as usize) as *mut c_void
}
unsafe extern "C" fn root(_: *mut wharf_zone) -> *mut u64 {
    addr_of_mut!(ROOT)
}

struct Nothing;
impl Plugin for Nothing {
    type Instance = ();
    type Session = ();
    fn new_instance(_: &Instance) -> Result<()> {
        Ok(())
    }
}
static PLUGIN: wharf_plugin = wharf_sdk::__descriptor::<Nothing>("t\0", "1\0", "\0", 0);

fn fake_host() -> Zone {
    // SAFETY: all zero is a table of absent functions; the fields set are the zone's.
    let mut api: wharf_host_api = unsafe { std::mem::zeroed() };
    api.struct_size = std::mem::size_of::<wharf_host_api>() as u32;
    api.zone_lock = Some(lock);
    api.zone_unlock = Some(unlock);
    api.zone_alloc = Some(alloc);
    api.zone_free = Some(free);
    api.zone_at = Some(at);
    api.zone_root = Some(root);
    let api = Box::leak(Box::new(api));
    let host = Box::leak(Box::new(wharf_host {
        header: wharf_abi_header::init::<wharf_host>(WHARF_HOST_MAGIC),
        host_version: b"fake\0".as_ptr() as *const _,
        api,
    }));
    // SAFETY: a host struct that lives forever.
    assert!(!unsafe { wharf_sdk::__entry(host, &PLUGIN) }.is_null());
    // SAFETY: the fake host ignores the handle.
    unsafe { Zone::from_raw(null_mut(), true) }
}

#[test]
fn every_operation_of_the_table() {
    let zone = fake_host();
    let table = Kv::open(zone, 5).unwrap(); // 8 buckets: chains get long
    let again = Kv::open(zone, 5).unwrap(); // an existing table is opened, not made again
    assert_eq!(table.count(), 0);

    for i in 0..40 {
        table.set(format!("key{}", i).as_bytes(), format!("value{}", i).as_bytes()).unwrap();
    }
    assert_eq!(again.count(), 40);
    for i in 0..40 {
        let want = format!("value{}", i).into_bytes();
        assert_eq!(again.get(format!("key{}", i).as_bytes()).unwrap(), Some(want));
    }
    assert_eq!(table.get(b"absent").unwrap(), None);

    table.set(b"key7", b"replaced, longer than before").unwrap();
    assert_eq!(table.get(b"key7").unwrap().unwrap(), b"replaced, longer than before");
    assert_eq!(table.count(), 40);

    assert!(table.delete(b"key3").unwrap());
    assert!(!table.delete(b"key3").unwrap());
    assert_eq!(table.count(), 39);

    assert_eq!(table.incr(b"n", 5).unwrap(), 5);
    assert_eq!(table.incr(b"n", -7).unwrap(), -2);
    assert_eq!(table.get(b"n").unwrap().unwrap(), (-2i64).to_ne_bytes());
    assert_eq!(table.incr(b"key1", 1).unwrap_err().status(), WHARF_INVALID);
    assert_eq!(table.get(b"key1").unwrap().unwrap(), b"value1"); // kept

    assert!(table.compare_and_set(b"cas", None, b"first").unwrap());
    assert!(!table.compare_and_set(b"cas", None, b"second").unwrap());
    assert!(!table.compare_and_set(b"cas", Some(b"wrong"), b"second").unwrap());
    assert!(table.compare_and_set(b"cas", Some(b"first"), b"second").unwrap());
    assert_eq!(table.get(b"cas").unwrap().unwrap(), b"second");

    table
        .update(b"cas", 16, |old, _| {
            assert_eq!(old, Some(&b"second"[..]));
            Decision::Remove
        })
        .unwrap();
    assert_eq!(table.get(b"cas").unwrap(), None);
    table.update(b"gone", 16, |_, _| Decision::Remove).unwrap(); // nothing to remove
    table.update(b"kept", 16, |_, _| Decision::Keep).unwrap();
    assert_eq!(table.get(b"kept").unwrap(), None);
    let too_long = table.update(b"x", 4, |_, _| Decision::Write(5)).unwrap_err();
    assert_eq!(too_long.status(), WHARF_INVALID);

    let count = table.count();
    let panicked = std::panic::catch_unwind(|| {
        table.update(b"key1", 16, |_, _| panic!("in the update")).unwrap();
    });
    assert!(panicked.is_err());
    assert!(!LOCKED.load(Ordering::SeqCst), "the lock was released");
    assert_eq!(table.get(b"key1").unwrap().unwrap(), b"value1");
    assert_eq!(table.count(), count);

    // Every block is the table's, the buckets', or a live entry's.
    assert_eq!(LIVE_BLOCKS.load(Ordering::SeqCst), 2 + table.count());

    // The same layout as wharf_kv.h: the table at the root, its magic.
    let lock = zone.lock().unwrap();
    // SAFETY: the root names the table's block.
    let header = unsafe { &*(lock.at(lock.root()) as *const wharf_kv_table) };
    assert_eq!((header.magic, header.bucket_count), (kv::MAGIC, 8));
    assert_eq!(header.count, count);
    assert!(zone.lock().is_err(), "not recursive");
}
