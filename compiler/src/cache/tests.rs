//! Tests of the cache with real compiles: hits equal fresh compiles, parameter-only changes
//! hit, bad entries are misses, the disk store is atomic, capped and names paths.

use super::*;
use crate::ir::text::parse_functions;
use crate::ir::{SourceLoc, UserExternalName, UserFuncName};
use crate::isa::Arch;
use crate::{Compiler, CompilerBuilder};
use std::sync::atomic::{AtomicU64, Ordering};

const SRC: &str = "function %f(i64, i64) -> i64 {
    sig0 = (i64) -> i64
    fn0 = u0:7 sig0
    fn1 = u0:8 sig0
block0(v0: i64, v1: i64):
    v2 = iconst.i64 5
    v3 = iadd v0, v2
    v4 = call fn0(v3)
    v5 = call fn1(v4)
    brif v1, block1, block2(v5)
block1:
    v6 = sdiv v0, v1
    return v6
block2(v7: i64):
    return v7
}

function %g(i32) -> i32 {
block0(v0: i32):
    v1 = imul v0, v0
    return v1
}
";

fn funcs() -> Vec<Function> {
    let mut fs = parse_functions(SRC).unwrap();
    // Give %f source locations so that finalizing has something to make absolute.
    let f = &mut fs[0];
    let insts: Vec<_> = f
        .layout
        .blocks()
        .flat_map(|b| f.layout.block_insts(b).collect::<Vec<_>>())
        .collect();
    for (i, inst) in insts.into_iter().enumerate() {
        f.set_srcloc(inst, SourceLoc::new(100 + 3 * i as u32));
    }
    fs
}

