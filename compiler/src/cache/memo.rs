//! Translation memos: a warm recompile of a Wasm module skips validating and translating
//! every function whose body and module environment it has seen before.
//!
//! A stencil's key ([`super::key`]) is computed from IR, so on its own it can only be
//! looked up after the function was validated and translated — most of a warm recompile's
//! time. A memo is a second, small entry in the same store, keyed by what translation
//! reads: the compiler's key prefix (compiler version, target, settings), a digest of the
//! module's *environment* ([`module_environment_digest`]: every section except the code
//! section — types, imports, function signatures, tables, memories, globals, exports,
//! segments, custom sections), the function's index and its body bytes. It holds the
//! stencil's key and the function's parameters (name table, base source location), which
//! is all that [`CompiledCodeStencil::apply_params`](crate::machinst::CompiledCodeStencil::apply_params)
//! needs besides the stencil, and where the body started in the module it was made from.
//! The key does not see where the body is (a longer body before it moves it), so a hit
//! moves the base source location by the body's displacement: trap sites keep the Wasm
//! offsets of the module being compiled.
//!
//! Invariants:
//! - translation and validation of a body depend only on the environment, the index and the
//!   body, all in the memo key; so a memo hit gives exactly the code a fresh compile gives.
//!   Anything else that changes — another section, another setting — changes the key;
//! - a memo that is absent, corrupt or points to a missing or bad stencil entry is ignored:
//!   the function is translated and looked up by its stencil key as without memos, and the
//!   memo is rewritten. Never a panic, never wrong code;
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

/// The first 8 bytes of every memo.
pub const MEMO_MAGIC: [u8; 8] = *b"KILNCCM\0";

/// What a memo remembers of one translated function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Memo {
    /// The key of the function's stencil entry.
    pub stencil_key: CacheKey,
    /// The function's parameters, as translation made them.
    pub params: FunctionParameters,
    /// Module offset of the body the parameters' source locations were made from.
    pub body_start: u32,
}

/// The finalized code the memo under `key` leads to for a body starting at `body_start`,
/// when the memo and the stencil entry it names are both present and sound; counted as a
/// hit in the store's statistics. `None` otherwise: no lookup is counted (the caller falls
/// back to translating and looks the stencil up), only the time, as load time.
pub fn lookup(store: &dyn CacheStore, key: &CacheKey, body_start: u32) -> Option<CompiledCode> {
    let t = Instant::now();
    let found = follow(store, key, body_start);
    match &found {
        Some((_, bytes)) => store.stats().record_hit(*bytes, t.elapsed()),
        None => store.stats().record_memo_miss(t.elapsed()),
    }
    found.map(|(code, _)| code)
}

/// The code the memo under `key` leads to, and the size of its stencil entry.
fn follow(
    store: &dyn CacheStore,
    key: &CacheKey,
    body_start: u32,
) -> Option<(CompiledCode, usize)> {
    let mut memo = decode_memo(key, &store.get(key)?).ok()?;
    memo.params
        .rebase_srclocs(i64::from(body_start) - i64::from(memo.body_start));
    let bytes = store.get(&memo.stencil_key)?;
    let code = decode_entry(&memo.stencil_key, &bytes)
        .ok()?
        .apply_params(&memo.params)
        .ok()?;
    Some((code, bytes.len()))
}

/// Store a memo under `key` (best effort: a store that cannot be written to only loses the
/// shortcut, never a compile). Its time counts as store time.
pub fn remember(store: &dyn CacheStore, key: &CacheKey, memo: &Memo) {
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
pub fn encode_memo(key: &CacheKey, memo: &Memo) -> Vec<u8> {
    let p = &memo.params;
    let mut out = Vec::with_capacity(64 + p.user_named_funcs().len() * 8);
    out.extend_from_slice(memo.stencil_key.as_bytes());
    out.extend_from_slice(&memo.body_start.to_le_bytes());
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
    with_header(&MEMO_MAGIC, key, &out)
}

/// Decode the memo stored under `key`; every malformation is an [`EntryError`].
pub fn decode_memo(key: &CacheKey, bytes: &[u8]) -> Result<Memo, EntryError> {
    decode_memo_payload(payload_for(&MEMO_MAGIC, key, bytes)?)
}

/// Check a whole memo without knowing its key; returns the key it was written for.
pub fn inspect_memo(bytes: &[u8]) -> Result<EntryInfo, EntryError> {
    let (key, payload) = decode_header(&MEMO_MAGIC, bytes)?;
    decode_memo_payload(payload)?;
    Ok(EntryInfo { key, code_len: 0 })
}

fn decode_memo_payload(payload: &[u8]) -> Result<Memo, EntryError> {
    let mut r = Reader::new(payload);
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
    if !r.rest().is_empty() {
        return Err(EntryError::Malformed("bytes after the last field"));
    }
    Ok(Memo {
        stencil_key: CacheKey(stencil_key),
        params: FunctionParameters::from_parts(name, base, names),
        body_start,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Memo {
        Memo {
            stencil_key: CacheKey([7; 32]),
            params: FunctionParameters::from_parts(
                UserFuncName::User(UserExternalName::new(0, 42)),
                SourceLoc::new(1234),
                [UserExternalName::new(0, 3), UserExternalName::new(1, 9)],
            ),
            body_start: 1200,
        }
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
