//! The deterministic stack limit: a pass over a validated manuscript that meters its call depth in wasm-defined
//! units, so that deep recursion fails at the same point, with the same fuel, on every machine.
//!
//! The native stack a wasm frame takes depends on the compiler and the CPU, so a limit on it alone would let
//! validators disagree on where a recursion stops. The pass gives every defined function a cost, its frame in
//! units: its locals (parameters included), the highest its operand stack gets, and [`FRAME_OVERHEAD_UNITS`]. A
//! mutable global added to the module counts the units of the frames live; each function adds its cost on
//! entry and, if the count is then above [`MAX_STACK_UNITS`], calls an import the host answers with
//! [`HostTrap::StackOverflow`](crate::HostTrap::StackOverflow); it takes its cost back before each `return` and
//! at its end (its body is wrapped in a block of its results, so a branch out of the body lands there).
//!
//! The instrumented module, not the original, is compiled and cached ([`VERSION`] is part of the cache key).
//! The native limit (`Limits::max_wasm_stack`) is set so that this limit always trips first (see
//! [`native_stack_needed`]). Deploy-time validation rejects a function whose own frame is above [`MAX_FRAME_UNITS`]
//! ([`check_frames`]), which is what bounds the native stack of the frame being entered when the count is checked.

use std::collections::BTreeMap;
use std::convert::Infallible;

use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{
    BlockType, CodeSection, ConstExpr, EntityType, Function, GlobalSection, GlobalType,
    ImportSection, Instruction, Module, SectionId, TypeSection, ValType,
};
use wasmparser::{
    CompositeInnerType, FuncValidatorAllocations, FunctionBody, Operator, Parser, Payload, TypeRef,
    ValidPayload, Validator, WasmFeatures,
};

/// Version of the pass: compiled modules from another version are not reused (it is part of the cache key).
pub const VERSION: u32 = 1;

/// The most units the live frames may take together.
pub const MAX_STACK_UNITS: u32 = 16_384;

/// Units added to each function's cost: return address, saved registers and other per-frame native state.
pub const FRAME_OVERHEAD_UNITS: u32 = 8;

/// The most units one function's frame may take; a module with a larger one is rejected.
pub const MAX_FRAME_UNITS: u32 = 4_096;

/// Upper bound on the native stack bytes per unit of a compiled frame: a spill slot or register save of at
/// most 16 bytes (a `v128`) per local or operand, and as much again for an operand passed on the stack to a
/// call, with the fixed part of a frame within [`FRAME_OVERHEAD_UNITS`].
pub const NATIVE_BYTES_PER_UNIT: u32 = 32;

/// The import the instrumented module calls when the count is above the limit. Manuscripts cannot import it
/// themselves: validation allows imports of module `cvm` only.
pub const OVERFLOW_IMPORT: (&str, &str) = ("cvm_stack", "overflow");

/// The native stack the deepest stack of frames the limit lets through can take: every frame within the limit
/// plus the one being entered when the count is checked.
pub const fn native_stack_needed() -> u64 {
    (MAX_STACK_UNITS as u64 + MAX_FRAME_UNITS as u64) * NATIVE_BYTES_PER_UNIT as u64
}

/// Why a module cannot be instrumented.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StackLimitError {
    /// A function's frame is above [`MAX_FRAME_UNITS`].
    #[error(
        "function {index} has a frame of {units} stack units (locals plus operand stack), above the limit of \
         {max}: split it into smaller functions"
    )]
    FrameTooLarge {
        /// The function's index among all functions.
        index: u32,
        /// Its cost in units.
        units: u32,
        /// [`MAX_FRAME_UNITS`].
        max: u32,
    },
    /// The module does not parse or validate (deploy-time validation rules this out).
    #[error("cannot instrument the module's stack: {0}")]
    Invalid(String),
}

fn invalid(e: impl std::fmt::Display) -> StackLimitError {
    StackLimitError::Invalid(e.to_string())
}

