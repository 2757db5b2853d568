//! `cvm_stack::overflow()`: the import the stack limit's instrumentation calls when the live frames are above
//! the limit (module `stack_limit`). Not part of the ABI: manuscripts cannot import it.

use super::host_state::Ctx;
use super::trap::HostTrap;
use crate::stack_limit::MAX_STACK_UNITS;

/// Stops the invocation with a stack overflow.
pub(super) fn stack_overflow(_caller: Ctx<'_>) -> wasmtime::Result<()> {
    Err(HostTrap::StackOverflow(MAX_STACK_UNITS).into())
}
