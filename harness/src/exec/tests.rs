//! Executor tests on hand-assembled code for both ISAs. Every byte sequence below was
//! assembled from the assembly in its comment with `llvm-mc` (x86: Intel syntax) and
//! checked with `llvm-mc -disassemble`; the same functions exist for both ISAs, in the
//! same order, so each test runs on both. The host-function tests at the end instead
//! compile `.kir` with Kiln and compare both executors with the interpreter.

use super::*;
use crate::filetest::HEAP_BASE;
use crate::interp::Heap;
use crate::outcome::Outcome;
use crate::value::DataValue;
use kiln::ir::types::Type;
use kiln::module::{TextReloc, TextRelocTarget};

/// Builds a dense [`CodeImage`] function by function.
struct Builder {
    image: CodeImage,
    code: Vec<u8>,
}

impl Builder {
    fn new(arch: Arch) -> Self {
        Builder {
            image: CodeImage::dense(arch, Vec::new()),
            code: Vec::new(),
        }
    }

    /// Append a function (16-byte aligned); returns its offset.
    fn func(&mut self, name: &str, params: &[Type], rets: &[Type], bytes: &[u8]) -> u32 {
        let fill = match self.image.arch {
            Arch::X86_64 => 0xcc, // int3
            Arch::Aarch64 => 0,   // udf #0
        };
        while !self.code.len().is_multiple_of(16) {
            self.code.push(fill);
        }
        let offset = self.code.len() as u32;
        self.code.extend_from_slice(bytes);
        self.image.functions.push(FunctionSymbol {
            name: name.to_string(),
            offset,
            signature: Signature::new(params, rets),
        });
        offset
    }

    fn trap(&mut self, offset: u32, code: TrapCode) {
        self.image.traps.push((offset, code));
    }

    fn reloc(&mut self, offset: u32, kind: RelocKind, target: TextRelocTarget, addend: i64) {
        self.image.relocs.push(TextReloc {
            offset,
            kind,
            target,
            addend,
        });
    }

    fn finish(mut self) -> CodeImage {
        self.image.traps.sort_by_key(|t| t.0);
        self.image.size = self.code.len() as u64;
        self.image.segments[0].bytes = self.code;
        self.image
    }
}

const I32: Type = Type::I32;
const I64: Type = Type::I64;
const F32: Type = Type::F32;
const F64: Type = Type::F64;