/// Checks that every function's frame is within [`MAX_FRAME_UNITS`] (deploy-time validation runs this).
pub fn check_frames(wasm: &[u8], features: WasmFeatures) -> Result<(), StackLimitError> {
    analyse(wasm, features).map(|_| ())
}

/// `wasm`, valid with `features`, with its call depth metered; a pure function of its arguments.
pub fn instrument(wasm: &[u8], features: WasmFeatures) -> Result<Vec<u8>, StackLimitError> {
    let analysis = analyse(wasm, features)?;
    let mut pass = Pass::new(&analysis);
    let mut module = Module::new();
    pass.parse_core_module(&mut module, Parser::new(0), wasm)
        .map_err(invalid)?;
    Ok(module.finish())
}

/// What the pass needs to know of the module before rewriting it.
#[derive(Default)]
struct Analysis {
    /// Result types of each type of the module, by type index.
    results: Vec<Vec<wasmparser::ValType>>,
    imported_functions: u32,
    globals: u32,
    /// The type index of each defined function.
    function_types: Vec<u32>,
    /// The frame cost of each defined function.
    costs: Vec<u32>,
}

/// Validates `wasm` with `features`, measuring each function's frame on the way.
fn analyse(wasm: &[u8], features: WasmFeatures) -> Result<Analysis, StackLimitError> {
    let mut analysis = Analysis::default();
    let mut validator = Validator::new_with_features(features);
    let mut allocs = FuncValidatorAllocations::default();
    for payload in Parser::new(0).parse_all(wasm) {
        let payload = payload.map_err(invalid)?;
        match &payload {
            Payload::TypeSection(reader) => {
                for group in reader.clone() {
                    for sub in group.map_err(invalid)?.into_types() {
                        let CompositeInnerType::Func(f) = &sub.composite_type.inner else {
                            return Err(invalid("non-function type"));
                        };
                        analysis.results.push(f.results().to_vec());
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.clone().into_imports() {
                    match import.map_err(invalid)?.ty {
                        TypeRef::Func(_) => analysis.imported_functions += 1,
                        TypeRef::Global(_) => analysis.globals += 1,
                        _ => {}
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader.clone() {
                    analysis.function_types.push(ty.map_err(invalid)?);
                }
            }
            Payload::GlobalSection(reader) => analysis.globals += reader.count(),
            _ => {}
        }
        if let ValidPayload::Func(to_validate, body) =
            validator.payload(&payload).map_err(invalid)?
        {
            let mut func = to_validate.into_validator(std::mem::take(&mut allocs));
            let units = frame_units(&mut func, &body)?;
            if units > MAX_FRAME_UNITS {
                return Err(StackLimitError::FrameTooLarge {
                    index: func.index(),
                    units,
                    max: MAX_FRAME_UNITS,
                });
            }
            analysis.costs.push(units);
            allocs = func.into_allocations();
        }
    }
    Ok(analysis)
}

/// A function's cost: its locals, the highest its operand stack gets between two instructions, and the
/// per-frame overhead (saturating: any huge frame is over the limit).
fn frame_units(
    func: &mut wasmparser::FuncValidator<wasmparser::ValidatorResources>,
    body: &FunctionBody<'_>,
) -> Result<u32, StackLimitError> {
    func.read_locals(&mut body.get_binary_reader())
        .map_err(invalid)?;
    let mut ops = body.get_operators_reader().map_err(invalid)?;
    let mut highest = 0u32;
    while !ops.eof() {
        let (op, offset) = ops.read_with_offset().map_err(invalid)?;
        func.op(offset, &op).map_err(invalid)?;
        highest = highest.max(func.operand_stack_height());
    }
    ops.finish().map_err(invalid)?;
    Ok(func
        .len_locals()
        .saturating_add(highest)
        .saturating_add(FRAME_OVERHEAD_UNITS))
}

/// The rewrite: one import, one global and a few types appended (so no index of the module moves but the
/// defined functions', which the import shifts by one), and every defined function wrapped.
struct Pass<'a> {
    analysis: &'a Analysis,
    /// Index of the `() -> ()` type of the overflow import.
    overflow_type: u32,
    /// For each type with more than one result: the index of the added `() -> results` type of its body block.
    body_types: BTreeMap<u32, u32>,
    import_added: bool,
    global_added: bool,
    /// Index among defined functions of the next body.
    next_body: usize,
}

impl<'a> Pass<'a> {
    fn new(analysis: &'a Analysis) -> Self {
        let count = analysis.results.len() as u32;
        let body_types = (0..count)
            .filter(|t| analysis.results[*t as usize].len() > 1)
            .enumerate()
            .map(|(i, t)| (t, count + 1 + i as u32))
            .collect();
        Self {
            analysis,
            overflow_type: count,
            body_types,
            import_added: false,
            global_added: false,
            next_body: 0,
        }
    }

    fn stack_global(&self) -> u32 {
        self.analysis.globals
    }

    fn overflow_function(&self) -> u32 {
        self.analysis.imported_functions
    }

    fn add_import(&mut self, imports: &mut ImportSection) {
        let (module, name) = OVERFLOW_IMPORT;
        imports.import(module, name, EntityType::Function(self.overflow_type));
        self.import_added = true;
    }

    fn add_global(&mut self, globals: &mut GlobalSection) {
        let ty = GlobalType {
            val_type: ValType::I32,
            mutable: true,
            shared: false,
        };
        globals.global(ty, &ConstExpr::i32_const(0));
        self.global_added = true;
    }

    /// Adds the function's cost to the count; calls the overflow import when the count is above the limit.
    fn enter(&self, f: &mut Function, cost: u32) {
        let global = self.stack_global();
        f.instruction(&Instruction::GlobalGet(global))
            .instruction(&Instruction::I32Const(cost as i32))
            .instruction(&Instruction::I32Add)
            .instruction(&Instruction::GlobalSet(global))
            .instruction(&Instruction::GlobalGet(global))
            .instruction(&Instruction::I32Const(MAX_STACK_UNITS as i32))
            .instruction(&Instruction::I32GtU)
            .instruction(&Instruction::If(BlockType::Empty))
            .instruction(&Instruction::Call(self.overflow_function()))
            .instruction(&Instruction::Unreachable)
            .instruction(&Instruction::End);
    }

    /// Takes the function's cost back from the count (the operand stack is left as it is).
    fn leave(&self, f: &mut Function, cost: u32) {
        let global = self.stack_global();
        f.instruction(&Instruction::GlobalGet(global))
            .instruction(&Instruction::I32Const(cost as i32))
            .instruction(&Instruction::I32Sub)
            .instruction(&Instruction::GlobalSet(global));
    }

    /// The block a function's body is wrapped in: no parameters (they are locals), the function's results.
    fn body_block(&mut self, ty: u32) -> Result<BlockType, reencode::Error<Infallible>> {
        let results = self
            .analysis
            .results
            .get(ty as usize)
            .ok_or(reencode::Error::InvalidCodeSectionSize)?;
        Ok(match results.as_slice() {
            [] => BlockType::Empty,
            [one] => BlockType::Result(self.val_type(*one)?),
            _ => BlockType::FunctionType(self.body_types[&ty]),
        })
    }
}

/// Whether a section `before` comes after sections of kind `id` in a module (`None`: the module's end).
fn comes_after(before: Option<SectionId>, id: SectionId) -> bool {
    let rank = |id: SectionId| match id {
        SectionId::Custom => 0,
        SectionId::Type => 1,
        SectionId::Import => 2,
        SectionId::Function => 3,
        SectionId::Table => 4,
        SectionId::Memory => 5,
        SectionId::Tag => 6,
        SectionId::Global => 7,
        SectionId::Export => 8,
        SectionId::Start => 9,
        SectionId::Element => 10,
        SectionId::DataCount => 11,
        SectionId::Code => 12,
        SectionId::Data => 13,
    };
    before.is_none_or(|b| b != SectionId::Custom && rank(b) > rank(id))
}

impl Reencode for Pass<'_> {
    type Error = Infallible;

    fn function_index(&mut self, func: u32) -> Result<u32, reencode::Error<Infallible>> {
        Ok(if func >= self.analysis.imported_functions {
            func + 1
        } else {
            func
        })
    }

    fn parse_type_section(
        &mut self,
        types: &mut TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> Result<(), reencode::Error<Infallible>> {
        reencode::utils::parse_type_section(self, types, section)?;
        types.ty().function([], []);
        let analysis = self.analysis;
        for ty in self.body_types.clone().into_keys() {
            let results = analysis.results[ty as usize]
                .iter()
                .map(|r| self.val_type(*r))
                .collect::<Result<Vec<_>, _>>()?;
            types.ty().function([], results);
        }
        Ok(())
    }

    /// Keeps the name section with its function indices moved, or drops it when it does not parse: it only
    /// names things for debugging, and validation does not read it, so it must not make a valid module fail here.
    fn parse_custom_section(
        &mut self,
        module: &mut Module,
        section: wasmparser::CustomSectionReader<'_>,
    ) -> Result<(), reencode::Error<Infallible>> {
        match section.as_known() {
            wasmparser::KnownCustom::Name(names) => {
                if let Ok(names) = self.custom_name_section(names) {
                    module.section(&names);
                }
            }
            _ => {
                module.section(&self.custom_section(section)?);
            }
        }
        Ok(())
    }

    fn parse_import_section(
        &mut self,
        imports: &mut ImportSection,
        section: wasmparser::ImportSectionReader<'_>,
    ) -> Result<(), reencode::Error<Infallible>> {
        reencode::utils::parse_import_section(self, imports, section)?;
        self.add_import(imports);
        Ok(())
    }

    fn parse_global_section(
        &mut self,
        globals: &mut GlobalSection,
        section: wasmparser::GlobalSectionReader<'_>,
    ) -> Result<(), reencode::Error<Infallible>> {
        reencode::utils::parse_global_section(self, globals, section)?;
        self.add_global(globals);
        Ok(())
    }

    /// Adds the import and global sections where the module has none.
    fn intersperse_section_hook(
        &mut self,
        module: &mut Module,
        _after: Option<SectionId>,
        before: Option<SectionId>,
    ) -> Result<(), reencode::Error<Infallible>> {
        if !self.import_added && comes_after(before, SectionId::Import) {
            let mut imports = ImportSection::new();
            self.add_import(&mut imports);
            module.section(&imports);
        }
        if !self.global_added && comes_after(before, SectionId::Global) {
            let mut globals = GlobalSection::new();
            self.add_global(&mut globals);
            module.section(&globals);
        }
        Ok(())
    }

    fn parse_function_body(
        &mut self,
        code: &mut CodeSection,
        body: FunctionBody<'_>,
    ) -> Result<(), reencode::Error<Infallible>> {
        let index = self.next_body;
        self.next_body += 1;
        let (Some(&cost), Some(&ty)) = (
            self.analysis.costs.get(index),
            self.analysis.function_types.get(index),
        ) else {
            return Err(reencode::Error::InvalidCodeSectionSize);
        };
        let block = self.body_block(ty)?;
        let mut f = self.new_function_with_parsed_locals(&body)?;
        self.enter(&mut f, cost);
        f.instruction(&Instruction::Block(block));
        let mut ops = body.get_operators_reader()?;
        while !ops.eof() {
            match ops.read()? {
                Operator::Return => {
                    self.leave(&mut f, cost);
                    f.instruction(&Instruction::Return);
                }
                op => {
                    f.instruction(&self.instruction(op)?);
                }
            }
        }
        // The body's final `end` closed the block; the function's own follows the epilogue.
        self.leave(&mut f, cost);
        f.instruction(&Instruction::End);
        code.function(&f);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
