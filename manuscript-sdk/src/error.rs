//! The error a manuscript returns to fail an invocation (status 2, a failure receipt).

use alloc::string::{String, ToString};
use core::fmt;

/// Why a manuscript invocation failed. Returning it discards the invocation's writes; its message
/// is logged at level `error` and becomes the failure receipt's reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// A state value (or key) could not be SCALE-decoded into the requested type.
    Decode(String),
    /// A manuscript-defined failure.
    Msg(String),
}

impl Error {
    /// A manuscript-defined failure with the given message.
    pub fn msg(message: impl fmt::Display) -> Self {
        Error::Msg(message.to_string())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Decode(what) => write!(f, "decode failed: {what}"),
            Error::Msg(message) => f.write_str(message),
        }
    }
}

impl core::error::Error for Error {}

impl From<parity_scale_codec::Error> for Error {
    fn from(e: parity_scale_codec::Error) -> Self {
        Error::Decode(e.to_string())
    }
}

/// Returns early with [`Error::Msg`] built from a format string: `bail!("balance {} too low", b)`.
#[macro_export]
macro_rules! bail {
    ($($arg:tt)+) => {
        return ::core::result::Result::Err($crate::Error::Msg($crate::__private::format!($($arg)+)))
    };
}

/// Returns early with [`Error::Msg`] unless the condition holds: `ensure!(x > 0, "x is {}", x)`.
#[macro_export]
macro_rules! ensure {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            $crate::bail!($($arg)+);
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    fn checked(x: u32) -> Result<u32, Error> {
        ensure!(x < 10, "x is {x}, want < 10");
        if x == 7 {
            bail!("seven is {}", "unlucky");
        }
        Ok(x)
    }

    #[test]
    fn bail_and_ensure_build_messages() {
        assert_eq!(checked(3), Ok(3));
        assert_eq!(checked(12), Err(Error::Msg("x is 12, want < 10".into())));
        assert_eq!(format!("{}", checked(7).unwrap_err()), "seven is unlucky");
    }

    #[test]
    fn codec_errors_become_decode_errors() {
        use parity_scale_codec::Decode;
        let e: Error = u64::decode(&mut &[1u8, 2][..]).unwrap_err().into();
        assert!(matches!(e, Error::Decode(_)));
        assert!(format!("{e}").starts_with("decode failed"));
    }
}