/// The test functions, identical in behavior on both ISAs:
///
/// | name | signature | does |
/// |---|---|---|
/// | sum10 | (i64 × 10) -> i64 | sum of all arguments |
/// | last | (i64 × 10) -> i64 | a9 - a0 |
/// | addi32 | (i32, i32) -> i32 | a + b (32-bit) |
/// | fadd | (f32, f64) -> f64 | a as f64 + b |
/// | fmul32 | (f32, f32) -> f32 | a * b |
/// | vadd | (i32x4, i32x4) -> i32x4 | lane-wise add |
/// | two | (i64, i64) -> (i64, i64) | (b, a) |
/// | ret4 | (i64) -> (i64, i64, i32, i64) | (a+1, a+2, a+3, a+4), the last two in the return area |
/// | heap | (i64) -> i32 | v = load32 [p] + 1; store32 [p+4] = v; v |
/// | trap | () | `ud2` / `udf`, a trap site (int_divz) |
/// | badtrap | () | `ud2` / `udf` without a trap record |
/// | rec | () | infinite recursion without a stack check |
/// | chk | () | infinite recursion checking the stack limit (Abs8 StackLimit), trap site stk_ovf |
/// | loop | () | infinite loop |
/// | ceil | (f64) -> f64 | calls libcall ceil_f64 through an Abs8 address |
/// | nearest | (f32) -> f32 | calls nearest_f32 with a PC-relative call (X86PcRel4 / Arm64Call26) |
/// | clobber | () | overwrites a callee-saved register (rbx / x19) |
/// | upper | (i32) -> i64 | returns the argument register unchanged (reads the undefined upper bits) |
fn test_image(arch: Arch) -> CodeImage {
    let x86 = arch == Arch::X86_64;
    let mut b = Builder::new(arch);
    let ints10 = [I64; 10];
    if x86 {
        // mov rax, rdi; add rax, rsi; add rax, rdx; add rax, rcx; add rax, r8; add rax, r9;
        // add rax, [rsp+8]; add rax, [rsp+16]; add rax, [rsp+24]; add rax, [rsp+32]; ret
        b.func(
            "sum10",
            &ints10,
            &[I64],
            &[
                0x48, 0x89, 0xf8, 0x48, 0x01, 0xf0, 0x48, 0x01, 0xd0, 0x48, 0x01, 0xc8, 0x4c, 0x01,
                0xc0, 0x4c, 0x01, 0xc8, 0x48, 0x03, 0x44, 0x24, 0x08, 0x48, 0x03, 0x44, 0x24, 0x10,
                0x48, 0x03, 0x44, 0x24, 0x18, 0x48, 0x03, 0x44, 0x24, 0x20, 0xc3,
            ],
        );
        // mov rax, [rsp+32]; sub rax, rdi; ret
        b.func(
            "last",
            &ints10,
            &[I64],
            &[0x48, 0x8b, 0x44, 0x24, 0x20, 0x48, 0x29, 0xf8, 0xc3],
        );
        // lea eax, [rdi+rsi]; ret
        b.func("addi32", &[I32, I32], &[I32], &[0x8d, 0x04, 0x37, 0xc3]);
        // cvtss2sd xmm0, xmm0; addsd xmm0, xmm1; ret
        b.func(
            "fadd",
            &[F32, F64],
            &[F64],
            &[0xf3, 0x0f, 0x5a, 0xc0, 0xf2, 0x0f, 0x58, 0xc1, 0xc3],
        );
        // mulss xmm0, xmm1; ret
        b.func(
            "fmul32",
            &[F32, F32],
            &[F32],
            &[0xf3, 0x0f, 0x59, 0xc1, 0xc3],
        );
        // paddd xmm0, xmm1; ret
        b.func(
            "vadd",
            &[Type::I32X4, Type::I32X4],
            &[Type::I32X4],
            &[0x66, 0x0f, 0xfe, 0xc1, 0xc3],
        );
        // mov rax, rsi; mov rdx, rdi; ret
        b.func(
            "two",
            &[I64, I64],
            &[I64, I64],
            &[0x48, 0x89, 0xf0, 0x48, 0x89, 0xfa, 0xc3],
        );
        // lea rax, [rsi+1]; lea rdx, [rsi+2]; lea ecx, [rsi+3]; mov [rdi], ecx;
        // lea rcx, [rsi+4]; mov [rdi+8], rcx; ret
        b.func(
            "ret4",
            &[I64],
            &[I64, I64, I32, I64],
            &[
                0x48, 0x8d, 0x46, 0x01, 0x48, 0x8d, 0x56, 0x02, 0x8d, 0x4e, 0x03, 0x89, 0x0f, 0x48,
                0x8d, 0x4e, 0x04, 0x48, 0x89, 0x4f, 0x08, 0xc3,
            ],
        );
        // mov eax, [rdi]; add eax, 1; mov [rdi+4], eax; ret
        b.func(
            "heap",
            &[I64],
            &[I32],
            &[0x8b, 0x07, 0x83, 0xc0, 0x01, 0x89, 0x47, 0x04, 0xc3],
        );
        // ud2
        let t = b.func("trap", &[], &[], &[0x0f, 0x0b]);
        b.trap(t, TrapCode::IntegerDivisionByZero);
        // ud2
        b.func("badtrap", &[], &[], &[0x0f, 0x0b]);
        // f: push rbp; call f
        b.func("rec", &[], &[], &[0x55, 0xe8, 0xfa, 0xff, 0xff, 0xff]);
        // f: movabs rax, <stack limit address>; cmp rsp, [rax]; jb t; push rbp; call f;
        // t: ud2
        let f = b.func(
            "chk",
            &[],
            &[],
            &[
                0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0x48, 0x3b, 0x20, 0x72, 0x06, 0x55, 0xe8, 0xeb,
                0xff, 0xff, 0xff, 0x0f, 0x0b,
            ],
        );
        b.reloc(f + 2, RelocKind::Abs8, TextRelocTarget::StackLimit, 0);
        b.trap(f + 21, TrapCode::StackOverflow);
        // l: jmp l
        b.func("loop", &[], &[], &[0xeb, 0xfe]);
        // push rbp; mov rbp, rsp; movabs rax, <ceil_f64>; call rax; pop rbp; ret
        let f = b.func(
            "ceil",
            &[F64],
            &[F64],
            &[
                0x55, 0x48, 0x89, 0xe5, 0x48, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xd0, 0x5d, 0xc3,
            ],
        );
        b.reloc(
            f + 6,
            RelocKind::Abs8,
            TextRelocTarget::LibCall(LibCall::CeilF64),
            0,
        );
        // push rbp; call <nearest_f32> (rel32); pop rbp; ret
        let f = b.func(
            "nearest",
            &[F32],
            &[F32],
            &[0x55, 0xe8, 0, 0, 0, 0, 0x5d, 0xc3],
        );
        b.reloc(
            f + 2,
            RelocKind::X86CallPCRel4,
            TextRelocTarget::LibCall(LibCall::NearestF32),
            -4,
        );
        // mov ebx, 1; ret
        b.func("clobber", &[], &[], &[0xbb, 0x01, 0x00, 0x00, 0x00, 0xc3]);
        // mov rax, rdi; ret
        b.func("upper", &[I32], &[I64], &[0x48, 0x89, 0xf8, 0xc3]);
    } else {
        // add x0, x0, x1 .. add x0, x0, x7; ldr x9, [sp]; add x0, x0, x9;
        // ldr x9, [sp, #8]; add x0, x0, x9; ret
        b.func(
            "sum10",
            &ints10,
            &[I64],
            &[
                0x00, 0x00, 0x01, 0x8b, 0x00, 0x00, 0x02, 0x8b, 0x00, 0x00, 0x03, 0x8b, 0x00, 0x00,
                0x04, 0x8b, 0x00, 0x00, 0x05, 0x8b, 0x00, 0x00, 0x06, 0x8b, 0x00, 0x00, 0x07, 0x8b,
                0xe9, 0x03, 0x40, 0xf9, 0x00, 0x00, 0x09, 0x8b, 0xe9, 0x07, 0x40, 0xf9, 0x00, 0x00,
                0x09, 0x8b, 0xc0, 0x03, 0x5f, 0xd6,
            ],
        );
        // ldr x9, [sp, #8]; sub x0, x9, x0; ret
        b.func(
            "last",
            &ints10,
            &[I64],
            &[
                0xe9, 0x07, 0x40, 0xf9, 0x20, 0x01, 0x00, 0xcb, 0xc0, 0x03, 0x5f, 0xd6,
            ],
        );
        // add w0, w0, w1; ret
        b.func(
            "addi32",
            &[I32, I32],
            &[I32],
            &[0x00, 0x00, 0x01, 0x0b, 0xc0, 0x03, 0x5f, 0xd6],
        );
        // fcvt d0, s0; fadd d0, d0, d1; ret
        b.func(
            "fadd",
            &[F32, F64],
            &[F64],
            &[
                0x00, 0xc0, 0x22, 0x1e, 0x00, 0x28, 0x61, 0x1e, 0xc0, 0x03, 0x5f, 0xd6,
            ],
        );
        // fmul s0, s0, s1; ret
        b.func(
            "fmul32",
            &[F32, F32],
            &[F32],
            &[0x00, 0x08, 0x21, 0x1e, 0xc0, 0x03, 0x5f, 0xd6],
        );
        // add v0.4s, v0.4s, v1.4s; ret
        b.func(
            "vadd",
            &[Type::I32X4, Type::I32X4],
            &[Type::I32X4],
            &[0x00, 0x84, 0xa1, 0x4e, 0xc0, 0x03, 0x5f, 0xd6],
        );
        // mov x2, x0; mov x0, x1; mov x1, x2; ret
        b.func(
            "two",
            &[I64, I64],
            &[I64, I64],
            &[
                0xe2, 0x03, 0x00, 0xaa, 0xe0, 0x03, 0x01, 0xaa, 0xe1, 0x03, 0x02, 0xaa, 0xc0, 0x03,
                0x5f, 0xd6,
            ],
        );
        // add x9, x0, #3; str w9, [x8]; add x9, x0, #4; str x9, [x8, #8];
        // add x1, x0, #2; add x0, x0, #1; ret
        b.func(
            "ret4",
            &[I64],
            &[I64, I64, I32, I64],
            &[
                0x09, 0x0c, 0x00, 0x91, 0x09, 0x01, 0x00, 0xb9, 0x09, 0x10, 0x00, 0x91, 0x09, 0x05,
                0x00, 0xf9, 0x01, 0x08, 0x00, 0x91, 0x00, 0x04, 0x00, 0x91, 0xc0, 0x03, 0x5f, 0xd6,
            ],
        );
        // ldr w1, [x0]; add w1, w1, #1; str w1, [x0, #4]; mov w0, w1; ret
        b.func(
            "heap",
            &[I64],
            &[I32],
            &[
                0x01, 0x00, 0x40, 0xb9, 0x21, 0x04, 0x00, 0x11, 0x01, 0x04, 0x00, 0xb9, 0xe0, 0x03,
                0x01, 0x2a, 0xc0, 0x03, 0x5f, 0xd6,
            ],
        );
        // udf #0
        let t = b.func("trap", &[], &[], &[0, 0, 0, 0]);
        b.trap(t, TrapCode::IntegerDivisionByZero);
        // udf #0
        b.func("badtrap", &[], &[], &[0, 0, 0, 0]);
        // f: stp x29, x30, [sp, #-16]!; bl f
        b.func(
            "rec",
            &[],
            &[],
            &[0xfd, 0x7b, 0xbf, 0xa9, 0xff, 0xff, 0xff, 0x97],
        );
        // f: ldr x16, lit; ldr x16, [x16]; mov x17, sp; cmp x17, x16; b.lo t;
        // stp x29, x30, [sp, #-16]!; bl f; t: udf #0; lit: .quad <stack limit address>
        let f = b.func(
            "chk",
            &[],
            &[],
            &[
                0x10, 0x01, 0x00, 0x58, 0x10, 0x02, 0x40, 0xf9, 0xf1, 0x03, 0x00, 0x91, 0x3f, 0x02,
                0x10, 0xeb, 0x63, 0x00, 0x00, 0x54, 0xfd, 0x7b, 0xbf, 0xa9, 0xfa, 0xff, 0xff, 0x97,
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
            ],
        );
        b.reloc(f + 32, RelocKind::Abs8, TextRelocTarget::StackLimit, 0);
        b.trap(f + 28, TrapCode::StackOverflow);
        // l: b l
        b.func("loop", &[], &[], &[0x00, 0x00, 0x00, 0x14]);
        // stp x29, x30, [sp, #-16]!; ldr x16, lit; blr x16; ldp x29, x30, [sp], #16; ret;
        // nop; lit: .quad <ceil_f64>
        let f = b.func(
            "ceil",
            &[F64],
            &[F64],
            &[
                0xfd, 0x7b, 0xbf, 0xa9, 0xb0, 0x00, 0x00, 0x58, 0x00, 0x02, 0x3f, 0xd6, 0xfd, 0x7b,
                0xc1, 0xa8, 0xc0, 0x03, 0x5f, 0xd6, 0x1f, 0x20, 0x03, 0xd5, 0, 0, 0, 0, 0, 0, 0, 0,
            ],
        );
        b.reloc(
            f + 24,
            RelocKind::Abs8,
            TextRelocTarget::LibCall(LibCall::CeilF64),
            0,
        );
        // stp x29, x30, [sp, #-16]!; bl <nearest_f32>; ldp x29, x30, [sp], #16; ret
        let f = b.func(
            "nearest",
            &[F32],
            &[F32],
            &[
                0xfd, 0x7b, 0xbf, 0xa9, 0x00, 0x00, 0x00, 0x94, 0xfd, 0x7b, 0xc1, 0xa8, 0xc0, 0x03,
                0x5f, 0xd6,
            ],
        );
        b.reloc(
            f + 4,
            RelocKind::Arm64Call,
            TextRelocTarget::LibCall(LibCall::NearestF32),
            0,
        );
        // mov x19, #1; ret
        b.func(
            "clobber",
            &[],
            &[],
            &[0x33, 0x00, 0x80, 0xd2, 0xc0, 0x03, 0x5f, 0xd6],
        );
        // ret
        b.func("upper", &[I32], &[I64], &[0xc0, 0x03, 0x5f, 0xd6]);
    }
    b.finish()
}

