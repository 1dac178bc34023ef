//! Parsing and validating a module's sections into [`ModuleInfo`], the module-level facts
//! that function translation, linking and instantiation need.
//!
//! [`parse_module`] runs `wasmparser`'s validator over every section (module-level
//! validation happens exactly once, here) and hands back each function body together with
//! its [`FuncToValidate`]: function bodies are validated while they are translated, one
//! operator at a time, so the whole module is validated exactly once and bodies can be
//! validated in parallel.
//!
//! Invariants: a [`ModuleInfo`] returned by [`parse_module`] describes a valid module of the
//! feature set [`features`]; `funcs` lists imported functions first (likewise tables and
//! globals), matching Wasm's index spaces; every index stored in it is in range.

use super::{WasmError, WasmType};
use std::collections::BTreeMap;
use std::ops::Range;
use wasmparser::{
    FuncToValidate, FunctionBody, KnownCustom, Name, Operator, Parser, Payload, TypeRef,
    ValidPayload, Validator, ValidatorResources, WasmFeatures,
};

/// The Wasm feature set Kiln compiles: Wasm 2.0, fixed-width SIMD included. Anything
/// else is refused by validation with an error naming the proposal.
pub fn features() -> WasmFeatures {
    WasmFeatures::WASM2
}

/// A function type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FuncType {
    /// Parameter types.
    pub params: Vec<WasmType>,
    /// Result types.
    pub results: Vec<WasmType>,
}

/// A constant expression of Wasm 2.0 (initializers of globals, offsets of segments,
/// element items).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ConstExpr {
    /// `i32.const`
    I32(i32),
    /// `i64.const`
    I64(i64),
    /// `f32.const` (bits)
    F32(u32),
    /// `f64.const` (bits)
    F64(u64),
    /// `v128.const` (the 16 bytes, little-endian)
    V128(u128),
    /// `ref.null`
    RefNull,
    /// `ref.func f`
    RefFunc(u32),
    /// `global.get g` (an imported global)
    GlobalGet(u32),
}

/// A table declaration.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TableDecl {
    /// `funcref` or `externref`.
    pub elem: WasmType,
    /// Initial length in elements.
    pub min: u32,
    /// Maximum length, if any.
    pub max: Option<u32>,
}

/// A memory declaration (sizes in 64 KiB pages).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MemoryDecl {
    /// Initial pages.
    pub min: u32,
    /// Maximum pages, if any.
    pub max: Option<u32>,
    /// Imported rather than defined?
    pub imported: bool,
}

/// A global declaration.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GlobalDecl {
    /// Value type.
    pub ty: WasmType,
    /// `mut`?
    pub mutable: bool,
    /// Initializer (`None` for an imported global).
    pub init: Option<ConstExpr>,
}

/// What an import or export refers to.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum EntityIndex {
    /// A function (index in the function space).
    Func(u32),
    /// A table.
    Table(u32),
    /// The memory.
    Memory(u32),
    /// A global.
    Global(u32),
}

/// An import.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Import {
    /// Module name.
    pub module: String,
    /// Field name.
    pub name: String,
    /// The entity it defines in this module's index spaces.
    pub index: EntityIndex,
}

/// An export.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Export {
    /// Export name.
    pub name: String,
    /// What it exports.
    pub index: EntityIndex,
}

/// How an element segment is used.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ElemMode {
    /// Available to `table.init`.
    Passive,
    /// Only declares functions for `ref.func`; dropped at instantiation.
    Declared,
    /// Copied into `table` at `offset` at instantiation, then dropped.
    Active {
        /// Table index.
        table: u32,
        /// Offset (an `i32` expression).
        offset: ConstExpr,
    },
}

/// An element segment.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ElemSegment {
    /// Its mode.
    pub mode: ElemMode,
    /// `funcref` or `externref`.
    pub elem: WasmType,
    /// The items (`RefFunc`, `RefNull` or `GlobalGet`).
    pub items: Vec<ConstExpr>,
}

