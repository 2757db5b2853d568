//! Parsing and compile-time validation of `#[manuscript(...)]` arguments. The rules are those of
//! `manuscript_sdk::manifest::Manifest::validate` (ABI.md).

use syn::meta::ParseNestedMeta;
use syn::{LitStr, Token};

const MAX_NAME_LEN: usize = 64;

/// The arguments as written, with spans for error messages.
#[derive(Default)]
pub struct ManuscriptArgs {
    name: Option<LitStr>,
    sources: Option<Vec<LitStr>>,
    datasets: Option<Vec<LitStr>>,
}

/// The validated manifest content.
pub struct Validated {
    pub name: String,
    pub sources: Vec<String>,
    pub datasets: Vec<String>,
}

fn is_valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_NAME_LEN
        && s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.')
        })
}

fn string_list(meta: &ParseNestedMeta) -> syn::Result<Vec<LitStr>> {
    let content;
    syn::parenthesized!(content in meta.input);
    let list = content.parse_terminated(|input| input.parse::<LitStr>(), Token![,])?;
    Ok(list.into_iter().collect())
}

fn check_duplicates(list: &[LitStr], what: &str) -> syn::Result<()> {
    for (i, lit) in list.iter().enumerate() {
        if list[..i].iter().any(|l| l.value() == lit.value()) {
            return Err(syn::Error::new(
                lit.span(),
                format!("{what} {:?} is listed twice", lit.value()),
            ));
        }
    }
    Ok(())
}

impl ManuscriptArgs {
    /// Parses one `key = "..."` or `key("...", ...)` item.
    pub fn parse(&mut self, meta: ParseNestedMeta) -> syn::Result<()> {
        let repeated = || meta.error("this argument is given twice");
        if meta.path.is_ident("name") {
            if self.name.is_some() {
                return Err(repeated());
            }
            self.name = Some(meta.value()?.parse()?);
        } else if meta.path.is_ident("sources") {
            if self.sources.is_some() {
                return Err(repeated());
            }
            self.sources = Some(string_list(&meta)?);
        } else if meta.path.is_ident("datasets") {
            if self.datasets.is_some() {
                return Err(repeated());
            }
            self.datasets = Some(string_list(&meta)?);
        } else {
            return Err(meta.error(
                "unknown argument; expected `name = \"...\"`, `sources(\"...\", ...)` or `datasets(\"...\", ...)`",
            ));
        }
        Ok(())
    }

    /// Checks the manifest rules, pointing errors at the offending literal.
    pub fn finish(self) -> syn::Result<Validated> {
        let call_site = proc_macro2::Span::call_site();
        let name = self.name.ok_or_else(|| {
            syn::Error::new(
                call_site,
                "missing `name = \"...\"` (1..=64 bytes of [a-z0-9-_.])",
            )
        })?;
        if !is_valid_name(&name.value()) {
            return Err(syn::Error::new(
                name.span(),
                "invalid manuscript name: use 1..=64 bytes of lowercase letters, digits, '-', '_' or '.'",
            ));
        }
        let sources = self.sources.ok_or_else(|| {
            syn::Error::new(
                call_site,
                "missing `sources(\"...\")`: a manuscript subscribes to at least one source",
            )
        })?;
        if sources.is_empty() {
            return Err(syn::Error::new(
                call_site,
                "`sources(...)` is empty: subscribe to at least one source",
            ));
        }
        for source in &sources {
            let len = source.value().len();
            if len == 0 || len > MAX_NAME_LEN {
                return Err(syn::Error::new(
                    source.span(),
                    "a source id is 1..=64 bytes",
                ));
            }
        }
        check_duplicates(&sources, "source")?;
        let datasets = self.datasets.unwrap_or_default();
        for dataset in &datasets {
            if !is_valid_name(&dataset.value()) {
                return Err(syn::Error::new(
                    dataset.span(),
                    "invalid dataset name: use 1..=64 bytes of lowercase letters, digits, '-', '_' or '.'",
                ));
            }
        }
        check_duplicates(&datasets, "dataset")?;
        Ok(Validated {
            name: name.value(),
            sources: sources.iter().map(LitStr::value).collect(),
            datasets: datasets.iter().map(LitStr::value).collect(),
        })
    }
}
