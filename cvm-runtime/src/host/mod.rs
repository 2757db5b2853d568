//! The `cvm` host functions (manuscript-sdk/ABI.md, "Imports") and the per-store state they work on.
//!
//! One file per import, each holding the one function wasmtime calls; `HOST_FUNCTIONS` lists them by import
//! name and the engine's linker is built from that list. Every function charges fuel from the
//! [`FuelSchedule`](crate::fuel::FuelSchedule) before doing its work (`metering`) and reaches guest memory only
//! through bounds-checked helpers (`guest_memory`).

mod guest_memory;
mod host_state;
mod limiter;
mod metering;
mod trap;

mod abort;
mod block_height;
mod block_time;
mod emit;
mod log;
mod stack_overflow;
mod state_get;
mod state_next_key;
mod state_remove;
mod state_set;

use wasmtime::Linker;

pub(crate) use host_state::DeclaredDataset;
pub use host_state::{BlockInfo, EmittedRecord, HostState, LogLevel, LogLine, LogPolicy};
pub use trap::HostTrap;

/// The import module every host function lives in.
const MODULE: &str = "cvm";

/// Defines one host function in a linker, under the given name of module [`MODULE`].
type LinkHostFunction = fn(&mut Linker<HostState>, &'static str) -> wasmtime::Result<()>;

/// Every `cvm` import, by name, with what links it. Names and signatures must match `validate::HOST_IMPORTS`.
const HOST_FUNCTIONS: &[(&str, LinkHostFunction)] = &[
    ("state_get", |linker, name| {
        linker.func_wrap(MODULE, name, state_get::state_get)?;
        Ok(())
    }),
    ("state_set", |linker, name| {
        linker.func_wrap(MODULE, name, state_set::state_set)?;
        Ok(())
    }),
    ("state_remove", |linker, name| {
        linker.func_wrap(MODULE, name, state_remove::state_remove)?;
        Ok(())
    }),
    ("state_next_key", |linker, name| {
        linker.func_wrap(MODULE, name, state_next_key::state_next_key)?;
        Ok(())
    }),
    ("emit", |linker, name| {
        linker.func_wrap(MODULE, name, emit::emit)?;
        Ok(())
    }),
    ("block_height", |linker, name| {
        linker.func_wrap(MODULE, name, block_height::block_height)?;
        Ok(())
    }),
    ("block_time", |linker, name| {
        linker.func_wrap(MODULE, name, block_time::block_time)?;
        Ok(())
    }),
    ("log", |linker, name| {
        linker.func_wrap(MODULE, name, log::log)?;
        Ok(())
    }),
    ("abort", |linker, name| {
        linker.func_wrap(MODULE, name, abort::abort)?;
        Ok(())
    }),
];

/// Links every `cvm` import of [`HOST_FUNCTIONS`], and the stack limit's overflow import.
pub(crate) fn link_host_functions(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    for (name, link) in HOST_FUNCTIONS {
        link(linker, name)?;
    }
    let (module, name) = crate::stack_limit::OVERFLOW_IMPORT;
    linker.func_wrap(module, name, stack_overflow::stack_overflow)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::HOST_FUNCTIONS;
    use crate::validate::HOST_IMPORTS;

    #[test]
    fn every_validated_import_is_linked_and_nothing_else() {
        let linked: Vec<&str> = HOST_FUNCTIONS.iter().map(|(name, _)| *name).collect();
        let validated: Vec<&str> = HOST_IMPORTS.iter().map(|(name, ..)| *name).collect();
        assert_eq!(linked, validated);
    }
}
