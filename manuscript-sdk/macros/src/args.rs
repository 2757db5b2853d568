//! Parsing and compile-time validation of `#[manuscript(...)]` arguments. The rules are those of
//! `manuscript_sdk::manifest::Manifest::validate` (ABI.md).

use syn::meta::ParseNestedMeta;
use syn::parse::ParseStream;
use syn::{LitStr, Token, Type};

const MAX_NAME_LEN: usize = 64;

/// The arguments as written, with spans for error messages.
#[derive(Default)]
pub struct ManuscriptArgs {
    name: Option<LitStr>,
    sources: Option<Vec<LitStr>>,
    datasets: Option<Vec<DatasetArg>>,
    append_only: Option<Vec<LitStr>>,
}

/// One `"name"` or `"name": KeyType => ValueType` of `datasets(...)`.
struct DatasetArg {
    name: LitStr,
    types: Option<(Type, Type)>,
}

/// A dataset's declared key and value types.
pub struct TypedDataset {
    pub name: String,
    pub key: Type,
    pub value: Type,
}

/// The validated manifest content.
pub struct Validated {
    pub name: String,
    pub sources: Vec<String>,
    pub datasets: Vec<String>,
    pub append_only: Vec<String>,
    pub typed: Vec<TypedDataset>,
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

fn dataset_list(meta: &ParseNestedMeta) -> syn::Result<Vec<DatasetArg>> {
    let content;
    syn::parenthesized!(content in meta.input);
    let list = content.parse_terminated(
        |input: ParseStream| {
            let name: LitStr = input.parse()?;
            let types = if input.peek(Token![:]) {
                input.parse::<Token![:]>()?;
                let key: Type = input.parse()?;
                input.parse::<Token![=>]>()?;
                let value: Type = input.parse()?;
                Some((key, value))
            } else {
                None
            };
            Ok(DatasetArg { name, types })
        },
        Token![,],
    )?;
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
            self.datasets = Some(dataset_list(&meta)?);
        } else if meta.path.is_ident("append_only") {
            if self.append_only.is_some() {
                return Err(repeated());
            }
            self.append_only = Some(string_list(&meta)?);
        } else {
            return Err(meta.error(
                "unknown argument; expected `name = \"...\"`, `sources(\"...\", ...)`, `datasets(\"...\", \"...\": KeyType => ValueType, ...)` or `append_only(\"...\", ...)`",
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
        let args = self.datasets.unwrap_or_default();
        let datasets: Vec<LitStr> = args.iter().map(|d| d.name.clone()).collect();
        for dataset in &datasets {
            if !is_valid_name(&dataset.value()) {
                return Err(syn::Error::new(
                    dataset.span(),
                    "invalid dataset name: use 1..=64 bytes of lowercase letters, digits, '-', '_' or '.'",
                ));
            }
        }
        check_duplicates(&datasets, "dataset")?;
        let append_only = self.append_only.unwrap_or_default();
        for name in &append_only {
            if !datasets.iter().any(|d| d.value() == name.value()) {
                return Err(syn::Error::new(
                    name.span(),
                    "an append-only dataset must also be declared in `datasets(...)`",
                ));
            }
        }
        check_duplicates(&append_only, "append-only dataset")?;
        Ok(Validated {
            name: name.value(),
            sources: sources.iter().map(LitStr::value).collect(),
            datasets: datasets.iter().map(LitStr::value).collect(),
            append_only: append_only.iter().map(LitStr::value).collect(),
            typed: args
                .into_iter()
                .filter_map(|d| {
                    let (key, value) = d.types?;
                    Some(TypedDataset {
                        name: d.name.value(),
                        key,
                        value,
                    })
                })
                .collect(),
        })
    }
}