/// A data segment.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DataSegment {
    /// `Some(offset)` for an active segment (copied at instantiation, then dropped).
    pub offset: Option<ConstExpr>,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// Everything module-level about a validated module.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ModuleInfo {
    /// The type section.
    pub types: Vec<FuncType>,
    /// Type index of every function (imported first).
    pub funcs: Vec<u32>,
    /// How many of `funcs` are imported.
    pub num_imported_funcs: u32,
    /// Every table (imported first).
    pub tables: Vec<TableDecl>,
    /// How many of `tables` are imported.
    pub num_imported_tables: u32,
    /// The memory, if any (Wasm 2.0 has at most one).
    pub memory: Option<MemoryDecl>,
    /// Every global (imported first).
    pub globals: Vec<GlobalDecl>,
    /// How many of `globals` are imported.
    pub num_imported_globals: u32,
    /// Imports in section order.
    pub imports: Vec<Import>,
    /// Exports in section order.
    pub exports: Vec<Export>,
    /// The start function.
    pub start: Option<u32>,
    /// Element segments.
    pub elems: Vec<ElemSegment>,
    /// Data segments.
    pub datas: Vec<DataSegment>,
    /// Function names from the name section (function index → name).
    pub func_names: BTreeMap<u32, String>,
    /// Byte range of each defined function's body in the module.
    pub body_ranges: Vec<Range<usize>>,
    /// Every section but the code section, as `(id, content range)` in module order: what
    /// translating a body can depend on besides the body (see `cache::memo`).
    pub environment_sections: Vec<(u8, Range<usize>)>,
}

impl ModuleInfo {
    /// Number of defined (not imported) functions.
    pub fn num_defined_funcs(&self) -> u32 {
        self.funcs.len() as u32 - self.num_imported_funcs
    }

    /// The type of function `f`.
    pub fn func_type(&self, f: u32) -> Option<&FuncType> {
        self.types.get(*self.funcs.get(f as usize)? as usize)
    }

    /// Is global `g` imported?
    pub fn global_is_imported(&self, g: u32) -> bool {
        g < self.num_imported_globals
    }

    /// The vmctx layout of this module.
    pub fn vm_offsets(&self) -> super::VmOffsets {
        super::VmOffsets {
            num_types: self.types.len() as u32,
            num_funcs: self.funcs.len() as u32,
            num_tables: self.tables.len() as u32,
            num_globals: self.globals.len() as u32,
        }
    }

    /// The display name of function `f`: its name-section name, or `wasm_function_<f>`.
    pub fn func_display_name(&self, f: u32) -> String {
        match self.func_names.get(&f) {
            Some(n) => n.clone(),
            None => format!("wasm_function_{f}"),
        }
    }
}

/// A defined function's body, ready to be validated and translated.
pub struct FunctionInput<'a> {
    /// Function index (in the whole function space).
    pub index: u32,
    /// The body.
    pub body: FunctionBody<'a>,
    /// Its validator (validation happens during translation).
    pub validator: FuncToValidate<ValidatorResources>,
    /// The whole module's bytes (for the encoding checks wasmparser leaves out).
    pub wasm: &'a [u8],
}

fn err(e: wasmparser::BinaryReaderError) -> WasmError {
    WasmError::from_reader(e, None)
}

fn const_expr(e: &wasmparser::ConstExpr<'_>) -> Result<ConstExpr, WasmError> {
    let mut r = e.get_operators_reader();
    let offset = r.original_position() as usize;
    let op = r.read().map_err(err)?;
    let c = match op {
        Operator::I32Const { value } => ConstExpr::I32(value),
        Operator::I64Const { value } => ConstExpr::I64(value),
        Operator::F32Const { value } => ConstExpr::F32(value.bits()),
        Operator::F64Const { value } => ConstExpr::F64(value.bits()),
        Operator::V128Const { value } => ConstExpr::V128(u128::from_le_bytes(*value.bytes())),
        Operator::RefNull { .. } => ConstExpr::RefNull,
        Operator::RefFunc { function_index } => ConstExpr::RefFunc(function_index),
        Operator::GlobalGet { global_index } => ConstExpr::GlobalGet(global_index),
        other => {
            return Err(WasmError::Unsupported {
                func: None,
                offset,
                message: format!("constant expression {other:?}"),
            })
        }
    };
    Ok(c)
}

/// The code section's id in the binary format.
const CODE_SECTION_ID: u8 = 10;

