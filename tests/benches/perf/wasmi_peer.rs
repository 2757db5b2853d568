//! The same manuscript run by the `wasmi` interpreter, as a peer of the CVM: what an interpreter-based runtime
//! (the usual alternative to a JIT for deterministic execution) would deliver on the same workload.
//!
//! Only the host imports the erc20-transfers manuscript uses are implemented (`state_get`, `state_set`, `emit`,
//! `log`, `abort`; the others trap, so modules importing them still instantiate), over an in-memory map, with the CVM's semantics: fuel charged from the [`FuelSchedule`]
//! before the work, the same key layout (`s/<key>` for state, `d/<dataset>/<key>` for records, so the final map
//! compares with the CVM's child trie entry by entry), writes kept only when `cvm_process` returns 0.

use std::collections::BTreeMap;

use cvm_runtime::state::{record_key, state_key};
use cvm_runtime::{EmittedRecord, FuelSchedule, HostCost};
use wasmi::{Caller, Config, Engine, Error, Linker, Memory, Module, Store, TypedFunc};

/// Host state of one wasmi store.
struct Host {
    memory: Option<Memory>,
    fuel: FuelSchedule,
    datasets: Vec<String>,
    committed: BTreeMap<Vec<u8>, Vec<u8>>,
    pending: BTreeMap<Vec<u8>, Vec<u8>>,
    emitted: Vec<EmittedRecord>,
    logs: Vec<String>,
}

impl Host {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.pending
            .get(key)
            .or_else(|| self.committed.get(key))
            .cloned()
    }
}

/// A compiled module and a linker with the host functions; [`WasmiPeer::runner`] makes a fresh state.
pub struct WasmiPeer {
    engine: Engine,
    module: Module,
    linker: Linker<Host>,
    datasets: Vec<String>,
}

/// What one `cvm_process` call produced.
#[derive(Debug)]
pub struct WasmiOutcome {
    /// The status `cvm_process` returned, or `Err` with the trap.
    pub status: Result<i32, String>,
    /// Records emitted (empty unless the status is 0).
    pub emitted: Vec<EmittedRecord>,
}

impl WasmiPeer {
    /// Compiles `wasm` (fuel metering on) for a manuscript emitting into `datasets`.
    pub fn new(wasm: &[u8], datasets: &[&str]) -> Self {
        let mut config = Config::default();
        config.consume_fuel(true);
        let engine = Engine::new(&config);
        let module = Module::new(&engine, wasm).expect("wasmi compiles the manuscript");
        let mut linker = Linker::new(&engine);
        link(&mut linker);
        WasmiPeer {
            engine,
            module,
            linker,
            datasets: datasets.iter().map(|d| d.to_string()).collect(),
        }
    }

    /// A fresh store with empty state and a new instance.
    pub fn runner(&self) -> WasmiRunner {
        let host = Host {
            memory: None,
            fuel: FuelSchedule::default(),
            datasets: self.datasets.clone(),
            committed: BTreeMap::new(),
            pending: BTreeMap::new(),
            emitted: Vec::new(),
            logs: Vec::new(),
        };
        let mut runner = WasmiRunner {
            store: Store::new(&self.engine, host),
            alloc: None,
            process: None,
        };
        runner.instantiate(self);
        runner
    }
}

/// One manuscript instance over its state, processing records in order.
pub struct WasmiRunner {
    store: Store<Host>,
    alloc: Option<TypedFunc<i32, i32>>,
    process: Option<TypedFunc<(i32, i32, i32, i32), i32>>,
}

impl WasmiRunner {
    fn instantiate(&mut self, peer: &WasmiPeer) {
        let instance = peer
            .linker
            .instantiate_and_start(&mut self.store, &peer.module)
            .expect("wasmi instantiates the manuscript");
        self.store.data_mut().memory = instance.get_memory(&self.store, "memory");
        self.alloc = Some(
            instance
                .get_typed_func(&self.store, "cvm_alloc")
                .expect("cvm_alloc"),
        );
        self.process = Some(
            instance
                .get_typed_func(&self.store, "cvm_process")
                .expect("cvm_process"),
        );
    }

