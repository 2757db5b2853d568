//! Fuel charging of host functions: every one charges its price before doing its work.

use super::host_state::Ctx;
use super::trap::HostTrap;
use crate::fuel::{FuelSchedule, HostCost};

/// Takes `amount` from the fuel left, or traps naming `call` (leaving no fuel) when less is left.
pub(super) fn charge(
    caller: &mut Ctx<'_>,
    call: &'static str,
    amount: u64,
) -> wasmtime::Result<()> {
    if !caller.data().metered {
        return Ok(());
    }
    let left = caller.get_fuel()?;
    if left < amount {
        caller.set_fuel(0)?;
        return Err(HostTrap::OutOfFuel {
            call,
            cost: amount,
            left,
        }
        .into());
    }
    caller.set_fuel(left - amount)?;
    Ok(())
}

/// Charges the schedule's price of `call` for `bytes` bytes.
pub(super) fn charge_cost(
    caller: &mut Ctx<'_>,
    call: &'static str,
    cost: impl Fn(&FuelSchedule) -> HostCost,
    bytes: u64,
) -> wasmtime::Result<()> {
    let amount = cost(&caller.data().fuel).cost(bytes);
    charge(caller, call, amount)
}