const ARCHES: [Arch; 2] = [Arch::X86_64, Arch::Aarch64];
const FUEL: u64 = 10_000_000;

/// A loaded executor for `arch` and the test image.
fn setup(arch: Arch) -> (Executor, CodeImage) {
    let mut ex = Executor::new(arch).expect("executor");
    let image = test_image(arch);
    ex.load(&image).expect("load");
    (ex, image)
}

fn index(image: &CodeImage, name: &str) -> usize {
    image
        .functions
        .iter()
        .position(|f| f.name == name)
        .expect("function exists")
}

/// Call `name` without heaps.
fn run(ex: &mut Executor, image: &CodeImage, name: &str, args: &[DataValue]) -> Outcome {
    ex.call(index(image, name), args, &mut [], FUEL)
}

fn ret(vs: &[DataValue]) -> Outcome {
    Outcome::Returned(vs.to_vec())
}

#[test]
fn integer_args_in_registers_and_on_the_stack() {
    for arch in ARCHES {
        let (mut ex, img) = setup(arch);
        let args: Vec<DataValue> = (0..10).map(|i| DataValue::I64(1 << (i * 4))).collect();
        assert_eq!(
            run(&mut ex, &img, "sum10", &args),
            ret(&[DataValue::I64(0x99_9999_9999 - 0x88_8888_8888)]),
            "{arch}"
        );
        let args: Vec<DataValue> = (0..10).map(|i| DataValue::I64(i * 100 + 7)).collect();
        assert_eq!(
            run(&mut ex, &img, "last", &args),
            ret(&[DataValue::I64(900)]),
            "{arch}: a9 - a0"
        );
        assert_eq!(
            run(
                &mut ex,
                &img,
                "addi32",
                &[DataValue::I32(-5), DataValue::I32(i32::MAX)]
            ),
            ret(&[DataValue::I32(i32::MAX - 5)]),
            "{arch}"
        );
    }
}

#[test]
fn float_args_and_results() {
    for arch in ARCHES {
        let (mut ex, img) = setup(arch);
        assert_eq!(
            run(
                &mut ex,
                &img,
                "fadd",
                &[DataValue::f32(1.5), DataValue::f64(0.25)]
            ),
            ret(&[DataValue::f64(1.75)]),
            "{arch}"
        );
        assert_eq!(
            run(
                &mut ex,
                &img,
                "fmul32",
                &[DataValue::f32(-3.0), DataValue::f32(0.5)]
            ),
            ret(&[DataValue::f32(-1.5)]),
            "{arch}"
        );
    }
}

#[test]
fn vector_arg_and_result() {
    for arch in ARCHES {
        let (mut ex, img) = setup(arch);
        let v = |l: [u64; 4]| DataValue::vector_from_lanes(Type::I32X4, &l).unwrap();
        assert_eq!(
            run(
                &mut ex,
                &img,
                "vadd",
                &[v([1, 2, 3, 0xffff_ffff]), v([10, 20, 30, 2])]
            ),
            ret(&[v([11, 22, 33, 1])]),
            "{arch}"
        );
    }
}

#[test]
fn two_integer_results_and_the_return_area() {
    for arch in ARCHES {
        let (mut ex, img) = setup(arch);
        assert_eq!(
            run(
                &mut ex,
                &img,
                "two",
                &[DataValue::I64(1), DataValue::I64(-2)]
            ),
            ret(&[DataValue::I64(-2), DataValue::I64(1)]),
            "{arch}"
        );
        assert_eq!(
            run(&mut ex, &img, "ret4", &[DataValue::I64(100)]),
            ret(&[
                DataValue::I64(101),
                DataValue::I64(102),
                DataValue::I32(103),
                DataValue::I64(104)
            ]),
            "{arch}"
        );
    }
}

