//! Translation memos: a warm recompile of a Wasm module skips validating and translating
//! every function whose body and module environment it has seen before.
//!
//! A stencil's key ([`super::key`]) is computed from IR, so on its own it can only be
//! looked up after the function was validated and translated — most of a warm recompile's
//! time. A module's memo is one more entry in the same store, keyed by what translation
//! reads besides the bodies: the compiler's key prefix (compiler version, target,
//! settings) and a digest of the module's *environment* ([`module_environment_digest`]:
//! every section except the code section — types, imports, function signatures, tables,
//! memories, globals, exports, segments, custom sections). It lists, for each function of
//! the module's last compile through the store, the function's index, a digest of its body
//! ([`body_digest`]), its stencil's key and its parameters (name table, base source
//! location) — all that [`CompiledCodeStencil::apply_params`](crate::machinst::CompiledCodeStencil::apply_params)
//! needs besides the stencil — and where the body started in the module it was made from.
//! The body digest does not see where the body is (a longer body before it moves it), so a
//! hit moves the base source location by the body's displacement: trap sites keep the Wasm
//! offsets of the module being compiled.
//!
//! One memo per module, not per function: a store that keeps a file per entry (the disk
//! store) then writes one file per compiled function, not two, and a warm recompile reads
//! one per function plus the memo.
//!
//! Invariants:
//! - translation and validation of a body depend only on the environment, the index and the
//!   body, all covered (the memo key, the entry's index, its body digest); so a memo hit
//!   gives exactly the code a fresh compile gives. Anything else that changes — another
//!   section, another setting — changes the key;
//! - a memo that is absent, corrupt or points to a missing or bad stencil entry is ignored:
//!   the function is translated and looked up by its stencil key as without memos, and the
//!   memo is rewritten. Never a panic, never wrong code;
//! - a memo's functions are in strictly increasing index order (a decoded memo that is not
//!   is refused), at most one per index;
//! - memos live under [`MEMO_MAGIC`] with the same checked header as code entries
//!   ([`super::entry`]); a memo read as code (or code as a memo) is refused by its magic.

use super::entry::{
    decode_entry, decode_header, payload_for, with_header, EntryError, EntryInfo, Reader,
};
use super::key::CacheKey;
use super::CacheStore;
use crate::ir::{FunctionParameters, SourceLoc, UserExternalName, UserFuncName};
use crate::machinst::CompiledCode;
use sha2::{Digest, Sha256};
use std::ops::Range;
use std::time::Instant;

/// The first 8 bytes of every module memo.
pub const MEMO_MAGIC: [u8; 8] = *b"KILNCMM\0";

/// What a memo remembers of one translated function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionMemo {
    /// The function's index in the module (imports included).
    pub index: u32,
    /// [`body_digest`] of its body.
    pub body: [u8; 32],
    /// The key of the function's stencil entry.
    pub stencil_key: CacheKey,
    /// The function's parameters, as translation made them.
    pub params: FunctionParameters,
    /// Module offset of the body the parameters' source locations were made from.
    pub body_start: u32,
}

impl FunctionMemo {
    /// The parameters for the same body starting at `body_start` in the module being
    /// compiled: source locations moved by the body's displacement.
    pub fn params_at(&self, body_start: u32) -> FunctionParameters {
        let mut p = self.params.clone();
        p.rebase_srclocs(i64::from(body_start) - i64::from(self.body_start));
        p
    }
}

/// A module's memo: its functions by increasing index.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModuleMemo {
    /// One per function compiled, in increasing index order.
    pub functions: Vec<FunctionMemo>,
}

impl ModuleMemo {
    /// The memo of function `index` when its body digest is `body`.
    pub fn function(&self, index: u32, body: &[u8; 32]) -> Option<&FunctionMemo> {
        let i = self
            .functions
            .binary_search_by_key(&index, |f| f.index)
            .ok()?;
        Some(&self.functions[i]).filter(|f| f.body == *body)
    }
}

/// The digest of a function body that a [`FunctionMemo`] names it by: SHA-256 over a
/// domain tag, the body's length and its bytes.
pub fn body_digest(body: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"kiln-wasm-body\0");
    h.update((body.len() as u64).to_le_bytes());
    h.update(body);
    h.finalize().into()
}

/// The module memo stored under `key`, when present and sound. Its time counts as load
/// time in the store's statistics (no lookup is counted: each function's use of it is
/// counted as a hit, or falls back to a stencil lookup that is).
pub fn load(store: &dyn CacheStore, key: &CacheKey) -> Option<ModuleMemo> {
    let t = Instant::now();
    let memo = store.get(key).and_then(|b| decode_memo(key, &b).ok());
    store.stats().record_memo_load(t.elapsed());
    memo
}

