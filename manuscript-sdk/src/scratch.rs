//! Stack buffers for the bytes that cross the host boundary: the encoded keys and values of `get`/`set`/`emit`
//! and the values `state_get` returns. Most are tens of bytes, and a heap buffer for each cost a malloc and a free
//! in the manuscript (about 30 per erc20 record, a fifth of its wasm time and more of its fuel); past
//! [`STACK_BYTES`] they move to the heap.
//!
//! Unsafe: the stack buffers are `MaybeUninit`, and host output is written through raw pointers.
#![allow(unsafe_code)]

use alloc::vec::Vec;
use core::mem::MaybeUninit;
use parity_scale_codec::{Decode, Encode, Error, Input, Output};

/// Bytes kept on the stack before spilling to the heap.
pub(crate) const STACK_BYTES: usize = 256;

/// Encodes `value` and passes the bytes to `f`, without a heap allocation when they fit in [`STACK_BYTES`].
pub(crate) fn with_encoded<T: Encode + ?Sized, R>(value: &T, f: impl FnOnce(&[u8]) -> R) -> R {
    let mut out = StackOutput::new();
    value.encode_to(&mut out);
    f(out.as_slice())
}

/// An [`Output`] that writes into a stack array and moves to a `Vec` when the array is full.
struct StackOutput {
    stack: [MaybeUninit<u8>; STACK_BYTES],
    /// Bytes written to `stack`, while `heap` is empty.
    len: usize,
    /// Every byte written, once they outgrew `stack`.
    heap: Vec<u8>,
}

impl StackOutput {
    fn new() -> Self {
        StackOutput {
            stack: [MaybeUninit::uninit(); STACK_BYTES],
            len: 0,
            heap: Vec::new(),
        }
    }

    fn as_slice(&self) -> &[u8] {
        if self.heap.is_empty() {
            // SAFETY: the first `len` bytes of `stack` were written by `write`.
            unsafe { core::slice::from_raw_parts(self.stack.as_ptr().cast::<u8>(), self.len) }
        } else {
            &self.heap
        }
    }
}

impl Output for StackOutput {
    // Inlined, a field's write has a constant length and becomes a few loads and stores; out of line it was a
    // call per field and a `memory.copy` of unknown length (the manuscript's hottest function, and its fuel
    // checks with it).
    #[inline(always)]
    fn write(&mut self, bytes: &[u8]) {
        if self.heap.is_empty() {
            let end = self.len + bytes.len();
            if end <= STACK_BYTES {
                // SAFETY: `len..end` lies inside `stack`, and `bytes` cannot overlap it (`self` is borrowed
                // mutably).
                unsafe {
                    core::ptr::copy_nonoverlapping(
                        bytes.as_ptr(),
                        self.stack.as_mut_ptr().add(self.len).cast::<u8>(),
                        bytes.len(),
                    )
                };
                self.len = end;
                return;
            }
            let written = self.as_slice().to_vec();
            self.heap = written;
            self.heap.reserve(bytes.len());
        }
        self.heap.extend_from_slice(bytes);
    }

    #[inline(always)]
    fn push_byte(&mut self, byte: u8) {
        self.write(&[byte]);
    }
}

/// Decodes a whole `T` from `bytes` (trailing bytes are an error), like the codec's `decode_all`, reading
/// through [`SliceInput`].
pub(crate) fn decode_all<T: Decode>(bytes: &[u8]) -> Result<T, Error> {
    let mut input = SliceInput(bytes);
    let value = T::decode(&mut input)?;
    if !input.0.is_empty() {
        return Err("Input buffer has still data left after decoding!".into());
    }
    Ok(value)
}

/// A byte slice as a codec [`Input`] whose reads inline into the decoder, for the reason given at
/// [`StackOutput`]'s `write` (the codec's own `&[u8]` input is the next hottest function otherwise).
struct SliceInput<'a>(&'a [u8]);

impl Input for SliceInput<'_> {
    fn remaining_len(&mut self) -> Result<Option<usize>, Error> {
        Ok(Some(self.0.len()))
    }

    #[inline(always)]
    fn read(&mut self, into: &mut [u8]) -> Result<(), Error> {
        let (head, rest) = self
            .0
            .split_at_checked(into.len())
            .ok_or("Not enough data to fill buffer")?;
        into.copy_from_slice(head);
        self.0 = rest;
        Ok(())
    }

    #[inline(always)]
    fn read_byte(&mut self) -> Result<u8, Error> {
        let (&byte, rest) = self
            .0
            .split_first()
            .ok_or("Not enough data to fill buffer")?;
        self.0 = rest;
        Ok(byte)
    }
}