#[test]
fn heap_load_store_and_guard_bytes() {
    for arch in ARCHES {
        let (mut ex, img) = setup(arch);
        let f = index(&img, "heap");
        let mut heaps = [Heap::zeroed(HEAP_BASE, 16)];
        heaps[0].bytes[8..12].copy_from_slice(&41u32.to_le_bytes());
        let at = |o: u64| [DataValue::I64((HEAP_BASE + o) as i64)];
        assert_eq!(
            ex.call(f, &at(8), &mut heaps, FUEL),
            ret(&[DataValue::I32(42)]),
            "{arch}"
        );
        assert_eq!(&heaps[0].bytes[12..16], &42u32.to_le_bytes(), "{arch}");
        // The store at +16 is past the heap's end (inside its page).
        assert_eq!(
            ex.call(f, &at(12), &mut heaps, FUEL),
            Outcome::MemoryFault {
                addr: HEAP_BASE + 16,
                size: 4,
                write: true
            },
            "{arch}"
        );
        // A load straddling the end.
        assert_eq!(
            ex.call(f, &at(14), &mut heaps, FUEL),
            Outcome::MemoryFault {
                addr: HEAP_BASE + 14,
                size: 4,
                write: false
            },
            "{arch}"
        );
        // A page-sized heap: the next page is guard bytes.
        let mut big = [Heap::zeroed(HEAP_BASE, 4096)];
        assert_eq!(
            ex.call(f, &at(4092), &mut big, FUEL),
            Outcome::MemoryFault {
                addr: HEAP_BASE + 4096,
                size: 4,
                write: true
            },
            "{arch}"
        );
        // A load straddling the end of a page-sized heap is reported at its own address.
        assert_eq!(
            ex.call(f, &at(4094), &mut big, FUEL),
            Outcome::MemoryFault {
                addr: HEAP_BASE + 4094,
                size: 4,
                write: false
            },
            "{arch}"
        );
        // Back to the small heap: the guard hook comes back.
        assert_eq!(
            ex.call(f, &at(12), &mut heaps, FUEL),
            Outcome::MemoryFault {
                addr: HEAP_BASE + 16,
                size: 4,
                write: true
            },
            "{arch}"
        );
    }
}

#[test]
fn unmapped_load_reports_its_address() {
    for arch in ARCHES {
        let (mut ex, img) = setup(arch);
        assert_eq!(
            run(&mut ex, &img, "heap", &[DataValue::I64(0x1234)]),
            Outcome::MemoryFault {
                addr: 0x1234,
                size: 4,
                write: false
            },
            "{arch}"
        );
        // Writing to the read-only runtime data page is a fault too.
        assert_eq!(
            run(
                &mut ex,
                &img,
                "heap",
                &[DataValue::I64(STACK_LIMIT_ADDR as i64)]
            ),
            Outcome::MemoryFault {
                addr: STACK_LIMIT_ADDR + 4,
                size: 4,
                write: true
            },
            "{arch}"
        );
    }
}

#[test]
fn traps_map_through_the_trap_table() {
    for arch in ARCHES {
        let (mut ex, img) = setup(arch);
        assert_eq!(
            run(&mut ex, &img, "trap", &[]),
            Outcome::Trapped(TrapCode::IntegerDivisionByZero),
            "{arch}"
        );
        let pc = CODE_BASE + u64::from(img.functions[index(&img, "badtrap")].offset);
        match run(&mut ex, &img, "badtrap", &[]) {
            Outcome::Error(e) => {
                assert!(e.contains(&format!("{pc:#x}")), "{arch}: {e}");
                assert!(e.contains("not a trap site"), "{arch}: {e}");
                let bytes = if arch == Arch::X86_64 {
                    "0f 0b"
                } else {
                    "00 00 00 00"
                };
                assert!(e.contains(bytes), "{arch}: {e}");
            }
            o => panic!("{arch}: {o}"),
        }
    }
}

#[test]
fn stack_guard_and_stack_limit() {
    for arch in ARCHES {
        let (mut ex, img) = setup(arch);
        match run(&mut ex, &img, "rec", &[]) {
            Outcome::MemoryFault { addr, write, .. } => {
                assert!(write, "{arch}");
                assert!(
                    (STACK_LOW - 16..STACK_LOW).contains(&addr),
                    "{arch}: {addr:#x}"
                );
            }
            o => panic!("{arch}: {o}"),
        }
        assert_eq!(
            run(&mut ex, &img, "chk", &[]),
            Outcome::Trapped(TrapCode::StackOverflow),
            "{arch}"
        );
    }
}

#[test]
fn budget_runs_out() {
    for arch in ARCHES {
        let (mut ex, img) = setup(arch);
        assert_eq!(
            ex.call(index(&img, "loop"), &[], &mut [], 10_000),
            Outcome::OutOfFuel,
            "{arch}"
        );
        assert_eq!(
            ex.call(
                index(&img, "two"),
                &[DataValue::I64(1), DataValue::I64(2)],
                &mut [],
                0
            ),
            Outcome::OutOfFuel,
            "{arch}"
        );
        // Exactly enough fuel for `mov; mov; mov; ret` (AArch64) / `mov; mov; ret` (x86).
        let n = if arch == Arch::X86_64 { 3 } else { 4 };
        let args = [DataValue::I64(1), DataValue::I64(2)];
        assert!(ex.call(index(&img, "two"), &args, &mut [], n).is_returned());
        assert_eq!(
            ex.call(index(&img, "two"), &args, &mut [], n - 1),
            Outcome::OutOfFuel,
            "{arch}"
        );
    }
}

#[test]
fn libcalls_round_trip() {
    for arch in ARCHES {
        let (mut ex, img) = setup(arch);
        for (x, want) in [(1.25, 2.0), (-1.5, -1.0), (3.0, 3.0)] {
            assert_eq!(
                run(&mut ex, &img, "ceil", &[DataValue::f64(x)]),
                ret(&[DataValue::f64(want)]),
                "{arch}: ceil({x})"
            );
        }
        for (x, want) in [(2.5f32, 2.0f32), (3.5, 4.0), (-0.4, -0.0)] {
            assert_eq!(
                run(&mut ex, &img, "nearest", &[DataValue::f32(x)]),
                ret(&[DataValue::f32(want)]),
                "{arch}: nearest({x})"
            );
        }
    }
}

#[test]
fn callee_saved_violation_and_upper_bits_are_reported() {
    for arch in ARCHES {
        let (mut ex, img) = setup(arch);
        match run(&mut ex, &img, "clobber", &[]) {
            Outcome::Error(e) => assert!(
                e.contains(if arch == Arch::X86_64 { "RBX" } else { "x19" }),
                "{arch}: {e}"
            ),
            o => panic!("{arch}: {o}"),
        }
        // Reading the undefined upper bits of an i32 argument sees the fixed pattern,
        // deterministically.
        let a = run(&mut ex, &img, "upper", &[DataValue::I32(5)]);
        let b = run(&mut ex, &img, "upper", &[DataValue::I32(5)]);
        assert_eq!(a, b, "{arch}");
        match a {
            Outcome::Returned(v) => {
                let x = v[0].as_u64().unwrap();
                assert_eq!(x & 0xffff_ffff, 5, "{arch}");
                assert_ne!(x >> 32, 0, "{arch}: upper bits hold the pattern");
            }
            o => panic!("{arch}: {o}"),
        }
    }
}

