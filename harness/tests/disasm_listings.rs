//! `kiln compile --disasm` listings of real modules stay in step with the code: the bytes
//! the compiler marks as data (inline jump tables, constants) are listed as data, every
//! other byte decodes as an instruction, and on x86_64 every branch inside a function
//! lands on the start of a listed instruction. Needs `llvm-mc` (installed by
//! `scripts/setup.sh`).

use kiln::isa::Arch;
use kiln::module::{compile_module, CompiledModule, ModuleOptions};
use kiln::CompilerBuilder;
use kiln_harness::disasm::{disassemble, disassemble_with_data, Line};
use std::collections::HashSet;
use std::path::PathBuf;

fn testdata(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/testdata/wasm")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn compile(target: &str, wasm: &[u8]) -> CompiledModule {
    let compiler = CompilerBuilder::for_target(target)
        .unwrap()
        .build()
        .unwrap();
    compile_module(&*compiler, wasm, &ModuleOptions::default()).unwrap()
}

/// What is wrong with `lines` as a listing of `code` with data `data`, if anything.
fn listing_problem(
    arch: Arch,
    code: &[u8],
    data: &[std::ops::Range<u32>],
    lines: &[Line],
) -> Option<String> {
    let bytes: Vec<u8> = lines.iter().flat_map(|l| l.bytes.clone()).collect();
    if bytes != code {
        return Some("the listed bytes are not the code".into());
    }
    let in_data = |o: u32| data.iter().any(|d| d.contains(&o));
    let starts: HashSet<u32> = lines.iter().map(|l| l.offset).collect();
    for d in data {
        if !starts.contains(&d.start) {
            return Some(format!("data at {:#x} starts inside a line", d.start));
        }
    }
    for l in lines {
        let is_data = l.text.starts_with(".long") || l.text.starts_with(".byte");
        if is_data != in_data(l.offset) {
            return Some(format!("line at {:#x} is `{}`", l.offset, l.text));
        }
        if arch == Arch::X86_64 {
            if let Some((_, t)) = l.text.rsplit_once("# -> ") {
                let t = u64::from_str_radix(t.trim_start_matches("0x"), 16).unwrap() as i64;
                if (0..code.len() as i64).contains(&t) && !starts.contains(&(t as u32)) {
                    return Some(format!(
                        "`{}` at {:#x} jumps into the middle of a line",
                        l.text, l.offset
                    ));
                }
            }
        }
    }
    None
}

#[test]
fn listings_of_real_modules_list_data_as_data_and_stay_in_step() {
    let modules = [
        "tree-sitter-wasms-0.1.13--tree-sitter-json.wasm",
        "lz4-wasm-0.9.2--lz4_wasm_bg.wasm",
        "bench.wasm",
    ];
    for target in ["x86_64", "aarch64"] {
        let (mut functions, mut data_ranges, mut tables_out_of_step) = (0, 0, 0);
        for name in modules {
            let m = compile(target, &testdata(name));
            for f in &m.functions {
                let code = m.text.bytes_at(f.offset, f.len as usize).unwrap();
                let lines = disassemble_with_data(m.arch, code, &f.data_ranges).unwrap();
                if let Some(p) = listing_problem(m.arch, code, &f.data_ranges, &lines) {
                    panic!("{target} {name} {}: {p}", f.name);
                }
                functions += 1;
                data_ranges += f.data_ranges.len();
                // The same listing without the data ranges, to show the check can fail.
                let plain = disassemble(m.arch, code).unwrap();
                if !f.data_ranges.is_empty() && listing_problem(m.arch, code, &[], &plain).is_some()
                {
                    tables_out_of_step += 1;
                }
            }
        }
        assert!(functions > 100, "{target}: {functions} functions");
        assert!(data_ranges >= 20, "{target}: {data_ranges} data ranges");
        if target == "x86_64" {
            assert!(
                tables_out_of_step > 0,
                "decoding data as code should go out of step somewhere"
            );
        }
    }
}
