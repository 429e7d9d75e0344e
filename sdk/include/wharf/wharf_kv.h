/*
 * wharf_kv.h — a key-value table in a shared zone (SDK 1.2): header-only C
 * on top of zone_declare, zone_lock, zone_alloc and zone_root.
 *
 *   int fresh;
 *   wharf_zone *zone = api->zone_declare(instance, "sessions", 64 << 20, WHARF_KV_LAYOUT, &fresh);
 *   wharf_kv kv;
 *   if (zone == NULL || wharf_kv_open(&kv, api, zone, 65536) != WHARF_OK) refuse the instance;
 *   wharf_kv_set(&kv, "k", 1, "v", 1);   // from any thread of any worker
 *   wharf_kv_incr(&kv, "hits", 4, 1, &now);  // read-modify-write under the lock
 *
 * Every call takes the zone's lock for its own work. The table lives at the
 * zone's root: a chained hash table whose entries are blocks of the zone's
 * heap, linked by offsets. An update publishes with one store, so a worker
 * killed mid-update loses at most the entry it was writing (or keeps the old
 * value), and the next locker recounts the entries. The layout is this
 * header's: declare the zone with WHARF_KV_LAYOUT, or a version of your own
 * that you change with it.
 */
#ifndef WHARF_WHARF_KV_H
#define WHARF_WHARF_KV_H

#include <string.h>
#include <wharf/wharf.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WHARF_KV_LAYOUT 1
#define WHARF_KV_MAGIC 0x57484b56u /* "WHKV" */

typedef struct wharf_kv {
  const wharf_host_api *api;
  wharf_zone *zone;
} wharf_kv;

/* In the zone. */
typedef struct wharf_kv_table {
  uint32_t magic;
  uint32_t reserved;
  uint64_t bucket_count; /* a power of two */
  uint64_t buckets;      /* offset of bucket_count offsets, each a chain's first entry */
  uint64_t count;
} wharf_kv_table;

typedef struct wharf_kv_entry {
  uint64_t next; /* offset of the chain's next entry, 0 at its end */
  uint64_t hash;
  uint32_t key_len;
  uint32_t value_len;
  /* the key's bytes, then the value's */
} wharf_kv_entry;

static inline uint64_t wharf_kv_hash(const void *key, size_t len) {
  const unsigned char *bytes = (const unsigned char *)key;
  uint64_t hash = 14695981039346656037ull; /* FNV-1a */
  for (size_t i = 0; i < len; ++i) hash = (hash ^ bytes[i]) * 1099511628211ull;
  return hash;
}

static inline wharf_kv_table *wharf_kv_table_of(const wharf_kv *kv) {
  return (wharf_kv_table *)kv->api->zone_at(kv->zone, *kv->api->zone_root(kv->zone));
}

static inline uint64_t *wharf_kv_bucket(const wharf_kv *kv, const wharf_kv_table *table,
                                        uint64_t hash) {
  uint64_t *buckets = (uint64_t *)kv->api->zone_at(kv->zone, table->buckets);
  return &buckets[hash & (table->bucket_count - 1)];
}

static inline wharf_kv_entry *wharf_kv_entry_at(const wharf_kv *kv, uint64_t offset) {
  return offset == 0 ? NULL : (wharf_kv_entry *)kv->api->zone_at(kv->zone, offset);
}

/* With the lock held after a holder died: counts the entries again. */
static inline void wharf_kv_recount(const wharf_kv *kv, wharf_kv_table *table) {
  uint64_t count = 0;
  uint64_t *buckets = (uint64_t *)kv->api->zone_at(kv->zone, table->buckets);
  for (uint64_t i = 0; i < table->bucket_count; ++i)
    for (wharf_kv_entry *e = wharf_kv_entry_at(kv, buckets[i]); e != NULL;
         e = wharf_kv_entry_at(kv, e->next))
      ++count;
  table->count = count;
}

/* Takes the zone's lock; the table, or NULL (then the lock is not held). */
static inline wharf_kv_table *wharf_kv_lock(const wharf_kv *kv) {
  int recovered = 0;
  if (kv->api->zone_lock(kv->zone, &recovered) != WHARF_OK) return NULL;
  wharf_kv_table *table = wharf_kv_table_of(kv);
  if (table == NULL || table->magic != WHARF_KV_MAGIC) {
    kv->api->zone_unlock(kv->zone);
    return NULL;
  }
  if (recovered) wharf_kv_recount(kv, table);
  return table;
}