/// Calls a host function of the "copy up to `cap` bytes to `out`, return the full length or -1" shape with a
/// stack buffer, passing the bytes to `f`; a longer answer is asked again with a heap buffer of its size.
pub(crate) fn with_host_bytes<R>(
    mut call: impl FnMut(*mut u8, usize) -> i32,
    f: impl FnOnce(&[u8]) -> R,
) -> Option<R> {
    let mut stack = [MaybeUninit::<u8>::uninit(); STACK_BYTES];
    let n = call(stack.as_mut_ptr().cast(), STACK_BYTES);
    if n < 0 {
        return None;
    }
    let n = n as u32 as usize;
    if n <= STACK_BYTES {
        // SAFETY: the host initialised the first `n` bytes (n <= capacity).
        return Some(f(unsafe {
            core::slice::from_raw_parts(stack.as_ptr().cast::<u8>(), n)
        }));
    }
    read_to_vec(n, call).map(|heap| f(&heap))
}

/// Calls a host function of the same shape with a heap buffer of `initial_cap` bytes, retrying with one of the
/// length the host reports while that is longer.
pub(crate) fn read_to_vec(
    initial_cap: usize,
    mut call: impl FnMut(*mut u8, usize) -> i32,
) -> Option<Vec<u8>> {
    let mut buf: Vec<u8> = Vec::with_capacity(initial_cap);
    loop {
        let n = call(buf.as_mut_ptr(), buf.capacity());
        if n < 0 {
            return None;
        }
        let n = n as u32 as usize;
        if n <= buf.capacity() {
            // SAFETY: the host initialised the first `n` bytes (n <= capacity).
            unsafe { buf.set_len(n) };
            return Some(buf);
        }
        buf = Vec::with_capacity(n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parity_scale_codec::DecodeAll;

    #[test]
    fn decode_all_agrees_with_the_codec() {
        type T = (u8, Vec<u8>, [u8; 20], u64);
        let value: T = (1, alloc::vec![2; 300], [3; 20], 4);
        let bytes = value.encode();
        assert_eq!(decode_all::<T>(&bytes).unwrap(), value);
        for cut in [0, 1, 5, bytes.len() - 1] {
            assert!(decode_all::<T>(&bytes[..cut]).is_err(), "cut at {cut}");
            assert!(T::decode_all(&mut &bytes[..cut]).is_err());
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode_all::<T>(&longer).is_err());
        assert!(T::decode_all(&mut &longer[..]).is_err());
    }

    #[test]
    fn small_and_large_encodings_come_out_whole() {
        for len in [
            0,
            1,
            200,
            STACK_BYTES - 1,
            STACK_BYTES,
            STACK_BYTES + 1,
            5000,
        ] {
            let value: Vec<u8> = (0..len).map(|i| i as u8).collect();
            // A tuple writes in several pieces, so the spill happens part way through an encoding.
            let tuple = (7u32, value.clone(), [9u8; 40]);
            assert_eq!(
                with_encoded(&tuple, |b| b.to_vec()),
                tuple.encode(),
                "len {len}"
            );
            assert_eq!(
                with_encoded(&value, |b| b.to_vec()),
                value.encode(),
                "len {len}"
            );
        }
    }

    #[test]
    fn host_bytes_of_any_length_are_passed_whole() {
        for len in [0, 10, STACK_BYTES, STACK_BYTES + 1, 4096] {
            let value: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            let mut calls = 0;
            let got = with_host_bytes(
                |out, cap| {
                    calls += 1;
                    let n = value.len().min(cap);
                    // SAFETY: `out` has `cap` writable bytes.
                    unsafe { core::ptr::copy_nonoverlapping(value.as_ptr(), out, n) };
                    value.len() as i32
                },
                |b| b.to_vec(),
            );
            assert_eq!(got.as_deref(), Some(&value[..]));
            assert_eq!(calls, if len <= STACK_BYTES { 1 } else { 2 });
        }
        assert_eq!(with_host_bytes(|_, _| -1, |b| b.len()), None);
    }
}
