//! Small formatting helpers usable in `no_std` manuscripts (log messages, error texts).

use core::fmt;

/// Displays bytes as `0x`-prefixed lowercase hex without allocating: `Hex(&address)`.
pub struct Hex<'a>(pub &'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("0x")?;
        for byte in self.0 {
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A `fmt::Write` into a fixed buffer that silently truncates (at a UTF-8 boundary) when full.
/// Used where allocating is not an option, such as the panic handler.
#[cfg(any(target_arch = "wasm32", test))]
pub(crate) struct TruncatingWriter<'a> {
    buf: &'a mut [u8],
    len: usize,
}

#[cfg(any(target_arch = "wasm32", test))]
impl<'a> TruncatingWriter<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        TruncatingWriter { buf, len: 0 }
    }

    pub(crate) fn written(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

#[cfg(any(target_arch = "wasm32", test))]
impl fmt::Write for TruncatingWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.buf.len() - self.len;
        let mut take = s.len().min(room);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        self.buf[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use core::fmt::Write;

    #[test]
    fn hex_formats_bytes() {
        assert_eq!(format!("{}", Hex(&[0x00, 0xab, 0x10])), "0x00ab10");
        assert_eq!(format!("{:?}", Hex(&[])), "0x");
    }

    #[test]
    fn truncating_writer_keeps_utf8_boundaries() {
        let mut buf = [0u8; 5];
        let mut w = TruncatingWriter::new(&mut buf);
        w.write_str("ab").unwrap();
        w.write_str("héllo").unwrap();
        // "abhé" is 5 bytes; 'l' does not fit.
        assert_eq!(w.written(), "abhé".as_bytes());
        let mut buf = [0u8; 3];
        let mut w = TruncatingWriter::new(&mut buf);
        write!(w, "abé").unwrap();
        assert_eq!(w.written(), b"ab");
    }
}