/* From on_instance_new: the zone's table, made with `bucket_count` buckets
 * (rounded up to a power of two) if the zone is fresh. WHARF_ERROR if the
 * zone has no room for it, or holds something else. */
static inline wharf_status wharf_kv_open(wharf_kv *kv, const wharf_host_api *api, wharf_zone *zone,
                                         uint64_t bucket_count) {
  int recovered = 0;
  kv->api = api;
  kv->zone = zone;
  if (api->zone_lock(zone, &recovered) != WHARF_OK) return WHARF_ERROR;
  wharf_status status = WHARF_OK;
  uint64_t *root = api->zone_root(zone);
  if (*root == 0) {
    uint64_t count = 1;
    while (count < bucket_count) count <<= 1;
    uint64_t table_offset = api->zone_alloc(zone, sizeof(wharf_kv_table));
    uint64_t buckets = api->zone_alloc(zone, count * sizeof(uint64_t));
    if (table_offset == 0 || buckets == 0) {
      if (table_offset != 0) api->zone_free(zone, table_offset);
      if (buckets != 0) api->zone_free(zone, buckets);
      status = WHARF_ERROR;
    } else {
      wharf_kv_table *table = (wharf_kv_table *)api->zone_at(zone, table_offset);
      memset(api->zone_at(zone, buckets), 0, count * sizeof(uint64_t));
      table->magic = WHARF_KV_MAGIC;
      table->reserved = 0;
      table->bucket_count = count;
      table->buckets = buckets;
      table->count = 0;
      *root = table_offset; /* published */
    }
  } else {
    wharf_kv_table *table = wharf_kv_table_of(kv);
    if (table == NULL || table->magic != WHARF_KV_MAGIC) status = WHARF_ERROR;
  }
  api->zone_unlock(zone);
  return status;
}

/* Finds `key` in its chain; *link is where the entry's offset is kept. */
static inline wharf_kv_entry *wharf_kv_find(const wharf_kv *kv, const wharf_kv_table *table,
                                            const void *key, size_t key_len, uint64_t hash,
                                            uint64_t **link) {
  *link = wharf_kv_bucket(kv, table, hash);
  for (wharf_kv_entry *e = wharf_kv_entry_at(kv, **link); e != NULL;
       e = wharf_kv_entry_at(kv, **link)) {
    if (e->hash == hash && e->key_len == key_len && memcmp(e + 1, key, key_len) == 0) return e;
    *link = &e->next;
  }
  return NULL;
}

/* The value of `key` into `value` (`capacity` bytes), its length in
 * *value_len. WHARF_NOT_FOUND; WHARF_BUFFER_TOO_SMALL (*value_len says how
 * much is needed). */
static inline wharf_status wharf_kv_get(const wharf_kv *kv, const void *key, size_t key_len,
                                        void *value, size_t capacity, size_t *value_len) {
  wharf_kv_table *table = wharf_kv_lock(kv);
  if (table == NULL) return WHARF_ERROR;
  uint64_t *link;
  wharf_kv_entry *e = wharf_kv_find(kv, table, key, key_len, wharf_kv_hash(key, key_len), &link);
  wharf_status status = WHARF_NOT_FOUND;
  if (e != NULL) {
    if (value_len != NULL) *value_len = e->value_len;
    status = e->value_len > capacity ? WHARF_BUFFER_TOO_SMALL : WHARF_OK;
    if (status == WHARF_OK) memcpy(value, (const char *)(e + 1) + e->key_len, e->value_len);
  }
  kv->api->zone_unlock(kv->zone);
  return status;
}

