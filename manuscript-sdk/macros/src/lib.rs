//! Proc-macros of `manuscript-sdk`. Use them through `manuscript_sdk::manuscript`.
//!
//! `#[manuscript(name = "...", sources("..."), datasets("..."))]` on
//! `fn NAME(ctx: &mut Context, record: Record) -> Result<(), E>` (with `E: Into<manuscript_sdk::Error>`)
//! keeps the function and generates:
//! - `pub const MANUSCRIPT: manuscript_sdk::Manuscript<Record>`: manifest + entry, for native tests
//!   (`manuscript_sdk::testing::MockHost`) and tools;
//! - on wasm32, the `cvm_process` export and the `cvm_manifest` custom section, whose content is the
//!   SCALE-encoded manifest computed here at expansion time;
//! - on other targets, `pub fn dataset_types() -> manuscript_sdk::types::DatasetTypes`: the types declared as
//!   `datasets("name": KeyType => ValueType)`, which build tools embed as the `cvm_types` section (a type
//!   registry is computed by running code, so it cannot be a `link_section` static).
//!
//! `append_only("name", ...)` marks declared datasets append-only (ABI.md, "Append-only datasets").
//!
//! The wasm32 items carry `#[allow(unsafe_code)]`, so that a manuscript crate may deny unsafe code and still use
//! the macro.
#![warn(missing_docs)]
#![deny(clippy::unwrap_used)]
#![forbid(unsafe_code)]

mod args;

use parity_scale_codec::Encode;
use proc_macro::TokenStream;
use quote::{format_ident, quote};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, parse_macro_input};

/// The ABI version the generated manifest declares (`manuscript_sdk::manifest::ABI_VERSION`).
const ABI_VERSION: u32 = 1;

/// Declares the manuscript entry function. See the crate docs of `manuscript-sdk`.
#[proc_macro_attribute]
pub fn manuscript(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut args = args::ManuscriptArgs::default();
    let parser = syn::meta::parser(|meta| args.parse(meta));
    parse_macro_input!(attr with parser);
    let function = parse_macro_input!(item as ItemFn);
    match expand(args, function) {
        Ok(tokens) => tokens.into(),
        Err(e) => e.to_compile_error().into(),
    }
}

fn expand(args: args::ManuscriptArgs, function: ItemFn) -> syn::Result<proc_macro2::TokenStream> {
    let manifest = args.finish()?;
    let sig = &function.sig;
    if let Some(asyncness) = &sig.asyncness {
        return Err(syn::Error::new(
            asyncness.span(),
            "a manuscript function cannot be async",
        ));
    }
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new(
            sig.generics.span(),
            "a manuscript function cannot be generic",
        ));
    }
    if sig.inputs.len() != 2 {
        return Err(syn::Error::new(
            sig.inputs.span(),
            "a manuscript function takes two arguments: `(ctx: &mut Context, record: RecordType)`",
        ));
    }
    let record_ty = match &sig.inputs[1] {
        FnArg::Typed(pat) => pat.ty.clone(),
        FnArg::Receiver(r) => {
            return Err(syn::Error::new(
                r.span(),
                "a manuscript function cannot take self",
            ));
        }
    };
    if let FnArg::Receiver(r) = &sig.inputs[0] {
        return Err(syn::Error::new(
            r.span(),
            "a manuscript function cannot take self",
        ));
    }

    let name = &sig.ident;
    let entry = format_ident!("__cvm_entry_{}", name);
    let mut bytes = (
        ABI_VERSION,
        &manifest.name,
        &manifest.sources,
        &manifest.datasets,
    )
        .encode();
    // `manuscript_sdk::manifest::Manifest`'s encoding: the append-only list only when it is not empty.
    if !manifest.append_only.is_empty() {
        manifest.append_only.encode_to(&mut bytes);
    }
    let len = bytes.len();
    let doc = format!(
        "The `{}` manuscript (sources {:?}, datasets {:?}): manifest and entry point of [`{}`].",
        manifest.name, manifest.sources, manifest.datasets, name
    );

    let typed = manifest.typed.iter().map(|d| {
        let (name, key, value) = (&d.name, &d.key, &d.value);
        quote! { .dataset::<#key, #value>(#name) }
    });

    Ok(quote! {
        #function

        /// The key and value types of this manuscript's typed datasets (the `cvm_types` section's content).
        #[cfg(not(target_arch = "wasm32"))]
        pub fn dataset_types() -> ::manuscript_sdk::types::DatasetTypes {
            ::manuscript_sdk::types::DatasetTypes::builder()
                #(#typed)*
                .build()
        }

        #[doc(hidden)]
        fn #entry(
            ctx: &mut ::manuscript_sdk::Context,
            record: #record_ty,
        ) -> ::core::result::Result<(), ::manuscript_sdk::Error> {
            ::core::result::Result::map_err(#name(ctx, record), ::core::convert::Into::into)
        }

        #[doc(hidden)]
        const __CVM_MANIFEST_BYTES: [u8; #len] = [#(#bytes),*];

        #[doc = #doc]
        pub const MANUSCRIPT: ::manuscript_sdk::Manuscript<#record_ty> =
            ::manuscript_sdk::Manuscript::new(&__CVM_MANIFEST_BYTES, #entry);

        #[cfg(target_arch = "wasm32")]
        #[allow(unsafe_code)]
        #[used]
        #[unsafe(link_section = "cvm_manifest")]
        static __CVM_MANIFEST_SECTION: [u8; #len] = __CVM_MANIFEST_BYTES;

        /// The `cvm_process` export (ABI.md).
        #[cfg(target_arch = "wasm32")]
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn cvm_process(source_ptr: i32, source_len: i32, record_ptr: i32, record_len: i32) -> i32 {
            // SAFETY: the CVM passes buffers it placed in this module's memory.
            unsafe {
                ::manuscript_sdk::__private::process_ptrs(&MANUSCRIPT, source_ptr, source_len, record_ptr, record_len)
            }
        }
    })
}
