//! The AVX (VEX) forms of the x86_64 lowering, checked by execution on this machine's own
//! CPU.
//!
//! The unicorn emulator that runs every other compiled x86_64 test executes VEX.128 SSE
//! instructions as their two-operand legacy forms (it ignores `VEX.vvvv`), so code compiled
//! with `has_avx` cannot be checked there. This test compiles the filetests of vectors and
//! floats (`vector/`, `float/`, `fminmax/`, `round/`, `convert/`, `compare/` under
//! `harness/tests/filetests`) with the `x86_64-v3` preset (AVX on) and runs every `; run:`
//! line whose function can be called directly from Rust natively: a leaf function with no
//! relocations, traps or calls, whose parameters are 1–4 vectors or floats (all passed in
//! XMM registers) and whose one result is a vector, a float or an integer. Each result must
//! match the run line's expectation, as on every other engine. The other run lines are
//! counted and printed as skipped; on a CPU without AVX, or off x86_64, the whole test
//! prints that it was skipped.

#[cfg(target_arch = "x86_64")]
mod native {
    use core::arch::x86_64::__m128i;
    use kiln::ir::{Function, Type};
    use kiln::CompilerBuilder;
    use kiln_harness::filetest::{Expectation, TestFile};
    use kiln_harness::value::DataValue;
    use std::path::Path;

    /// Executable memory holding one function's code, unmapped on drop.
    struct Code {
        ptr: *mut libc::c_void,
        len: usize,
    }