/* WHARF_NOT_FOUND if there was no such key. */
static inline wharf_status wharf_kv_delete(const wharf_kv *kv, const void *key, size_t key_len) {
  wharf_kv_table *table = wharf_kv_lock(kv);
  if (table == NULL) return WHARF_ERROR;
  uint64_t *link;
  wharf_kv_entry *e = wharf_kv_find(kv, table, key, key_len, wharf_kv_hash(key, key_len), &link);
  if (e != NULL) {
    uint64_t offset = *link;
    *link = e->next; /* published */
    kv->api->zone_free(kv->zone, offset);
    --table->count;
  }
  kv->api->zone_unlock(kv->zone);
  return e != NULL ? WHARF_OK : WHARF_NOT_FOUND;
}

/* What a wharf_kv_update callback decides. */
typedef enum wharf_kv_decision {
  WHARF_KV_KEEP = 0,  /* leave the key as it was */
  WHARF_KV_WRITE = 1, /* store the *new_len bytes written to new_value */
  WHARF_KV_REMOVE = 2 /* delete the key */
} wharf_kv_decision;

/* Sees the key's value (`old`, NULL with `found` 0 if there is none) and may
 * write a new one of up to `capacity` bytes into `new_value`, its length in
 * *new_len. Runs with the zone's lock held, which every worker waits on: keep
 * it short, and call no host function and no other wharf_kv_* from it. */
typedef wharf_kv_decision (*wharf_kv_updater)(void *user, const void *old, size_t old_len,
                                              int found, void *new_value, size_t capacity,
                                              size_t *new_len);

/* Reads, decides and writes `key` under one hold of the zone's lock, so no
 * other thread or worker comes between (a get then a set loses updates).
 * `max_value_len` bounds what `update` may write. WHARF_ERROR when the zone
 * has no room (the old value stays); WHARF_INVALID if `update` claims more
 * than `max_value_len`. The new value is published with one store, as by
 * wharf_kv_set. */
static inline wharf_status wharf_kv_update(const wharf_kv *kv, const void *key, size_t key_len,
                                           size_t max_value_len, wharf_kv_updater update,
                                           void *user) {
  if (key_len > UINT32_MAX || max_value_len > UINT32_MAX) return WHARF_INVALID;
  wharf_kv_table *table = wharf_kv_lock(kv);
  if (table == NULL) return WHARF_ERROR;
  uint64_t hash = wharf_kv_hash(key, key_len);
  uint64_t *link;
  wharf_kv_entry *old = wharf_kv_find(kv, table, key, key_len, hash, &link);
  uint64_t offset = kv->api->zone_alloc(kv->zone, sizeof(wharf_kv_entry) + key_len + max_value_len);
  if (offset == 0) {
    kv->api->zone_unlock(kv->zone);
    return WHARF_ERROR;
  }
  wharf_kv_entry *e = wharf_kv_entry_at(kv, offset);
  size_t new_len = 0;
  wharf_kv_decision decision =
      update(user, old != NULL ? (const char *)(old + 1) + old->key_len : NULL,
             old != NULL ? old->value_len : 0, old != NULL, (char *)(e + 1) + key_len,
             max_value_len, &new_len);
  wharf_status status = WHARF_OK;
  if (decision == WHARF_KV_WRITE && new_len <= max_value_len) {
    e->next = old != NULL ? old->next : *link;
    e->hash = hash;
    e->key_len = (uint32_t)key_len;
    e->value_len = (uint32_t)new_len;
    memcpy(e + 1, key, key_len);
    uint64_t old_offset = *link;
    *link = offset; /* published */
    if (old != NULL)
      kv->api->zone_free(kv->zone, old_offset);
    else
      ++table->count;
  } else {
    kv->api->zone_free(kv->zone, offset);
    if (decision == WHARF_KV_WRITE) {
      status = WHARF_INVALID;
    } else if (decision == WHARF_KV_REMOVE && old != NULL) {
      uint64_t old_offset = *link;
      *link = old->next; /* published */
      kv->api->zone_free(kv->zone, old_offset);
      --table->count;
    }
  }
  kv->api->zone_unlock(kv->zone);
  return status;
}

typedef struct wharf_kv_increment {
  int64_t delta;
  int64_t result;
  int wrong_size;
} wharf_kv_increment;

