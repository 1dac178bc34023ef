//! Entry points of the cargo-fuzz targets in `fuzz/fuzz_targets/`, which are one-line
//! calls into this module so that the logic is compiled and unit-tested with the rest of
//! the harness (a target can never silently rot).
//!
//! Each function panics exactly when it has found a bug; that is how libFuzzer learns of it.

use kiln::ir::text;
use kiln::ir::verify_function;

/// `kir_parse`: arbitrary text must never panic the parser or the verifier, and every
/// function that parses and verifies must print, re-parse and print again identically.
pub fn kir_parse(data: &[u8]) {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(functions) = text::parse_functions(src) else {
        return;
    };
    for f in &functions {
        if verify_function(f).is_err() {
            continue;
        }
        let printed = f.to_string();
        let reparsed = match text::parse_functions(&printed) {
            Ok(fs) if fs.len() == 1 => fs,
            Ok(fs) => panic!(
                "printed function re-parsed as {} functions:\n{printed}",
                fs.len()
            ),
            Err(e) => panic!("printed function does not re-parse: {e}\n{printed}"),
        };
        if let Err(e) = verify_function(&reparsed[0]) {
            panic!("re-parsed function fails verification:\n{e}\n{printed}");
        }
        let again = reparsed[0].to_string();
        assert_eq!(
            printed, again,
            "print -> parse -> print is not the identity"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kir_parse_accepts_garbage_and_valid_text() {
        for input in [
            &b""[..],
            b"\xff\xfe",
            b"function",
            b"function %f() {\nblock0:\n    return\n}\n",
            b"function %f(i32) -> i32 {\nblock0(v0: i32):\n    v1 = iadd v0, v0\n    return v1\n}",
            b"function %f(i32) -> i32 {\nblock0(v0: i32):\n    v1 = iadd v0, v9\n    return v1\n}",
        ] {
            kir_parse(input);
        }
    }
}
