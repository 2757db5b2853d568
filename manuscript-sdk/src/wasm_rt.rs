//! The wasm32 runtime glue every manuscript links: a `dlmalloc` global allocator and a panic
//! handler that reports the panic message and location to the host through `abort`.

use crate::fmt::TruncatingWriter;
use core::fmt::Write;

#[global_allocator]
static ALLOCATOR: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

/// Longest panic message forwarded to the host; formatted on the stack so that a panic caused
/// by an allocation failure can still be reported.
const PANIC_MESSAGE_CAP: usize = 1024;

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let mut buf = [0u8; PANIC_MESSAGE_CAP];
    let mut writer = TruncatingWriter::new(&mut buf);
    let _ = write!(writer, "{}", info.message());
    let (file, line, column) = match info.location() {
        Some(l) => (l.file(), l.line(), l.column()),
        None => ("<unknown>", 0, 0),
    };
    crate::sys::abort(writer.written(), file, line, column)
}