#[test]
fn bad_calls_are_errors() {
    for arch in ARCHES {
        let (mut ex, img) = setup(arch);
        let e = run(&mut ex, &img, "two", &[DataValue::I64(1)]);
        assert!(
            matches!(&e, Outcome::Error(m) if m.contains("takes 2 arguments")),
            "{e}"
        );
        let e = run(
            &mut ex,
            &img,
            "two",
            &[DataValue::I32(1), DataValue::I64(1)],
        );
        assert!(
            matches!(&e, Outcome::Error(m) if m.contains("argument 0")),
            "{e}"
        );
        let e = ex.call(99, &[], &mut [], FUEL);
        assert!(
            matches!(&e, Outcome::Error(m) if m.contains("out of range")),
            "{e}"
        );
        let other = if arch == Arch::X86_64 {
            Arch::Aarch64
        } else {
            Arch::X86_64
        };
        assert!(matches!(
            ex.load(&test_image(other)),
            Err(ExecError::WrongArch { .. })
        ));
        let mut bad = test_image(arch);
        bad.relocs.push(TextReloc {
            offset: bad.size as u32 - 4,
            kind: RelocKind::Abs8,
            target: TextRelocTarget::StackLimit,
            addend: 0,
        });
        assert!(matches!(ex.load(&bad), Err(ExecError::Reloc { .. })));
        let e = ex.call(0, &[], &mut [], FUEL);
        assert!(
            matches!(&e, Outcome::Error(m) if m.contains("no code image")),
            "{e}"
        );
        // Heaps may not overlap the executor's regions.
        ex.load(&img).unwrap();
        let mut h = [Heap::zeroed(STACK_LOW, 16)];
        let e = ex.call(index(&img, "heap"), &[DataValue::I64(0)], &mut h, FUEL);
        assert!(
            matches!(&e, Outcome::Error(m) if m.contains("overlaps the stack")),
            "{e}"
        );
    }
}

/// One executor, many calls, a reload of the same image, then a different image at the
/// same base: the stale translation of the first must not run.
#[test]
fn reuse_and_fresh_translations_after_reload() {
    for arch in ARCHES {
        let (mut ex, img) = setup(arch);
        let f = index(&img, "sum10");
        let start = std::time::Instant::now();
        let n = 2000;
        for i in 0..n {
            let args: Vec<DataValue> = (0..10).map(|k| DataValue::I64(i + k)).collect();
            assert_eq!(
                ex.call(f, &args, &mut [], FUEL),
                ret(&[DataValue::I64(10 * i + 45)])
            );
        }
        eprintln!(
            "{arch}: {:.1} µs per call",
            start.elapsed().as_secs_f64() * 1e6 / n as f64
        );
        ex.load(&img).unwrap();
        assert!(run(
            &mut ex,
            &img,
            "two",
            &[DataValue::I64(1), DataValue::I64(2)]
        )
        .is_returned());

        let (one, two): (&[u8], &[u8]) = match arch {
            // mov eax, 1; ret / mov eax, 2; ret
            Arch::X86_64 => (
                &[0xb8, 0x01, 0x00, 0x00, 0x00, 0xc3],
                &[0xb8, 0x02, 0x00, 0x00, 0x00, 0xc3],
            ),
            // mov w0, #1; ret / mov w0, #2; ret
            Arch::Aarch64 => (
                &[0x20, 0x00, 0x80, 0x52, 0xc0, 0x03, 0x5f, 0xd6],
                &[0x40, 0x00, 0x80, 0x52, 0xc0, 0x03, 0x5f, 0xd6],
            ),
        };
        for (code, want) in [(one, 1), (two, 2), (one, 1)] {
            let mut b = Builder::new(arch);
            b.func("k", &[], &[I32], code);
            ex.load(&b.finish()).unwrap();
            for _ in 0..3 {
                assert_eq!(
                    ex.call(0, &[], &mut [], FUEL),
                    ret(&[DataValue::I32(want)]),
                    "{arch}"
                );
            }
        }
    }
}

/// A sparse image: a function in a segment 3 GiB into the image runs; a jump into the
/// unmapped padding is a fetch fault at the jump's target; loading costs nothing for the
/// padding; malformed segment lists are refused by name.
#[test]
fn sparse_images_leave_the_padding_unmapped() {
    const FAR: u32 = 3 << 30;
    for arch in ARCHES {
        let (jump, two): (&[u8], &[u8]) = match arch {
            // jmp +0x2000 (rel32 = 0x2000 - 5) / mov eax, 2; ret
            Arch::X86_64 => (
                &[0xe9, 0xfb, 0x1f, 0x00, 0x00],
                &[0xb8, 0x02, 0x00, 0x00, 0x00, 0xc3],
            ),
            // b #0x2000 / mov w0, #2; ret
            Arch::Aarch64 => (
                &0x1400_0800u32.to_le_bytes(),
                &[0x40, 0x00, 0x80, 0x52, 0xc0, 0x03, 0x5f, 0xd6],
            ),
        };
        let image = CodeImage {
            arch,
            segments: vec![
                TextSegment {
                    offset: 0,
                    bytes: jump.to_vec(),
                },
                TextSegment {
                    offset: FAR,
                    bytes: two.to_vec(),
                },
            ],
            size: u64::from(FAR) + two.len() as u64,
            functions: vec![
                FunctionSymbol {
                    name: "jump".into(),
                    offset: 0,
                    signature: Signature::new(&[], &[]),
                },
                FunctionSymbol {
                    name: "two".into(),
                    offset: FAR,
                    signature: Signature::new(&[], &[I32]),
                },
            ],
            traps: Vec::new(),
            relocs: Vec::new(),
        };
        let mut ex = Executor::new(arch).unwrap();
        let t = std::time::Instant::now();
        ex.load(&image).unwrap();
        assert!(
            t.elapsed().as_secs() < 2,
            "{arch}: the padding is not touched"
        );
        assert_eq!(ex.call(1, &[], &mut [], FUEL), ret(&[DataValue::I32(2)]));
        match ex.call(0, &[], &mut [], FUEL) {
            Outcome::MemoryFault { addr, write, .. } => {
                assert_eq!(addr, CODE_BASE + 0x2000, "{arch}");
                assert!(!write);
            }
            o => panic!("{arch}: a jump into the padding must fault, got {o}"),
        }
        // A dense image after the sparse one (remapping), and back.
        let (mut ex2, dense) = setup(arch);
        ex2.load(&image).unwrap();
        ex2.load(&dense).unwrap();
        assert!(run(
            &mut ex2,
            &dense,
            "two",
            &[DataValue::I64(1), DataValue::I64(2)]
        )
        .is_returned());
        ex2.load(&image).unwrap();
        assert_eq!(ex2.call(1, &[], &mut [], FUEL), ret(&[DataValue::I32(2)]));

        // Refused: segments sharing a page, unsorted, outside the size; a function in the
        // padding; an empty or oversized image.
        let mut shared = image.clone();
        shared.segments[1].offset = 16;
        shared.functions[1].offset = 16;
        assert!(matches!(
            ex.load(&shared),
            Err(ExecError::Segment { offset: 16, .. })
        ));
        let mut unsorted = image.clone();
        unsorted.segments.swap(0, 1);
        assert!(matches!(ex.load(&unsorted), Err(ExecError::Segment { .. })));
        let mut short = image.clone();
        short.size = u64::from(FAR);
        assert!(matches!(ex.load(&short), Err(ExecError::Segment { .. })));
        let mut lost = image.clone();
        lost.functions[1].offset = 0x2000;
        let e = ex.load(&lost).unwrap_err().to_string();
        assert!(e.contains("`two`") && e.contains("8192"), "{e}");
        let mut empty = image.clone();
        empty.segments.clear();
        assert!(matches!(
            ex.load(&empty),
            Err(ExecError::CodeSize { size: 0 })
        ));
        let mut huge = image.clone();
        huge.size = MAX_CODE_SIZE + 1;
        assert!(matches!(ex.load(&huge), Err(ExecError::CodeSize { .. })));
        // Nothing is loaded after a refused image.
        assert!(matches!(ex.call(1, &[], &mut [], FUEL), Outcome::Error(_)));
    }
}

