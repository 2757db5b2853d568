//! Datasets for the people who read them: records shown as JSON by their declared types ([`types`]), and as
//! table rows with a column per field ([`columns`]).

pub mod columns;
pub mod types;

pub use types::{ManuscriptTypes, TypesError};