    /// Processes one record with `fuel_limit` fuel. After a trap the instance is replaced (like the CVM).
    pub fn process(
        &mut self,
        peer: &WasmiPeer,
        source: &str,
        record: &[u8],
        fuel_limit: u64,
    ) -> WasmiOutcome {
        self.store.set_fuel(fuel_limit).expect("fuel enabled");
        let status = self.call(source, record).map_err(|e| e.to_string());
        let host = self.store.data_mut();
        let emitted = std::mem::take(&mut host.emitted);
        host.logs.clear();
        let pending = std::mem::take(&mut host.pending);
        match status {
            Ok(0) => {
                host.committed.extend(pending);
                WasmiOutcome { status, emitted }
            }
            Ok(_) => WasmiOutcome {
                status,
                emitted: Vec::new(),
            },
            Err(_) => {
                self.instantiate(peer);
                WasmiOutcome {
                    status,
                    emitted: Vec::new(),
                }
            }
        }
    }

    fn call(&mut self, source: &str, record: &[u8]) -> Result<i32, Error> {
        let (alloc, process) = (self.alloc.unwrap(), self.process.unwrap());
        let total = source.len() + record.len();
        let ptr = alloc.call(&mut self.store, total as i32)?;
        let memory = self.store.data().memory.expect("memory export");
        let start = ptr as u32 as usize;
        let buf = memory
            .data_mut(&mut self.store)
            .get_mut(start..start + total)
            .ok_or_else(|| Error::new("cvm_alloc returned a buffer outside memory"))?;
        buf[..source.len()].copy_from_slice(source.as_bytes());
        buf[source.len()..].copy_from_slice(record);
        let record_ptr = ptr.wrapping_add(source.len() as i32);
        process.call(
            &mut self.store,
            (ptr, source.len() as i32, record_ptr, record.len() as i32),
        )
    }

    /// The committed state: every key the manuscript wrote, with the CVM child trie's key layout.
    pub fn committed(&self) -> &BTreeMap<Vec<u8>, Vec<u8>> {
        &self.store.data().committed
    }
}

fn charge(caller: &mut Caller<'_, Host>, cost: HostCost, bytes: u64) -> Result<(), Error> {
    let amount = cost.cost(bytes);
    let left = caller.get_fuel()?;
    if left < amount {
        caller.set_fuel(0)?;
        return Err(Error::new("out of fuel"));
    }
    caller.set_fuel(left - amount)
}

fn bytes(memory: &[u8], ptr: i32, len: i32) -> Result<&[u8], Error> {
    let start = ptr as u32 as usize;
    start
        .checked_add(len as u32 as usize)
        .and_then(|end| memory.get(start..end))
        .ok_or_else(|| Error::new("memory access out of bounds"))
}

fn read(caller: &Caller<'_, Host>, ptr: i32, len: i32) -> Result<Vec<u8>, Error> {
    let memory = caller.data().memory.expect("memory export");
    bytes(memory.data(caller), ptr, len).map(<[u8]>::to_vec)
}