// ---------------------------------------------------------------------------------------
// Host functions: IR compiled by Kiln, run on the interpreter and both executors with the
// same test host (`crate::host::testing::TestHost`); every engine must agree on outcomes
// and heap contents.

/// The host-call test functions. Each takes the address of a host function first and the
/// address of heap 0 second.
const HOST_SRC: &str = "
; host 0 twice: the host sees the code's stores, the code sees the host's
function %add(i64, i64, i64, i32) -> i32, i32, i32, i32 {
    sig0 = (i64, i32) -> i32

block0(v0: i64, v1: i64, v2: i64, v3: i32):
    v4 = iconst.i8 5
    store v4, v1+2
    v5 = call_indirect sig0, v0(v2, v3)
    v6 = uload8.i32 v1+1
    v7 = iconst.i8 100
    store v7, v1+2
    v8 = call_indirect sig0, v0(v2, v5)
    v9 = uload8.i32 v1
    return v5, v6, v8, v9
}

; host 1 grows heap 0: store and load past the old end, then load at heap + v2
function %grow(i64, i64, i64) -> i64, i32, i32 {
    sig0 = () -> i64

block0(v0: i64, v1: i64, v2: i64):
    v3 = call_indirect sig0, v0()
    v4 = iadd v1, v3
    v5 = iconst.i32 0x12345678
    store v5, v4+100
    v6 = load.i32 v4+100
    v7 = iadd v1, v2
    v8 = load.i32 v7
    return v3, v6, v8
}

; host 4 shrinks heap 0, then load at heap + v2
function %shrink(i64, i64, i64) -> i64, i32 {
    sig0 = () -> i64

block0(v0: i64, v1: i64, v2: i64):
    v3 = call_indirect sig0, v0()
    v4 = iadd v1, v2
    v5 = load.i32 v4
    return v3, v5
}

; host 2 ends the run (or any host function with this signature is called)
function %void(i64, i64) {
    sig0 = ()

block0(v0: i64, v1: i64):
    v2 = iconst.i32 1
    store v2, v1+8
    call_indirect sig0, v0()
    v3 = iconst.i32 2
    store v3, v1+8
    return
}

; host 3: nine integer arguments (some on the stack), four results (one in the return area)
function %many(i64, i64, i64, i64) -> f64, i64, i32, i8 {
    sig0 = (i64, i32, i64, i8, i64, i16, i64, i32, i64) -> f64, i64, i32, i8

block0(v0: i64, v1: i64, v2: i64, v3: i64):
    v4 = ireduce.i32 v2
    v5 = iconst.i8 -3
    v6 = iadd v2, v3
    v7 = ireduce.i16 v3
    v8 = imul v2, v3
    v9 = iconst.i32 -77
    v10 = isub v3, v2
    v11, v12, v13, v14 = call_indirect sig0, v0(v2, v4, v3, v5, v6, v7, v8, v9, v10)
    return v11, v12, v13, v14
}

; host 5 returns an i64 where the signature says i32
function %ret_i32(i64, i64) -> i32 {
    sig0 = () -> i32

block0(v0: i64, v1: i64):
    v2 = call_indirect sig0, v0()
    return v2
}
";

/// The compiled engines' images of `fs` (the engines' default compiler settings).
fn compile_kir(arch: Arch, fs: &[kiln::ir::Function]) -> CodeImage {
    let compiler = crate::engine::EngineSettings::default()
        .builder(arch)
        .and_then(|b| b.build().map_err(|e| e.to_string()))
        .expect("compiler");
    let compiled: Vec<_> = fs
        .iter()
        .map(|f| {
            compiler
                .compile_function(f)
                .unwrap_or_else(|e| panic!("{arch}: {}: {e}", f.params.name))
        })
        .collect();
    let inputs: Vec<kiln::module::LinkInput<'_>> = fs
        .iter()
        .zip(&compiled)
        .map(|(f, code)| kiln::module::LinkInput {
            name: &f.params.name,
            code,
        })
        .collect();
    let text = kiln::module::link_text(arch, &inputs, &compiler.link_options()).expect("link");
    let symbols = fs
        .iter()
        .map(|f| (f.params.name.to_string(), f.signature.clone()))
        .collect();
    CodeImage::from_text(arch, text, symbols)
}

/// The host-call functions on every engine.
struct HostEngines {
    fs: Vec<kiln::ir::Function>,
    executors: Vec<Executor>,
}

impl HostEngines {
    fn new() -> Self {
        let fs = kiln::ir::text::parse_functions(HOST_SRC).expect("HOST_SRC parses");
        let executors = ARCHES
            .iter()
            .map(|&arch| {
                let mut ex = Executor::new(arch).expect("executor");
                ex.load(&compile_kir(arch, &fs)).expect("load");
                ex
            })
            .collect();
        HostEngines { fs, executors }
    }

    fn index(&self, name: &str) -> usize {
        self.fs
            .iter()
            .position(|f| f.params.name.to_string() == format!("%{name}"))
            .expect("function exists")
    }