/// The finalized code `f` leads to for the same body starting at `body_start`, with the
/// memo entry for this compile (its parameters moved with the body), when `f`'s stencil
/// entry is present and sound; counted as a hit in the store's statistics. `None`
/// otherwise: only the time is counted, as load time (the caller falls back to translating
/// and looks the stencil up).
pub fn lookup(
    store: &dyn CacheStore,
    f: &FunctionMemo,
    body_start: u32,
) -> Option<(CompiledCode, FunctionMemo)> {
    let t = Instant::now();
    let params = f.params_at(body_start);
    let found = store.get(&f.stencil_key).and_then(|bytes| {
        let code = decode_entry(&f.stencil_key, &bytes).ok()?;
        Some((code.apply_params(&params).ok()?, bytes.len()))
    });
    match found {
        Some((code, len)) => {
            store.stats().record_hit(len, t.elapsed());
            let memo = FunctionMemo {
                params,
                body_start,
                ..f.clone()
            };
            Some((code, memo))
        }
        None => {
            store.stats().record_memo_load(t.elapsed());
            None
        }
    }
}

/// Store `memo` under `key` (best effort: a store that cannot be written to only loses the
/// shortcut, never a compile). Its time counts as store time.
pub fn store(store: &dyn CacheStore, key: &CacheKey, memo: &ModuleMemo) {
    let t = Instant::now();
    let _ = store.insert(key, encode_memo(key, memo));
    store.stats().record_memo_store(t.elapsed());
}

/// SHA-256 over the module's version and every section but the code section, each framed
/// by its id and length; `sections` lists `(id, content range)` in module order.
pub fn module_environment_digest(wasm: &[u8], sections: &[(u8, Range<usize>)]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"kiln-wasm-environment\0");
    h.update(wasm.get(..8).unwrap_or(wasm));
    for (id, range) in sections {
        let content = wasm.get(range.clone()).unwrap_or(&[]);
        h.update([*id]);
        h.update((content.len() as u64).to_le_bytes());
        h.update(content);
    }
    h.finalize().into()
}

/// Encode `memo` as the entry for `key`.
pub fn encode_memo(key: &CacheKey, memo: &ModuleMemo) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + memo.functions.len() * 96);
    out.extend_from_slice(&(memo.functions.len() as u32).to_le_bytes());
    for f in &memo.functions {
        let p = &f.params;
        out.extend_from_slice(&f.index.to_le_bytes());
        out.extend_from_slice(&f.body);
        out.extend_from_slice(f.stencil_key.as_bytes());
        out.extend_from_slice(&f.body_start.to_le_bytes());
        out.extend_from_slice(&p.base_srcloc().bits().to_le_bytes());
        match &p.name {
            UserFuncName::User(n) => {
                out.push(0);
                out.extend_from_slice(&n.namespace.to_le_bytes());
                out.extend_from_slice(&n.index.to_le_bytes());
            }
            UserFuncName::Testcase(s) => {
                out.push(1);
                out.extend_from_slice(&(s.len() as u32).to_le_bytes());
                out.extend_from_slice(s.as_bytes());
            }
        }
        out.extend_from_slice(&(p.user_named_funcs().len() as u32).to_le_bytes());
        for (_, n) in p.user_named_funcs().iter() {
            out.extend_from_slice(&n.namespace.to_le_bytes());
            out.extend_from_slice(&n.index.to_le_bytes());
        }
    }
    with_header(&MEMO_MAGIC, key, &out)
}

/// Decode the memo stored under `key`; every malformation is an [`EntryError`].
pub fn decode_memo(key: &CacheKey, bytes: &[u8]) -> Result<ModuleMemo, EntryError> {
    decode_memo_payload(payload_for(&MEMO_MAGIC, key, bytes)?)
}

/// Check a whole memo without knowing its key; returns the key it was written for.
pub fn inspect_memo(bytes: &[u8]) -> Result<EntryInfo, EntryError> {
    let (key, payload) = decode_header(&MEMO_MAGIC, bytes)?;
    decode_memo_payload(payload)?;
    Ok(EntryInfo { key, code_len: 0 })
}

/// Fewest bytes one function's memo takes (index, two digests, body start, base location,
/// name tag, name-table length).
const MIN_FUNCTION_MEMO: usize = 4 + 32 + 32 + 4 + 4 + 1 + 4;