fn link(linker: &mut Linker<Host>) {
    linker
        .func_wrap(
            "cvm",
            "state_get",
            |mut caller: Caller<'_, Host>,
             key_ptr: i32,
             key_len: i32,
             out_ptr: i32,
             out_cap: i32|
             -> Result<i32, Error> {
                let cost = caller.data().fuel.state_get;
                charge(&mut caller, cost, u64::from(key_len as u32))?;
                let key = state_key(&read(&caller, key_ptr, key_len)?);
                let Some(value) = caller.data().get(&key) else {
                    return Ok(-1);
                };
                let copied = value.len().min(out_cap as u32 as usize);
                charge(&mut caller, HostCost::new(0, cost.per_byte), copied as u64)?;
                let memory = caller.data().memory.expect("memory export");
                let start = out_ptr as u32 as usize;
                memory
                    .data_mut(&mut caller)
                    .get_mut(start..start + copied)
                    .ok_or_else(|| Error::new("memory access out of bounds"))?
                    .copy_from_slice(&value[..copied]);
                Ok(value.len() as i32)
            },
        )
        .expect("link state_get");
    linker
        .func_wrap(
            "cvm",
            "state_set",
            |mut caller: Caller<'_, Host>,
             key_ptr: i32,
             key_len: i32,
             val_ptr: i32,
             val_len: i32|
             -> Result<(), Error> {
                let cost = caller.data().fuel.state_set;
                let size = u64::from(key_len as u32) + u64::from(val_len as u32);
                charge(&mut caller, cost, size)?;
                let key = state_key(&read(&caller, key_ptr, key_len)?);
                let value = read(&caller, val_ptr, val_len)?;
                caller.data_mut().pending.insert(key, value);
                Ok(())
            },
        )
        .expect("link state_set");
    linker
        .func_wrap(
            "cvm",
            "emit",
            |mut caller: Caller<'_, Host>,
             ds_ptr: i32,
             ds_len: i32,
             key_ptr: i32,
             key_len: i32,
             val_ptr: i32,
             val_len: i32|
             -> Result<(), Error> {
                let cost = caller.data().fuel.emit;
                let size = [ds_len, key_len, val_len]
                    .iter()
                    .map(|l| u64::from(*l as u32))
                    .sum();
                charge(&mut caller, cost, size)?;
                let dataset = String::from_utf8(read(&caller, ds_ptr, ds_len)?)
                    .map_err(|_| Error::new("dataset name is not UTF-8"))?;
                if !caller.data().datasets.contains(&dataset) {
                    return Err(Error::new(format!("undeclared dataset {dataset:?}")));
                }
                let key = read(&caller, key_ptr, key_len)?;
                let value = read(&caller, val_ptr, val_len)?;
                let host = caller.data_mut();
                host.pending
                    .insert(record_key(&dataset, &key), value.clone());
                host.emitted.push(EmittedRecord {
                    dataset,
                    key,
                    value,
                });
                Ok(())
            },
        )
        .expect("link emit");
    linker
        .func_wrap(
            "cvm",
            "log",
            |mut caller: Caller<'_, Host>, _level: i32, ptr: i32, len: i32| -> Result<(), Error> {
                let cost = caller.data().fuel.log;
                charge(&mut caller, cost, u64::from(len as u32))?;
                let message =
                    String::from_utf8_lossy(&read(&caller, ptr, len.clamp(0, 4096))?).into_owned();
                caller.data_mut().logs.push(message);
                Ok(())
            },
        )
        .expect("link log");
    linker
        .func_wrap(
            "cvm",
            "abort",
            |mut caller: Caller<'_, Host>,
             msg_ptr: i32,
             msg_len: i32,
             _file_ptr: i32,
             file_len: i32,
             _line: i32,
             _column: i32|
             -> Result<(), Error> {
                let cost = caller.data().fuel.abort;
                charge(
                    &mut caller,
                    cost,
                    u64::from(msg_len as u32) + u64::from(file_len as u32),
                )?;
                let message = read(&caller, msg_ptr, msg_len.clamp(0, 4096))?;
                Err(Error::new(format!(
                    "panicked: {}",
                    String::from_utf8_lossy(&message)
                )))
            },
        )
        .expect("link abort");
    // Not used by erc20-transfers: linked so that other modules (the calibration loops) instantiate; trap if called.
    let missing = |name: &str| Error::new(format!("{name} is not provided by the wasmi peer"));
    linker
        .func_wrap(
            "cvm",
            "state_remove",
            move |_: Caller<'_, Host>, _: i32, _: i32| -> Result<(), Error> {
                Err(missing("state_remove"))
            },
        )
        .expect("link state_remove");
    linker
        .func_wrap(
            "cvm",
            "state_next_key",
            move |_: Caller<'_, Host>,
                  _: i32,
                  _: i32,
                  _: i32,
                  _: i32,
                  _: i32,
                  _: i32|
                  -> Result<i32, Error> { Err(missing("state_next_key")) },
        )
        .expect("link state_next_key");
    for name in ["block_height", "block_time"] {
        linker
            .func_wrap(
                "cvm",
                name,
                move |_: Caller<'_, Host>| -> Result<i64, Error> { Err(missing(name)) },
            )
            .expect("link block info");
    }
}