static inline wharf_kv_decision wharf_kv_add(void *user, const void *old, size_t old_len, int found,
                                             void *new_value, size_t capacity, size_t *new_len) {
  wharf_kv_increment *increment = (wharf_kv_increment *)user;
  int64_t value = 0;
  (void)capacity;
  if (found && old_len != sizeof value) {
    increment->wrong_size = 1;
    return WHARF_KV_KEEP;
  }
  if (found) memcpy(&value, old, sizeof value);
  /* Wraps as unsigned arithmetic does, never undefined. */
  value = (int64_t)((uint64_t)value + (uint64_t)increment->delta);
  memcpy(new_value, &value, sizeof value);
  *new_len = sizeof value;
  increment->result = value;
  return WHARF_KV_WRITE;
}

/* Adds `delta` to the integer at `key` (8 bytes, this machine's int64_t; a
 * missing key counts as 0) under the lock; the new value in *result.
 * WHARF_INVALID if the key holds something else; WHARF_ERROR when the zone
 * has no room. */
static inline wharf_status wharf_kv_incr(const wharf_kv *kv, const void *key, size_t key_len,
                                         int64_t delta, int64_t *result) {
  wharf_kv_increment increment = {delta, 0, 0};
  wharf_status status =
      wharf_kv_update(kv, key, key_len, sizeof(int64_t), wharf_kv_add, &increment);
  if (status == WHARF_OK && increment.wrong_size) status = WHARF_INVALID;
  if (status == WHARF_OK && result != NULL) *result = increment.result;
  return status;
}

typedef struct wharf_kv_comparison {
  const void *expected; /* NULL: the key must be absent */
  size_t expected_len;
  const void *value;
  size_t value_len;
  int swapped;
} wharf_kv_comparison;

static inline wharf_kv_decision wharf_kv_compare(void *user, const void *old, size_t old_len,
                                                 int found, void *new_value, size_t capacity,
                                                 size_t *new_len) {
  wharf_kv_comparison *comparison = (wharf_kv_comparison *)user;
  int matches = comparison->expected == NULL ? !found
                                             : found && old_len == comparison->expected_len &&
                                                   memcmp(old, comparison->expected, old_len) == 0;
  (void)capacity;
  if (!matches) return WHARF_KV_KEEP;
  memcpy(new_value, comparison->value, comparison->value_len);
  *new_len = comparison->value_len;
  comparison->swapped = 1;
  return WHARF_KV_WRITE;
}

/* Sets `key` to `value` only if it holds `expected` (NULL: only if it is
 * absent); *swapped says whether it did. WHARF_ERROR when the zone has no room. */
static inline wharf_status wharf_kv_compare_and_set(const wharf_kv *kv, const void *key,
                                                    size_t key_len, const void *expected,
                                                    size_t expected_len, const void *value,
                                                    size_t value_len, int *swapped) {
  wharf_kv_comparison comparison = {expected, expected_len, value, value_len, 0};
  wharf_status status = wharf_kv_update(kv, key, key_len, value_len, wharf_kv_compare, &comparison);
  if (swapped != NULL) *swapped = comparison.swapped;
  return status;
}

typedef struct wharf_kv_value {
  const void *bytes;
  size_t len;
} wharf_kv_value;

static inline wharf_kv_decision wharf_kv_replace(void *user, const void *old, size_t old_len,
                                                 int found, void *new_value, size_t capacity,
                                                 size_t *new_len) {
  const wharf_kv_value *value = (const wharf_kv_value *)user;
  (void)old;
  (void)old_len;
  (void)found;
  (void)capacity;
  memcpy(new_value, value->bytes, value->len);
  *new_len = value->len;
  return WHARF_KV_WRITE;
}

/* Sets `key` to `value`. WHARF_ERROR when the zone has no room (the old
 * value stays). */
static inline wharf_status wharf_kv_set(const wharf_kv *kv, const void *key, size_t key_len,
                                        const void *value, size_t value_len) {
  wharf_kv_value replacement = {value, value_len};
  return wharf_kv_update(kv, key, key_len, value_len, wharf_kv_replace, &replacement);
}

static inline uint64_t wharf_kv_count(const wharf_kv *kv) {
  wharf_kv_table *table = wharf_kv_lock(kv);
  if (table == NULL) return 0;
  uint64_t count = table->count;
  kv->api->zone_unlock(kv->zone);
  return count;
}

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* WHARF_WHARF_KV_H */