/// Parse and validate every section of `wasm`; return the module info and the function
/// bodies (not yet validated: see the module docs).
pub fn parse_module(wasm: &[u8]) -> Result<(ModuleInfo, Vec<FunctionInput<'_>>), WasmError> {
    let mut validator = Validator::new_with_features(features());
    let mut info = ModuleInfo::default();
    let mut bodies = Vec::new();
    let mut next_func = 0u32;
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(err)?;
        let valid = validator.payload(&payload).map_err(err)?;
        if let Some((id, r)) = payload.as_section() {
            if id != CODE_SECTION_ID {
                info.environment_sections
                    .push((id, r.start as usize..r.end as usize));
            }
        }
        if let ValidPayload::Func(validator, body) = valid {
            let index = info.num_imported_funcs + next_func;
            next_func += 1;
            let r = body.range();
            info.body_ranges.push(r.start as usize..r.end as usize);
            bodies.push(FunctionInput {
                index,
                body,
                validator,
                wasm,
            });
            continue;
        }
        match payload {
            Payload::TypeSection(s) => {
                for rec in s.into_iter() {
                    for sub in rec.map_err(err)?.into_types() {
                        let f = sub.unwrap_func();
                        info.types.push(FuncType {
                            params: f.params().iter().map(|&t| WasmType::from(t)).collect(),
                            results: f.results().iter().map(|&t| WasmType::from(t)).collect(),
                        });
                    }
                }
            }
            Payload::ImportSection(s) => {
                for imp in s.into_imports() {
                    let imp = imp.map_err(err)?;
                    let index = match imp.ty {
                        TypeRef::Func(t) | TypeRef::FuncExact(t) => {
                            info.funcs.push(t);
                            info.num_imported_funcs += 1;
                            EntityIndex::Func(info.funcs.len() as u32 - 1)
                        }
                        TypeRef::Table(t) => {
                            info.tables.push(table_decl(&t));
                            info.num_imported_tables += 1;
                            EntityIndex::Table(info.tables.len() as u32 - 1)
                        }
                        TypeRef::Memory(m) => {
                            info.memory = Some(memory_decl(&m, true));
                            EntityIndex::Memory(0)
                        }
                        TypeRef::Global(g) => {
                            info.globals.push(GlobalDecl {
                                ty: g.content_type.into(),
                                mutable: g.mutable,
                                init: None,
                            });
                            info.num_imported_globals += 1;
                            EntityIndex::Global(info.globals.len() as u32 - 1)
                        }
                        TypeRef::Tag(_) => {
                            return Err(WasmError::Unsupported {
                                func: None,
                                offset: 0,
                                message: "tag imports (exception handling)".into(),
                            })
                        }
                    };
                    info.imports.push(Import {
                        module: imp.module.to_string(),
                        name: imp.name.to_string(),
                        index,
                    });
                }
            }
            Payload::FunctionSection(s) => {
                for t in s {
                    info.funcs.push(t.map_err(err)?);
                }
            }
            Payload::TableSection(s) => {
                for t in s {
                    let t = t.map_err(err)?;
                    if let wasmparser::TableInit::Expr(_) = t.init {
                        return Err(WasmError::Unsupported {
                            func: None,
                            offset: 0,
                            message: "table initializer expressions (function references)".into(),
                        });
                    }
                    info.tables.push(table_decl(&t.ty));
                }
            }
            Payload::MemorySection(s) => {
                let r = s.range();
                check_memory_leb_sizes(&wasm[r.start as usize..r.end as usize], r.start as usize)?;
                for m in s {
                    info.memory = Some(memory_decl(&m.map_err(err)?, false));
                }
            }
            Payload::GlobalSection(s) => {
                for g in s {
                    let g = g.map_err(err)?;
                    info.globals.push(GlobalDecl {
                        ty: g.ty.content_type.into(),
                        mutable: g.ty.mutable,
                        init: Some(const_expr(&g.init_expr)?),
                    });
                }
            }
            Payload::ExportSection(s) => {
                for e in s {
                    let e = e.map_err(err)?;
                    let index = match e.kind {
                        wasmparser::ExternalKind::Func | wasmparser::ExternalKind::FuncExact => {
                            EntityIndex::Func(e.index)
                        }
                        wasmparser::ExternalKind::Table => EntityIndex::Table(e.index),
                        wasmparser::ExternalKind::Memory => EntityIndex::Memory(e.index),
                        wasmparser::ExternalKind::Global => EntityIndex::Global(e.index),
                        wasmparser::ExternalKind::Tag => {
                            return Err(WasmError::Unsupported {
                                func: None,
                                offset: 0,
                                message: "tag exports (exception handling)".into(),
                            })
                        }
                    };
                    info.exports.push(Export {
                        name: e.name.to_string(),
                        index,
                    });
                }
            }
            Payload::StartSection { func, .. } => info.start = Some(func),
            Payload::ElementSection(s) => {
                for e in s {
                    let e = e.map_err(err)?;
                    let mode = match e.kind {
                        wasmparser::ElementKind::Passive => ElemMode::Passive,
                        wasmparser::ElementKind::Declared => ElemMode::Declared,
                        wasmparser::ElementKind::Active {
                            table_index,
                            offset_expr,
                        } => ElemMode::Active {
                            table: table_index.unwrap_or(0),
                            offset: const_expr(&offset_expr)?,
                        },
                    };
                    let (elem, items) = match e.items {
                        wasmparser::ElementItems::Functions(fs) => {
                            let mut items = Vec::new();
                            for f in fs {
                                items.push(ConstExpr::RefFunc(f.map_err(err)?));
                            }
                            (WasmType::FuncRef, items)
                        }
                        wasmparser::ElementItems::Expressions(rt, es) => {
                            let mut items = Vec::new();
                            for x in es {
                                items.push(const_expr(&x.map_err(err)?)?);
                            }
                            (WasmType::from(wasmparser::ValType::Ref(rt)), items)
                        }
                    };
                    info.elems.push(ElemSegment { mode, elem, items });
                }
            }
            Payload::DataSection(s) => {
                for d in s {
                    let d = d.map_err(err)?;
                    let offset = match d.kind {
                        wasmparser::DataKind::Passive => None,
                        wasmparser::DataKind::Active { offset_expr, .. } => {
                            Some(const_expr(&offset_expr)?)
                        }
                    };
                    info.datas.push(DataSegment {
                        offset,
                        bytes: d.data.to_vec(),
                    });
                }
            }
            Payload::CustomSection(c) => {
                // A malformed name section is not an error in Wasm: names are debug info.
                if let KnownCustom::Name(names) = c.as_known() {
                    for n in names.into_iter().flatten() {
                        if let Name::Function(map) = n {
                            for naming in map.into_iter().flatten() {
                                info.func_names
                                    .entry(naming.index)
                                    .or_insert_with(|| naming.name.to_string());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok((info, bodies))
}

fn table_decl(t: &wasmparser::TableType) -> TableDecl {
    TableDecl {
        elem: WasmType::from(wasmparser::ValType::Ref(t.element_type)),
        // Validation guarantees 32-bit tables (no table64), so these fit.
        min: t.initial as u32,
        max: t.maximum.map(|m| m.min(u64::from(u32::MAX)) as u32),
    }
}

fn memory_decl(m: &wasmparser::MemoryType, imported: bool) -> MemoryDecl {
    MemoryDecl {
        // Validation guarantees at most 65536 pages (no memory64).
        min: m.initial as u32,
        max: m.maximum.map(|x| x as u32),
        imported,
    }
}

/// Without memory64, the limits of a memory type are `u32` LEB128s of at most 5 bytes;
/// wasmparser reads them as `u64`s and accepts 10. `bytes` is the memory section's
/// contents, starting at module offset `at`.
fn check_memory_leb_sizes(bytes: &[u8], at: usize) -> Result<(), WasmError> {
    let mut pos = 0usize;
    let leb = |pos: &mut usize| -> Result<u64, WasmError> {
        let start = *pos;
        let mut v = 0u64;
        for i in 0..10 {
            let Some(&b) = bytes.get(*pos) else {
                // Truncation is the validator's to report.
                return Ok(v);
            };
            *pos += 1;
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                if *pos - start > 5 {
                    return Err(WasmError::Invalid {
                        func: None,
                        offset: at + start,
                        message: "integer representation too long".into(),
                    });
                }
                return Ok(v);
            }
        }
        Ok(v)
    };
    let count = leb(&mut pos)?;
    for _ in 0..count {
        let flags = leb(&mut pos)?;
        leb(&mut pos)?;
        if flags & 1 != 0 {
            leb(&mut pos)?;
        }
    }
    Ok(())
}