    impl Code {
        fn new(bytes: &[u8]) -> Code {
            let len = bytes.len().next_multiple_of(4096).max(4096);
            // SAFETY: a fresh private anonymous mapping; checked for failure below.
            let ptr = unsafe {
                libc::mmap(
                    core::ptr::null_mut(),
                    len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            assert_ne!(ptr, libc::MAP_FAILED, "mmap failed");
            // SAFETY: the mapping is `len >= bytes.len()` bytes, writable, and ours.
            unsafe {
                core::ptr::copy_nonoverlapping(bytes.as_ptr(), ptr.cast::<u8>(), bytes.len());
                assert_eq!(
                    libc::mprotect(ptr, len, libc::PROT_READ | libc::PROT_EXEC),
                    0
                );
            }
            Code { ptr, len }
        }
    }

    impl Drop for Code {
        fn drop(&mut self) {
            // SAFETY: unmapping the mapping made in `new`, which nothing uses any more.
            unsafe {
                libc::munmap(self.ptr, self.len);
            }
        }
    }

    /// A vector or float argument as the XMM register value that carries it (a float
    /// scalar in the low lane, as the System V ABI passes it).
    fn m128(v: &DataValue) -> Option<__m128i> {
        let mut b = [0u8; 16];
        match v {
            DataValue::V128(_, bytes) => b = *bytes,
            DataValue::F32(x) => b[..4].copy_from_slice(&x.to_le_bytes()),
            DataValue::F64(x) => b[..8].copy_from_slice(&x.to_le_bytes()),
            _ => return None,
        }
        // SAFETY: 16 plain bytes reinterpreted as a 16-byte vector.
        Some(unsafe { core::mem::transmute::<[u8; 16], __m128i>(b) })
    }

    /// Call `code` with XMM arguments under the System V ABI; the result's raw bits:
    /// `xmm0` for a vector or float result, `rax` for an integer one.
    fn call(code: &Code, args: &[__m128i], vector_result: bool) -> Option<[u8; 16]> {
        macro_rules! go {
            ($ret:ty, $($a:ident),*) => {{
                // SAFETY: the code is a complete function compiled for the System V ABI
                // with exactly these parameter types and this result type; it touches no
                // memory but its own stack frame.
                let f: extern "sysv64" fn($($a),*) -> $ret = unsafe { core::mem::transmute(code.ptr) };
                f
            }};
        }
        type V = __m128i;
        let bytes = |v: V| -> [u8; 16] {
            // SAFETY: a 16-byte vector reinterpreted as its bytes.
            unsafe { core::mem::transmute::<V, [u8; 16]>(v) }
        };
        let int = |x: u64| -> [u8; 16] {
            let mut b = [0u8; 16];
            b[..8].copy_from_slice(&x.to_le_bytes());
            b
        };
        Some(match (args, vector_result) {
            (&[a], true) => bytes(go!(V, V)(a)),
            (&[a, b], true) => bytes(go!(V, V, V)(a, b)),
            (&[a, b, c], true) => bytes(go!(V, V, V, V)(a, b, c)),
            (&[a, b, c, d], true) => bytes(go!(V, V, V, V, V)(a, b, c, d)),
            (&[a], false) => int(go!(u64, V)(a)),
            (&[a, b], false) => int(go!(u64, V, V)(a, b)),
            (&[a, b, c], false) => int(go!(u64, V, V, V)(a, b, c)),
            _ => return None,
        })
    }

    /// Can `f` be called through [`call`]?
    fn callable_signature(f: &Function) -> bool {
        let sig = &f.signature;
        (1..=4).contains(&sig.params.len())
            && sig.params.iter().all(|t| t.is_vector() || t.is_float())
            && sig.returns.len() == 1
            && (sig.params.len() < 4 || in_xmm(sig.returns[0]))
    }

    /// Is a value of `ty` returned in `xmm0` (else `rax`)?
    fn in_xmm(ty: Type) -> bool {
        ty.is_vector() || ty.is_float()
    }

    /// The returned bits as a value of `ty`.
    fn result_value(ty: Type, bits: [u8; 16]) -> Option<DataValue> {
        if ty.is_vector() {
            return Some(DataValue::V128(ty, bits));
        }
        if ty.is_float() {
            return DataValue::from_le_bytes(ty, &bits[..ty.bytes() as usize]);
        }
        let x = u64::from_le_bytes(bits[..8].try_into().ok()?);
        DataValue::from_int(ty, x & ty.int_mask())
    }

    /// The filetest directories whose functions take vectors or floats.
    const DIRS: &[&str] = &["vector", "float", "fminmax", "round", "convert", "compare"];

    pub fn run() {
        if !std::arch::is_x86_feature_detected!("avx") {
            println!("avx_native: skipped: this CPU has no AVX");
            return;
        }
        let mut b = CompilerBuilder::for_target("x86_64").unwrap();
        b.preset("x86_64-v3").unwrap();
        b.set("enable_simd", "true").unwrap();
        let compiler = b.build().unwrap();
        // The same CPU without AVX: where the code differs, VEX forms were chosen.
        let mut b = CompilerBuilder::for_target("x86_64").unwrap();
        b.preset("x86_64-v3").unwrap();
        b.set("has_avx", "false").unwrap();
        b.set("has_avx2", "false").unwrap();
        b.set("enable_simd", "true").unwrap();
        let sse_only = b.build().unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/filetests");
        let mut paths: Vec<_> = DIRS
            .iter()
            .flat_map(|d| std::fs::read_dir(root.join(d)).unwrap())
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "kir"))
            .collect();
        paths.sort();
        let (mut passed, mut skipped, mut vex_functions) = (0usize, 0usize, 0usize);
        let mut failures = Vec::new();
        for path in &paths {
            let file = TestFile::load(path).unwrap_or_else(|e| panic!("{e:?}"));
            let mut codes: Vec<Option<Code>> = Vec::new();
            for f in &file.functions {
                let compiled = compiler.compile_function(f).unwrap();
                let plain = compiled.relocs.is_empty()
                    && compiled.traps.is_empty()
                    && compiled.call_sites.is_empty()
                    && callable_signature(f);
                if compiled.code != sse_only.compile_function(f).unwrap().code {
                    vex_functions += 1;
                }
                codes.push(plain.then(|| Code::new(&compiled.code)));
            }
            for run in &file.runs {
                let f = &file.functions[run.func_index];
                let args: Option<Vec<__m128i>> =
                    run.args.iter().map(|a| m128(&a.resolve())).collect();
                let (Some(code), Some(args), Expectation::Returns(expected)) =
                    (&codes[run.func_index], args, &run.expect)
                else {
                    skipped += 1;
                    continue;
                };
                let ret = f.signature.returns[0];
                let Some(bits) = call(code, &args, in_xmm(ret)) else {
                    skipped += 1;
                    continue;
                };
                let actual = result_value(ret, bits).unwrap();
                if expected.len() == 1 && expected[0].matches(&actual) {
                    passed += 1;
                } else {
                    failures.push(format!(
                        "{}:{}: {} — got {actual}",
                        path.display(),
                        run.line,
                        run.text
                    ));
                }
            }
        }
        println!(
            "avx_native: {passed} run lines passed natively, {} failed, {skipped} skipped \
             (not callable directly); {vex_functions} functions compile differently without AVX",
            failures.len()
        );
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert!(passed >= 2500, "only {passed} run lines ran natively");
        assert!(
            vex_functions >= 100,
            "only {vex_functions} functions use VEX forms"
        );
    }
}

#[test]
fn vector_filetests_run_natively_with_avx_encodings() {
    #[cfg(target_arch = "x86_64")]
    native::run();
    #[cfg(not(target_arch = "x86_64"))]
    println!("avx_native: skipped: not an x86_64 host");
}
