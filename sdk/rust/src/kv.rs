//! A key-value table in a shared zone: `wharf_kv.h` in Rust. The C helpers
//! are header-only inline code over the host's zone functions, so this is a
//! port of them that keeps their layout in the zone byte for byte: the
//! table (`sys::wharf_kv_table`) at the zone's root, a power-of-two array of
//! bucket offsets, chained entries (`sys::wharf_kv_entry`, then the key's
//! bytes, then the value's), FNV-1a hashes, integers as 8 bytes of this
//! machine's `int64_t`, publication with one store. The crate's layout test
//! checks both structs against the header. So a zone declared with
//! [`LAYOUT`] (`WHARF_KV_LAYOUT`) reads the same from a C or C++ plugin
//! using `wharf_kv.h` and from this one: across a reload that swaps a C
//! release for a Rust one, say. Change the layout and you must change both.
//!
//! Every call takes the zone's lock for its own work (so call none while
//! holding a [`crate::ZoneLock`]: the lock is not recursive).

use crate::sys::{self, wharf_kv_entry, wharf_kv_table};
use crate::{Error, Result, Zone, ZoneLock};
use std::mem::size_of;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::ptr;

/// Declare the zone with this layout version (`WHARF_KV_LAYOUT`).
pub const LAYOUT: u32 = sys::WHARF_KV_LAYOUT;
/// The table's magic (`WHARF_KV_MAGIC`).
pub const MAGIC: u32 = sys::WHARF_KV_MAGIC;

/// What an [`Kv::update`] callback decides (`wharf_kv_decision`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Leave the key as it was.
    Keep,
    /// Store the first `n` bytes written to the new value's buffer.
    Write(usize),
    /// Delete the key.
    Remove,
}

/// FNV-1a, as `wharf_kv_hash`.
pub fn hash(key: &[u8]) -> u64 {
    let mut hash: u64 = 14695981039346656037;
    for &byte in key {
        hash = (hash ^ byte as u64).wrapping_mul(1099511628211);
    }
    hash
}

/// The table in a zone (`wharf_kv`). A plain handle: copy it freely; THREAD: any.
#[derive(Clone, Copy, Debug)]
pub struct Kv {
    zone: Zone,
}

struct Locked<'a> {
    lock: ZoneLock<'a>,
    table: *mut wharf_kv_table,
}

impl Kv {
    /// From new_instance: the zone's table, made with `bucket_count`
    /// buckets (rounded up to a power of two) if the zone has none yet
    /// (`wharf_kv_open`). An `Err` if the zone has no room, or holds
    /// something else.
    pub fn open(zone: Zone, bucket_count: u64) -> Result<Kv> {
        let lock = zone.lock()?;
        if lock.root() == 0 {
            let mut count: u64 = 1;
            while count < bucket_count {
                count <<= 1;
            }
            let table = lock.alloc(size_of::<wharf_kv_table>());
            let buckets = lock.alloc((count as usize) * size_of::<u64>());
            let (table, buckets) = match (table, buckets) {
                (Some(table), Some(buckets)) => (table, buckets),
                (table, buckets) => {
                    for offset in table.into_iter().chain(buckets) {
                        let _ = lock.free(offset);
                    }
                    return Err(Error::new("the zone has no room for the key-value table"));
                }
            };
            // SAFETY: blocks of the zone, ours under the lock, 16-aligned.
            unsafe {
                ptr::write_bytes(lock.at(buckets), 0, (count as usize) * size_of::<u64>());
                ptr::write(
                    lock.at(table) as *mut wharf_kv_table,
                    wharf_kv_table {
                        magic: MAGIC,
                        reserved: 0,
                        bucket_count: count,
                        buckets,
                        count: 0,
                    },
                );
            }
            lock.set_root(table); // published
        } else {
            let table = lock.at(lock.root()) as *const wharf_kv_table;
            // SAFETY: the root names a block of the zone.
            if table.is_null() || unsafe { (*table).magic } != MAGIC {
                return Err(Error::new("the zone holds something other than a key-value table"));
            }
        }
        Ok(Kv { zone })
    }

    pub fn zone(&self) -> Zone {
        self.zone
    }