fn decode_memo_payload(payload: &[u8]) -> Result<ModuleMemo, EntryError> {
    let mut r = Reader::new(payload);
    let n = r.count(MIN_FUNCTION_MEMO, "function count")?;
    let mut functions: Vec<FunctionMemo> = Vec::with_capacity(n);
    for _ in 0..n {
        let index = r.u32("function index")?;
        if functions.last().is_some_and(|f| f.index >= index) {
            return Err(EntryError::Malformed("function indices out of order"));
        }
        let mut body = [0u8; 32];
        body.copy_from_slice(r.take(32, "body digest")?);
        let mut stencil_key = [0u8; 32];
        stencil_key.copy_from_slice(r.take(32, "stencil key")?);
        let body_start = r.u32("body start")?;
        let base = SourceLoc::new(r.u32("base source location")?);
        let name = match r.u8("name tag")? {
            0 => UserFuncName::User(UserExternalName::new(
                r.u32("name namespace")?,
                r.u32("name index")?,
            )),
            1 => {
                let n = r.count(1, "name length")?;
                let s = std::str::from_utf8(r.take(n, "name")?)
                    .map_err(|_| EntryError::Malformed("name is not UTF-8"))?;
                UserFuncName::Testcase(s.to_string())
            }
            _ => return Err(EntryError::Malformed("unknown name tag")),
        };
        let n = r.count(8, "name table length")?;
        let mut names = Vec::with_capacity(n);
        for _ in 0..n {
            names.push(UserExternalName::new(r.u32("namespace")?, r.u32("index")?));
        }
        functions.push(FunctionMemo {
            index,
            body,
            stencil_key: CacheKey(stencil_key),
            params: FunctionParameters::from_parts(name, base, names),
            body_start,
        });
    }
    if !r.rest().is_empty() {
        return Err(EntryError::Malformed("bytes after the last field"));
    }
    Ok(ModuleMemo { functions })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ModuleMemo {
        ModuleMemo {
            functions: vec![
                FunctionMemo {
                    index: 3,
                    body: [5; 32],
                    stencil_key: CacheKey([7; 32]),
                    params: FunctionParameters::from_parts(
                        UserFuncName::User(UserExternalName::new(0, 42)),
                        SourceLoc::new(1234),
                        [UserExternalName::new(0, 3), UserExternalName::new(1, 9)],
                    ),
                    body_start: 1200,
                },
                FunctionMemo {
                    index: 9,
                    body: [6; 32],
                    stencil_key: CacheKey([8; 32]),
                    params: FunctionParameters::from_parts(
                        UserFuncName::Testcase("t".into()),
                        SourceLoc::new(77),
                        [],
                    ),
                    body_start: 70,
                },
            ],
        }
    }

    #[test]
    fn a_function_is_found_by_its_index_and_body() {
        let m = sample();
        assert_eq!(
            m.function(3, &[5; 32]).map(|f| f.stencil_key),
            Some(CacheKey([7; 32]))
        );
        assert_eq!(
            m.function(9, &[6; 32]).map(|f| f.stencil_key),
            Some(CacheKey([8; 32]))
        );
        assert!(m.function(3, &[6; 32]).is_none(), "another body");
        assert!(m.function(4, &[5; 32]).is_none(), "another index");
        // The same body 30 bytes later: its locations move with it.
        let p = m.functions[0].params_at(1230);
        assert_eq!(p.base_srcloc(), SourceLoc::new(1264));
    }

    #[test]
    fn functions_out_of_order_are_refused() {
        let key = CacheKey([1; 32]);
        let mut m = sample();
        m.functions.swap(0, 1);
        assert_eq!(
            decode_memo(&key, &encode_memo(&key, &m)),
            Err(EntryError::Malformed("function indices out of order"))
        );
        m.functions[1].index = 9; // two entries for one index
        assert!(decode_memo(&key, &encode_memo(&key, &m)).is_err());
        assert_eq!(
            decode_memo(&key, &encode_memo(&key, &ModuleMemo::default())),
            Ok(ModuleMemo::default())
        );
    }

    #[test]
    fn memos_round_trip_and_every_flipped_bit_is_refused() {
        let key = CacheKey([1; 32]);
        let m = sample();
        let bytes = encode_memo(&key, &m);
        assert_eq!(decode_memo(&key, &bytes), Ok(m.clone()));
        assert_eq!(super::super::inspect_stored(&bytes).map(|i| i.key), Ok(key));
        assert_eq!(inspect_memo(&bytes).map(|i| i.code_len), Ok(0));
        assert!(matches!(
            decode_memo(&CacheKey([2; 32]), &bytes),
            Err(EntryError::KeyMismatch { .. })
        ));
        for i in 0..bytes.len() * 8 {
            let mut b = bytes.clone();
            b[i / 8] ^= 1 << (i % 8);
            assert!(
                decode_memo(&key, &b).is_err(),
                "bit {i} flipped was accepted"
            );
        }
        for n in 0..bytes.len() {
            assert!(decode_memo(&key, &bytes[..n]).is_err());
        }
        // Code and memos refuse each other.
        assert_eq!(
            super::super::entry::decode_entry(&key, &bytes),
            Err(EntryError::BadMagic)
        );
    }

    #[test]
    fn the_environment_digest_sees_every_section_but_code() {
        let wasm: Vec<u8> = (0..64u8).collect();
        let s = vec![(1u8, 8..16), (3, 16..20), (11, 40..64)];
        let d = module_environment_digest(&wasm, &s);
        let mut w2 = wasm.clone();
        w2[30] ^= 1; // inside the code section (20..40), which is not listed
        assert_eq!(module_environment_digest(&w2, &s), d);
        for at in [3, 9, 17, 50] {
            let mut w3 = wasm.clone();
            w3[at] ^= 1;
            assert_ne!(module_environment_digest(&w3, &s), d, "byte {at}");
        }
        // Moving a boundary between sections changes the digest too.
        let s2 = vec![(1u8, 8..17), (3, 17..20), (11, 40..64)];
        assert_ne!(module_environment_digest(&wasm, &s2), d);
    }
}