    /// Run `name(address of host function n, heaps[0].base, rest..)` with fresh copies of
    /// `heaps` and a fresh test host on the interpreter and both executors; check that they
    /// agree on the outcome, the heaps and the number of host calls, and return them.
    fn run(
        &mut self,
        name: &str,
        n: u32,
        rest: &[DataValue],
        heaps: &[Heap],
    ) -> (Outcome, Vec<Heap>) {
        self.run_with(name, n, rest, heaps, &mut |o, _| o)
    }

    /// [`Self::run`], mapping each engine's outcome with `f` (given the engine's name)
    /// before comparing.
    fn run_with(
        &mut self,
        name: &str,
        n: u32,
        rest: &[DataValue],
        heaps: &[Heap],
        f: &mut dyn FnMut(Outcome, &str) -> Outcome,
    ) -> (Outcome, Vec<Heap>) {
        use crate::host::testing::TestHost;
        let i = self.index(name);
        let args = |addr: u64| {
            let mut a = vec![
                DataValue::I64(addr as i64),
                DataValue::I64(heaps[0].base as i64),
            ];
            a.extend_from_slice(rest);
            a
        };
        let mut host = TestHost::new();
        let mut want_heaps = heaps.to_vec();
        let want = crate::interp::Interpreter::new(&self.fs).call_with_host(
            i,
            &args(crate::interp::host_function_address(n)),
            &mut want_heaps,
            &mut host,
        );
        let want = f(want, "interp");
        let calls = host.calls;
        for ex in &mut self.executors {
            let arch = ex.arch();
            let mut host = TestHost::new();
            let mut got_heaps = heaps.to_vec();
            let got = ex.call_with_host(
                i,
                &args(host_function_address(n)),
                &mut got_heaps,
                FUEL,
                &mut host,
            );
            let got = f(got, arch.name());
            assert_eq!(got, want, "{arch}: %{name} with host function {n}");
            assert!(got_heaps == want_heaps, "{arch}: %{name}: heaps differ");
            assert_eq!(host.calls, calls, "{arch}: %{name}: host calls");
        }
        (want, want_heaps)
    }
}

/// Errors carry engine-specific messages: compare that they are errors, naming `what`.
fn error_naming(what: &'static str) -> impl FnMut(Outcome, &str) -> Outcome {
    move |o, engine| match o {
        Outcome::Error(m) if m.contains(what) => Outcome::Error(what.to_string()),
        o => panic!("{engine}: expected an error naming `{what}`, got {o}"),
    }
}

/// The little-endian `i32` at `off` in `h`.
fn word(h: &Heap, off: usize) -> i32 {
    i32::from_le_bytes(h.bytes[off..off + 4].try_into().expect("4 bytes"))
}

/// Heap 0 of `size` bytes (with a recognizable pattern) and a small heap 1.
fn host_heaps(size: usize) -> Vec<Heap> {
    let mut h0 = Heap::zeroed(crate::filetest::HeapDecl::base(0), size);
    for (i, b) in h0.bytes.iter_mut().enumerate().skip(16) {
        *b = (i % 251) as u8;
    }
    let h1 = Heap {
        base: crate::filetest::HeapDecl::base(1),
        bytes: (0..16).collect(),
    };
    vec![h0, h1]
}

#[test]
fn host_calls_read_and_write_heaps_identically_everywhere() {
    let mut e = HostEngines::new();
    let heaps = host_heaps(64);
    // 0x10 + 7 + 5 = 28, then 0x10 + 28 + 100 = 144; heap byte 0 counts the calls.
    let (o, h) = e.run(
        "add",
        0,
        &[DataValue::I64(0x1_0000_0010), DataValue::I32(7)],
        &heaps,
    );
    let i32s = |v: &[i32]| ret(&v.iter().map(|&x| DataValue::I32(x)).collect::<Vec<_>>());
    assert_eq!(o, i32s(&[28, 28, 144, 2]));
    assert_eq!(&h[0].bytes[..4], &[2, 144, 100, 0]);
    assert_eq!(h[0].bytes[16..], heaps[0].bytes[16..]);
    assert_eq!(h[1], heaps[1]);
    // 0x10 - 50 + 5 = -29 (heap byte 227), then 0x10 - 29 + 100 = 87.
    let (o, _) = e.run(
        "add",
        0,
        &[DataValue::I64(0x1_0000_0010), DataValue::I32(-50)],
        &heaps,
    );
    assert_eq!(o, i32s(&[-29, 227, 87, 2]));
}

#[test]
fn host_grows_and_shrinks_heaps_identically_everywhere() {
    use crate::host::testing::GROW;
    let mut e = HostEngines::new();
    // Heap 0 does not end on a page boundary: the rounding bytes are guard bytes.
    let old = 0x10010;
    let new = old + GROW;
    let base = crate::filetest::HeapDecl::base(0);
    // With heap 1 beyond heap 0, and with heap 0 alone (then the guard hook must move
    // with heap 0's end).
    for nheaps in [1, 2] {
        let heaps_of = |size: usize| {
            let mut h = host_heaps(size);
            h.truncate(nheaps);
            h
        };
        host_grow_and_shrink(&mut e, base, old, new, heaps_of);
    }
}

fn host_grow_and_shrink(
    e: &mut HostEngines,
    base: u64,
    old: usize,
    new: usize,
    heaps_of: impl Fn(usize) -> Vec<Heap>,
) {
    use crate::host::testing::GROW;
    let heaps = heaps_of(old);
    let grow = |e: &mut HostEngines, probe: usize| {
        e.run("grow", 1, &[DataValue::I64(probe as i64)], &heaps)
    };
    let returned = |probe: i32| {
        ret(&[
            DataValue::I64(old as i64),
            DataValue::I32(0x12345678),
            DataValue::I32(probe),
        ])
    };
    // The grown part is zero except for the host's marker in the last byte and the code's
    // store 100 bytes past the old end.
    let (o, h) = grow(e, new - 4);
    assert_eq!(o, returned(0xab00_0000u32 as i32));
    assert_eq!(h[0].bytes.len(), new);
    assert_eq!(h[0].bytes[..old], heaps[0].bytes[..]);
    assert_eq!(&h[0].bytes[old + 100..old + 104], &[0x78, 0x56, 0x34, 0x12]);
    assert!(h[0].bytes[old + 104..new - 1].iter().all(|&b| b == 0));
    assert_eq!(h[0].bytes[new - 1], 0xab);
    assert_eq!(h[1..], heaps[1..]);
    // Old contents stay readable; past the new end (also straddling it) is a fault at the
    // access's own address.
    let last_word = word(&heaps[0], old - 4);
    assert_eq!(grow(e, old - 4).0, returned(last_word));
    for probe in [new - 2, new, new + 0x1000, new + GROW] {
        let (o, h) = grow(e, probe);
        assert_eq!(
            o,
            Outcome::MemoryFault {
                addr: base + probe as u64,
                size: 4,
                write: false
            },
            "probe at {probe:#x}"
        );
        assert_eq!(h[0].bytes.len(), new, "the heap stays grown");
    }

    // Shrinking: the bytes past the new end are gone.
    let heaps = heaps_of(new);
    let shrink = |e: &mut HostEngines, probe: usize| {
        e.run("shrink", 4, &[DataValue::I64(probe as i64)], &heaps)
    };
    let (o, h) = shrink(e, old - 4);
    assert_eq!(
        o,
        ret(&[DataValue::I64(old as i64), DataValue::I32(last_word)])
    );
    assert_eq!(h[0].bytes[..], heaps[0].bytes[..old]);
    for probe in [old - 2, old, new - 4] {
        assert_eq!(
            shrink(e, probe).0,
            Outcome::MemoryFault {
                addr: base + probe as u64,
                size: 4,
                write: false
            },
            "probe at {probe:#x}"
        );
    }
    // And the executors are back to normal for the next call.
    let (o, _) = grow(e, new - 4);
    assert_eq!(o, returned(0xab00_0000u32 as i32));
}