    /// `wharf_kv_lock`: the lock and the table; recounts after a dead holder.
    fn lock(&self) -> Result<Locked<'_>> {
        let lock = self.zone.lock()?;
        let table = lock.at(lock.root()) as *mut wharf_kv_table;
        // SAFETY: the root names the table's block (checked by magic).
        if table.is_null() || unsafe { (*table).magic } != MAGIC {
            return Err(Error::new("the zone holds no key-value table"));
        }
        let locked = Locked { lock, table };
        if locked.lock.recovered() {
            locked.recount();
        }
        Ok(locked)
    }

    /// The value of `key`, or None.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let locked = self.lock()?;
        let (_, entry) = locked.find(key, hash(key));
        if entry.is_null() {
            return Ok(None);
        }
        // SAFETY: an entry of the chain, its bytes after the header.
        unsafe {
            let value =
                (entry as *const u8).add(size_of::<wharf_kv_entry>() + (*entry).key_len as usize);
            Ok(Some(std::slice::from_raw_parts(value, (*entry).value_len as usize).to_vec()))
        }
    }

    /// Deletes `key`; whether it was there.
    pub fn delete(&self, key: &[u8]) -> Result<bool> {
        let locked = self.lock()?;
        let (link, entry) = locked.find(key, hash(key));
        if entry.is_null() {
            return Ok(false);
        }
        // SAFETY: `link` holds the entry's offset; all under the lock.
        unsafe {
            let offset = *link;
            *link = (*entry).next; // published
            locked.lock.free(offset)?;
            (*locked.table).count -= 1;
        }
        Ok(true)
    }

    /// Reads, decides and writes `key` under one hold of the lock
    /// (`wharf_kv_update`): `update` sees the old value (None if absent)
    /// and a buffer of `max_value_len` bytes for the new one. Keep it short:
    /// every worker waits on the lock. An `Err` when the zone has no room
    /// (the old value stays), or `update` claims more than the buffer. A
    /// panic in `update` leaves the key as it was and goes on unwinding.
    pub fn update<F>(&self, key: &[u8], max_value_len: usize, update: F) -> Result<()>
    where
        F: FnOnce(Option<&[u8]>, &mut [u8]) -> Decision,
    {
        if key.len() > u32::MAX as usize || max_value_len > u32::MAX as usize {
            return Err(Error::with_status(sys::WHARF_INVALID, "key or value too long"));
        }
        let locked = self.lock()?;
        let key_hash = hash(key);
        let (link, old) = locked.find(key, key_hash);
        let header = size_of::<wharf_kv_entry>();
        let offset = locked
            .lock
            .alloc(header + key.len() + max_value_len)
            .ok_or_else(|| Error::new("the zone has no room"))?;
        let entry = locked.lock.at(offset) as *mut wharf_kv_entry;
        // SAFETY: `entry` is a fresh block of header + key + max_value_len
        // bytes; `old` (if not NULL) an entry of the chain; all under the lock.
        unsafe {
            let new_value = std::slice::from_raw_parts_mut(
                (entry as *mut u8).add(header + key.len()),
                max_value_len,
            );
            let old_value = if old.is_null() {
                None
            } else {
                let start = (old as *const u8).add(header + (*old).key_len as usize);
                Some(std::slice::from_raw_parts(start, (*old).value_len as usize))
            };
            let decision = match catch_unwind(AssertUnwindSafe(|| update(old_value, new_value))) {
                Ok(decision) => decision,
                Err(payload) => {
                    let _ = locked.lock.free(offset);
                    drop(locked); // unlocks
                    resume_unwind(payload);
                }
            };
            match decision {
                Decision::Write(len) if len <= max_value_len => {
                    ptr::write(
                        entry,
                        wharf_kv_entry {
                            next: if old.is_null() { *link } else { (*old).next },
                            hash: key_hash,
                            key_len: key.len() as u32,
                            value_len: len as u32,
                        },
                    );
                    ptr::copy_nonoverlapping(
                        key.as_ptr(),
                        (entry as *mut u8).add(header),
                        key.len(),
                    );
                    let old_offset = *link;
                    *link = offset; // published
                    if old.is_null() {
                        (*locked.table).count += 1;
                    } else {
                        locked.lock.free(old_offset)?;
                    }
                    Ok(())
                }
                Decision::Write(_) => {
                    locked.lock.free(offset)?;
                    Err(Error::with_status(
                        sys::WHARF_INVALID,
                        "the update wrote more than max_value_len",
                    ))
                }
                Decision::Remove if !old.is_null() => {
                    locked.lock.free(offset)?;
                    let old_offset = *link;
                    *link = (*old).next; // published
                    locked.lock.free(old_offset)?;
                    (*locked.table).count -= 1;
                    Ok(())
                }
                Decision::Keep | Decision::Remove => locked.lock.free(offset),
            }
        }
    }

    /// Adds `delta` to the integer at `key` (8 bytes, this machine's
    /// `int64_t`; a missing key counts as 0), wrapping; the new value
    /// (`wharf_kv_incr`). `Err` (`WHARF_INVALID`) if the key holds something else.
    pub fn incr(&self, key: &[u8], delta: i64) -> Result<i64> {
        let mut result = None;
        self.update(key, size_of::<i64>(), |old, new| {
            let value = match old {
                None => 0,
                Some(old) if old.len() == size_of::<i64>() => {
                    let mut bytes = [0u8; 8];
                    bytes.copy_from_slice(old);
                    i64::from_ne_bytes(bytes)
                }
                Some(_) => return Decision::Keep,
            };
            let value = value.wrapping_add(delta);
            new.copy_from_slice(&value.to_ne_bytes());
            result = Some(value);
            Decision::Write(size_of::<i64>())
        })?;
        result.ok_or_else(|| Error::with_status(sys::WHARF_INVALID, "the key holds no integer"))
    }

    /// Sets `key` to `value` only if it holds `expected` (None: only if it
    /// is absent); whether it did (`wharf_kv_compare_and_set`).
    pub fn compare_and_set(
        &self,
        key: &[u8],
        expected: Option<&[u8]>,
        value: &[u8],
    ) -> Result<bool> {
        let mut swapped = false;
        self.update(key, value.len(), |old, new| {
            if old != expected {
                return Decision::Keep;
            }
            new.copy_from_slice(value);
            swapped = true;
            Decision::Write(value.len())
        })?;
        Ok(swapped)
    }

    /// Sets `key` to `value` (`wharf_kv_set`).
    pub fn set(&self, key: &[u8], value: &[u8]) -> Result<()> {
        self.update(key, value.len(), |_, new| {
            new.copy_from_slice(value);
            Decision::Write(value.len())
        })
    }

    /// How many keys the table holds (0 if it cannot be locked).
    pub fn count(&self) -> u64 {
        match self.lock() {
            // SAFETY: the table, under the lock.
            Ok(locked) => unsafe { (*locked.table).count },
            Err(_) => 0,
        }
    }
}