fn compiler(arch: Arch) -> Box<dyn Compiler> {
    CompilerBuilder::for_target(arch.name())
        .unwrap()
        .build()
        .unwrap()
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let p = std::env::temp_dir().join(format!(
            "kiln-cache-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn hits_equal_fresh_compiles_on_both_isas() {
    for arch in Arch::ALL {
        let c = compiler(arch);
        let store = MemoryStore::new();
        for f in &funcs() {
            let fresh = c.compile_function(f).unwrap();
            let first = c.compile_function_cached(f, &store).unwrap();
            assert!(!first.hit);
            assert_eq!(first.code, fresh);
            let second = c.compile_function_cached(f, &store).unwrap();
            assert!(second.hit, "{arch}: {}", f.params.name);
            assert_eq!(second.code, fresh);
            assert_eq!(second.key, first.key);
        }
        let s = store.stats().snapshot();
        assert_eq!(
            (s.lookups, s.hits, s.misses, s.inserts, s.rejected),
            (4, 2, 2, 2, 0)
        );
        assert!(s.bytes_stored > 0 && s.bytes_loaded > 0);
        assert!(s.to_string().contains("hits 2 (50.0%)"), "{s}");
    }
}

#[test]
fn parameter_changes_hit_and_finalize_with_the_new_parameters() {
    let c = compiler(Arch::X86_64);
    let store = MemoryStore::new();
    let f = funcs().remove(0);
    c.compile_function_cached(&f, &store).unwrap();
    let mut g = f.clone();
    g.params.name = UserFuncName::User(UserExternalName::new(1, 2));
    for r in g.params.user_named_funcs().keys().collect::<Vec<_>>() {
        g.params
            .rename_user_name(r, UserExternalName::new(5, 50 + r.as_u32()));
    }
    g.params.rebase_srclocs(0x1000);
    let hit = c.compile_function_cached(&g, &store).unwrap();
    assert!(hit.hit);
    let fresh = c.compile_function(&g).unwrap();
    assert_eq!(hit.code, fresh);
    assert_ne!(
        hit.code,
        c.compile_function(&f).unwrap(),
        "names and locations changed"
    );
}

#[test]
fn stencil_changes_miss() {
    let c = compiler(Arch::Aarch64);
    let f = funcs().remove(0);
    let k = c.cache_key(&f.stencil);
    let mut g = f.clone();
    g.stack_slots.push(crate::ir::StackSlotData::new(8));
    assert_ne!(c.cache_key(&g.stencil), k);
    let mut g = f.clone();
    g.signature.returns.push(crate::ir::Type::I32);
    assert_ne!(c.cache_key(&g.stencil), k);
    let mut g = f.clone();
    let first = g
        .layout
        .first_inst(g.layout.entry_block().unwrap())
        .unwrap();
    g.set_srcloc(first, SourceLoc::new(7));
    assert_ne!(c.cache_key(&g.stencil), k);
}

#[test]
fn bad_entries_are_counted_misses_that_get_overwritten() {
    let c = compiler(Arch::X86_64);
    let fs = funcs();
    let (f, g) = (&fs[0], &fs[1]);
    let store = MemoryStore::new();
    let good = c.compile_function(f).unwrap();
    let key = c.cache_key(&f.stencil);
    let entry = encode_entry(&key, &c.compile_function_stencil(f).unwrap());
    let foreign = encode_entry(
        &c.cache_key(&g.stencil),
        &c.compile_function_stencil(g).unwrap(),
    );
    let mut flipped = entry.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x10;
    let mut version = entry.clone();
    version[8] ^= 1;
    let bad = [
        flipped,
        entry[..entry.len() - 1].to_vec(),
        Vec::new(),
        foreign,
        version,
        b"garbage".to_vec(),
    ];
    for (i, b) in bad.iter().enumerate() {
        store.insert(&key, b.clone()).unwrap();
        let r = c.compile_function_cached(f, &store).unwrap();
        assert!(!r.hit, "bad entry {i} was a hit");
        assert_eq!(r.code, good);
        assert_eq!(store.stats().snapshot().rejected, i as u64 + 1);
        let again = c.compile_function_cached(f, &store).unwrap();
        assert!(again.hit, "entry {i} was not overwritten");
        assert_eq!(again.code, good);
    }
    assert!(store
        .stats()
        .snapshot()
        .last_problem
        .unwrap()
        .contains(&key.to_string()));
}

#[test]
fn verify_mode_catches_a_wrong_entry_and_prints_both() {
    let c = compiler(Arch::X86_64);
    let fs = funcs();
    let (f, g) = (&fs[0], &fs[1]);
    let store = MemoryStore::new().with_verify(true);
    c.compile_function_cached(f, &store).unwrap();
    let ok = c.compile_function_cached(f, &store).unwrap();
    assert!(ok.hit);
    assert_eq!(store.stats().snapshot().verified, 1);
    // A well-formed entry with the right key but another function's code: only verify
    // mode can tell.
    let key = c.cache_key(&f.stencil);
    let mut wrong = c.compile_function_stencil(f).unwrap();
    wrong.code = c.compile_function_stencil(g).unwrap().code;
    wrong.relocs.clear();
    wrong.traps.clear();
    wrong.srclocs.clear();
    wrong.call_sites.clear();
    store.insert(&key, encode_entry(&key, &wrong)).unwrap();
    let e = c
        .compile_function_cached(f, &store)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("--- cached ---") && e.contains("--- fresh ---") && e.contains("code"),
        "{e}"
    );
}

#[test]
fn disk_store_round_trips_across_instances_and_clears() {
    let dir = TempDir::new("roundtrip");
    let c = compiler(Arch::Aarch64);
    let fs = funcs();
    {
        let store = DiskStore::open(&dir.0).unwrap();
        for f in &fs {
            assert!(!c.compile_function_cached(f, &store).unwrap().hit);
        }
    }
    std::fs::write(dir.0.join("README"), "not an entry").unwrap();
    let store = DiskStore::open(&dir.0).unwrap();
    for f in &fs {
        let r = c.compile_function_cached(f, &store).unwrap();
        assert!(r.hit);
        assert_eq!(r.code, c.compile_function(f).unwrap());
        assert!(store.entry_path(&r.key).is_file());
    }
    let u = store.usage().unwrap();
    assert_eq!((u.entries, u.temp_files), (2, 0));
    for e in store.entries().unwrap() {
        let bytes = std::fs::read(&e.path).unwrap();
        assert_eq!(entry::inspect_entry(&bytes).unwrap().key, e.key);
    }
    // A corrupt file on disk: a counted miss, then overwritten.
    let key = c.cache_key(&fs[1].stencil);
    std::fs::write(store.entry_path(&key), b"KILNCCE\0junk").unwrap();
    assert!(!c.compile_function_cached(&fs[1], &store).unwrap().hit);
    assert_eq!(store.stats().snapshot().rejected, 1);
    assert!(c.compile_function_cached(&fs[1], &store).unwrap().hit);
    assert_eq!(store.clear().unwrap(), 2);
    assert!(dir.0.join("README").is_file(), "other files are left alone");
    assert_eq!(store.usage().unwrap().entries, 0);
}

#[test]
fn disk_store_errors_name_the_path_and_never_fail_compiles() {
    let dir = TempDir::new("errors");
    std::fs::create_dir_all(&dir.0).unwrap();
    let file = dir.0.join("plain-file");
    std::fs::write(&file, "x").unwrap();
    let e = DiskStore::open(&file).unwrap_err().to_string();
    assert!(
        e.contains("plain-file") && e.contains("not a directory"),
        "{e}"
    );
    let e = DiskStore::open_existing(dir.0.join("missing"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing"), "{e}");
    // The directory disappears under the store: inserts fail, compiles don't.
    let sub = dir.0.join("sub");
    let store = DiskStore::open(&sub).unwrap();
    std::fs::remove_dir_all(&sub).unwrap();
    let c = compiler(Arch::X86_64);
    let f = &funcs()[1];
    let r = c.compile_function_cached(f, &store).unwrap();
    assert_eq!(r.code, c.compile_function(f).unwrap());
    let s = store.stats().snapshot();
    assert_eq!((s.inserts, s.insert_errors), (0, 1));
    assert!(s.last_problem.unwrap().contains("sub"));
}

#[test]
fn disk_store_is_safe_with_concurrent_writers() {
    let dir = TempDir::new("concurrent");
    let c = compiler(Arch::X86_64);
    let fs = funcs();
    let stores: Vec<DiskStore> = (0..4).map(|_| DiskStore::open(&dir.0).unwrap()).collect();
    std::thread::scope(|s| {
        for store in &stores {
            let (c, fs) = (&c, &fs);
            s.spawn(move || {
                for _ in 0..25 {
                    for f in fs {
                        // Write even on hits, to race renames against reads.
                        let r = c.compile_function_cached(f, store).unwrap();
                        let e = c.compile_function_stencil(f).unwrap();
                        store.insert(&r.key, encode_entry(&r.key, &e)).unwrap();
                        assert_eq!(r.code, c.compile_function(f).unwrap());
                    }
                }
            });
        }
    });
    let rejected: u64 = stores.iter().map(|s| s.stats().snapshot().rejected).sum();
    assert_eq!(rejected, 0, "a reader saw a partial entry");
    let u = stores[0].usage().unwrap();
    assert_eq!((u.entries, u.temp_files), (2, 0));
}

#[test]
fn disk_store_cap_evicts_least_recently_used() {
    let dir = TempDir::new("cap");
    let c = compiler(Arch::X86_64);
    let fs = funcs();
    let one = encode_entry(
        &c.cache_key(&fs[0].stencil),
        &c.compile_function_stencil(&fs[0]).unwrap(),
    )
    .len() as u64;
    let store = DiskStore::open(&dir.0)
        .unwrap()
        .with_max_bytes(Some(one * 5 / 2));
    assert_eq!(store.max_bytes(), Some(one * 5 / 2));
    let keys: Vec<CacheKey> = (0..3u8).map(|i| CacheKey([i; 32])).collect();
    let code = c.compile_function_stencil(&fs[0]).unwrap();
    for (i, k) in keys.iter().enumerate() {
        store.insert(k, encode_entry(k, &code)).unwrap();
        // Distinct modification times, oldest first; then touch key 0 by a hit.
        let t = SystemTimeExt::secs_ago(100 - i as u64 * 10);
        let f = std::fs::File::options()
            .write(true)
            .open(store.entry_path(k))
            .unwrap();
        f.set_modified(t).unwrap();
        if i == 1 {
            assert!(store.get(&keys[0]).is_some());
        }
    }
    // Inserting the third went over the cap: the least recently used (key 1) is gone.
    let left: Vec<CacheKey> = store.entries().unwrap().iter().map(|e| e.key).collect();
    assert!(left.len() <= 2, "{left:?}");
    assert!(!left.contains(&keys[1]), "{left:?}");
    assert!(store.stats().snapshot().evictions >= 1);
}

struct SystemTimeExt;

impl SystemTimeExt {
    fn secs_ago(s: u64) -> std::time::SystemTime {
        std::time::SystemTime::now() - std::time::Duration::from_secs(s)
    }
}

/// Counters accumulate across stores (processes) sharing a directory: each store adds
/// what it counted exactly once, concurrent updates lose nothing, `clear` resets them.
#[test]
fn totals_accumulate_across_stores_and_survive_concurrent_updates() {
    use std::time::Duration;
    let dir = TempDir::new("totals");
    assert_eq!(DiskStore::open(&dir.0).unwrap().totals().unwrap(), None);
    // 8 stores at once (each its own lock descriptor, as processes have), each counting
    // 50 lookups (40 hits, 10 misses of which 2 rejected) and persisting twice.
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                let store = DiskStore::open(&dir.0).unwrap();
                for i in 0..50u64 {
                    if i % 5 == 0 {
                        let rejected = (i % 25 == 0).then(|| (3, "bad".to_string()));
                        store.stats().record_miss(rejected, Duration::ZERO);
                        store.stats().record_insert(Ok(100), Duration::ZERO);
                    } else {
                        store.stats().record_hit(10, Duration::ZERO);
                    }
                    if i == 25 {
                        store.persist_stats().unwrap();
                    }
                }
                store.persist_stats().unwrap();
                // Nothing new: nothing added (and the drop adds nothing either).
                assert_eq!(store.persist_stats().unwrap(), None);
            });
        }
    });
    let t = DiskStore::open(&dir.0)
        .unwrap()
        .totals()
        .unwrap()
        .expect("totals");
    assert_eq!(
        (t.lookups, t.hits, t.misses, t.rejected, t.inserts),
        (400, 320, 80, 16, 80),
        "{t}"
    );
    assert_eq!((t.bytes_loaded, t.bytes_stored), (320 * 10 + 16 * 3, 8000));
    assert!(
        t.to_string().starts_with("lookups 400, hits 320 (80.0 %)"),
        "{t}"
    );
    // A store that is dropped persists what it counted.
    {
        let store = DiskStore::open(&dir.0).unwrap();
        store.stats().record_hit(1, Duration::ZERO);
    }
    let t = DiskStore::open(&dir.0).unwrap().totals().unwrap().unwrap();
    assert_eq!((t.lookups, t.hits), (401, 321));
    // `clear` resets them; counting starts again.
    let store = DiskStore::open(&dir.0).unwrap();
    store.clear().unwrap();
    assert_eq!(store.totals().unwrap(), None);
    store.stats().record_hit(1, Duration::ZERO);
    assert_eq!(store.persist_stats().unwrap().map(|t| t.lookups), Some(1));
}

/// A totals file that is not ours is an error naming it when read, and an update replaces
/// it with fresh counts (recorded as a problem), never misreading it.
#[test]
fn corrupt_totals_are_named_and_replaced() {
    use std::time::Duration;
    let dir = TempDir::new("totals-corrupt");
    std::fs::create_dir_all(&dir.0).unwrap();
    let path = dir.0.join(totals::TOTALS_FILE);
    for bad in [
        &b"garbage"[..],
        b"kiln-cache-stats 1\nsince 5\nlookups x\n",
        b"",
    ] {
        std::fs::write(&path, bad).unwrap();
        let store = DiskStore::open(&dir.0).unwrap();
        let e = store.totals().unwrap_err().to_string();
        assert!(
            e.contains("stats.kcs") && e.contains("not a kiln cache statistics file"),
            "{e}"
        );
        store.stats().record_miss(None, Duration::ZERO);
        let t = store.persist_stats().unwrap().unwrap();
        assert_eq!((t.lookups, t.misses), (1, 1));
        let problem = store.stats().snapshot().last_problem.unwrap_or_default();
        assert!(problem.contains("stats.kcs"), "{problem}");
        assert_eq!(store.totals().unwrap(), Some(t));
    }
}