#[test]
fn host_arguments_on_the_stack_and_results_in_the_return_area() {
    use crate::host::testing::many;
    let mut e = HostEngines::new();
    let heaps = host_heaps(64);
    for (a, b) in [
        (3i64, 5i64),
        (-1, 0x1234_5678_9abc),
        (i64::MIN, 0x7fff_ffff_8001),
    ] {
        let (o, _) = e.run("many", 3, &[DataValue::I64(a), DataValue::I64(b)], &heaps);
        // The arguments as the IR computes them, narrowed to their types.
        let args = [
            DataValue::I64(a),
            DataValue::I32(a as i32),
            DataValue::I64(b),
            DataValue::I8(-3),
            DataValue::I64(a.wrapping_add(b)),
            DataValue::I16(b as i16),
            DataValue::I64(a.wrapping_mul(b)),
            DataValue::I32(-77),
            DataValue::I64(b.wrapping_sub(a)),
        ];
        assert_eq!(o, Outcome::Returned(many(&args)), "({a}, {b})");
    }
    // Hand-checked once: (3, 5) sums to 3+3+5-3+8+5+15-77+2 = -39;
    // Σ (i+1)·aᵢ = 3+6+15-12+40+30+105-616+18 = -411; -77 ^ 3 = -80; -3 + 5 = 2.
    assert_eq!(
        e.run("many", 3, &[DataValue::I64(3), DataValue::I64(5)], &heaps)
            .0,
        ret(&[
            DataValue::f64(-39.0),
            DataValue::I64(-411),
            DataValue::I32(-80),
            DataValue::I8(2)
        ])
    );
}

#[test]
fn host_outcomes_and_errors_everywhere() {
    use crate::host::MAX_HOST_FUNCTIONS;
    let mut e = HostEngines::new();
    let heaps = host_heaps(64);
    // Err(trap) from the host ends the run: the store after the call does not happen.
    let (o, h) = e.run("void", 2, &[], &heaps);
    assert_eq!(o, Outcome::Trapped(TrapCode::User(7)));
    assert_eq!(&h[0].bytes[8..12], &[1, 0, 0, 0]);
    // A moved heap: the code's store through the old base faults, the first store is at
    // the new base, and the heaps are read back there.
    let (o, h) = e.run("void", 6, &[], &heaps);
    assert_eq!(
        o,
        Outcome::MemoryFault {
            addr: heaps[0].base + 8,
            size: 4,
            write: true
        }
    );
    assert_eq!(h[0].base, heaps[0].base + crate::host::testing::MOVE);
    assert_eq!(&h[0].bytes[8..12], &[1, 0, 0, 0]);
    assert_eq!(h[0].bytes.len(), heaps[0].bytes.len());
    // Results that do not match the signature, a function the host lacks.
    e.run_with(
        "ret_i32",
        5,
        &[],
        &heaps,
        &mut error_naming("does not match"),
    );
    e.run_with(
        "void",
        40,
        &[],
        &heaps,
        &mut error_naming("host function 40"),
    );
    // Growing heap 0 into heap 1.
    let mut close = host_heaps(0x10010);
    close[1].base = close[0].base + 0x20000;
    e.run_with(
        "grow",
        1,
        &[DataValue::I64(0)],
        &close,
        &mut |o, engine| match o {
            Outcome::Error(m) if m.contains("overlap") || m.contains("share a page") => {
                Outcome::Error(String::new())
            }
            o => panic!("{engine}: {o}"),
        },
    );
    // Past the last stub: not a function (the interpreter) / the trap filler (emulators).
    e.run_with(
        "void",
        MAX_HOST_FUNCTIONS,
        &[],
        &heaps,
        &mut |o, engine| match o {
            Outcome::Error(_) => Outcome::Error(String::new()),
            o => panic!("{engine}: {o}"),
        },
    );
    // Without a host.
    let i = e.index("void");
    for ex in &mut e.executors {
        let args = [
            DataValue::I64(host_function_address(2) as i64),
            DataValue::I64(heaps[0].base as i64),
        ];
        let o = ex.call(i, &args, &mut heaps.clone(), FUEL);
        assert!(
            matches!(&o, Outcome::Error(m) if m.contains("host function 2")),
            "{o}"
        );
    }
}

#[test]
fn host_panics_propagate_and_the_executor_recovers() {
    struct Panicky;
    impl crate::host::HostCalls for Panicky {
        fn signature(&self, _n: u32) -> Option<&Signature> {
            static SIG: std::sync::OnceLock<Signature> = std::sync::OnceLock::new();
            Some(SIG.get_or_init(|| Signature::new(&[], &[])))
        }
        fn call(
            &mut self,
            _n: u32,
            _args: &[DataValue],
            _heaps: &mut [Heap],
        ) -> Result<Vec<DataValue>, Outcome> {
            panic!("the host panics (expected by this test)")
        }
    }
    let mut e = HostEngines::new();
    let heaps = host_heaps(64);
    let i = e.index("void");
    let args = [
        DataValue::I64(host_function_address(0) as i64),
        DataValue::I64(heaps[0].base as i64),
    ];
    for ex in &mut e.executors {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            ex.call_with_host(i, &args, &mut heaps.clone(), FUEL, &mut Panicky)
        }));
        assert!(r.is_err(), "{}: the panic propagates", ex.arch());
    }
    // Usable afterwards.
    let (o, _) = e.run("void", 2, &[], &heaps);
    assert_eq!(o, Outcome::Trapped(TrapCode::User(7)));
}

#[test]
fn host_stubs_are_rets_in_the_runtime_code_page() {
    assert_eq!(host_function_address(0), RUNTIME_CODE_BASE + 0x100);
    assert_eq!(host_function_address(3), RUNTIME_CODE_BASE + 0x130);
    let last = host_function_address(crate::host::MAX_HOST_FUNCTIONS - 1);
    assert!(last + HOST_STUB_STRIDE <= RETURN_SENTINEL);
}