impl Locked<'_> {
    fn entry_at(&self, offset: u64) -> *mut wharf_kv_entry {
        if offset == 0 {
            ptr::null_mut()
        } else {
            self.lock.at(offset) as *mut wharf_kv_entry
        }
    }

    fn bucket(&self, key_hash: u64) -> *mut u64 {
        // SAFETY: the table's bucket array, bucket_count offsets.
        unsafe {
            let buckets = self.lock.at((*self.table).buckets) as *mut u64;
            buckets.add((key_hash & ((*self.table).bucket_count - 1)) as usize)
        }
    }

    /// `wharf_kv_find`: the link that holds the entry's offset, and the entry (or NULL).
    fn find(&self, key: &[u8], key_hash: u64) -> (*mut u64, *mut wharf_kv_entry) {
        let mut link = self.bucket(key_hash);
        // SAFETY: chains of entries of the zone, under the lock.
        unsafe {
            loop {
                let entry = self.entry_at(*link);
                if entry.is_null() {
                    return (link, entry);
                }
                if (*entry).hash == key_hash && (*entry).key_len as usize == key.len() {
                    let stored = (entry as *const u8).add(size_of::<wharf_kv_entry>());
                    if std::slice::from_raw_parts(stored, key.len()) == key {
                        return (link, entry);
                    }
                }
                link = ptr::addr_of_mut!((*entry).next);
            }
        }
    }

    /// `wharf_kv_recount`, after a holder died.
    fn recount(&self) {
        // SAFETY: the table and its chains, under the lock.
        unsafe {
            let buckets = self.lock.at((*self.table).buckets) as *const u64;
            let mut count = 0;
            for index in 0..(*self.table).bucket_count as usize {
                let mut entry = self.entry_at(*buckets.add(index));
                while !entry.is_null() {
                    count += 1;
                    entry = self.entry_at((*entry).next);
                }
            }
            (*self.table).count = count;
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn hashes_as_wharf_kv_hash() {
        // FNV-1a's published test vectors.
        assert_eq!(super::hash(b""), 0xcbf29ce484222325);
        assert_eq!(super::hash(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(super::hash(b"foobar"), 0x85944171f73967e8);
    }
}
