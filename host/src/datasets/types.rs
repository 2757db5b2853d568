//! A manuscript's dataset types, read from its code's `cvm_types` section, and its records shown as JSON with
//! fields by name. The JSON is for people: verification only ever trusts the hex bytes beside it.
//!
//! Shapes: a struct is an object, a tuple (and a tuple struct) an array, a one-field tuple struct its field; a
//! byte array or byte vector is a `0x` hex string; `Option` is `null` or its value; an enum variant without
//! fields is its name, one with fields `{"Name": fields}`; integers up to 64 bits are JSON numbers, wider ones
//! and `U256` decimal strings; a bit sequence is a string of `0`/`1`.

use manuscript_sdk::manifest::{Manifest, SECTION_NAME as MANIFEST_SECTION};
use std::collections::BTreeMap;

use manuscript_sdk::U256;
use manuscript_sdk::scale_info::form::PortableForm;
use manuscript_sdk::scale_info::{
    Path, PortableRegistry, PortableType, Type, TypeDef, TypeDefArray, TypeDefPrimitive,
};
use manuscript_sdk::types::{DatasetTypes, SECTION_NAME as TYPES_SECTION};
use scale_value::{Composite, Primitive, Value, ValueDef};
use serde_json::{Map, Value as Json};
use wasmparser::{Parser, Payload};

use crate::hex_text::to_hex;

/// Most JSON values one record may turn into; beyond it the record shows as hex. A type registry can make a
/// few bytes stand for many fields; this bounds the answer whatever the registry.
pub const MAX_JSON_VALUES: usize = 100_000;

/// Why a manuscript's code does not give its dataset types.
#[derive(Debug, thiserror::Error)]
pub enum TypesError {
    /// The code is not a readable wasm module.
    #[error("the manuscript's code is not readable wasm: {0}")]
    Wasm(String),
    /// The code has no `cvm_manifest` section, or it does not decode.
    #[error("the manuscript's `cvm_manifest` section is missing or malformed: {0}")]
    Manifest(String),
    /// The `cvm_types` section breaks the rules deploy validation checks.
    #[error("{0}")]
    Types(#[from] manuscript_sdk::types::TypesError),
}

/// The dataset types of one manuscript, ready to show its records.
#[derive(Debug, Clone)]
pub struct ManuscriptTypes {
    types: DatasetTypes,
    decoding: Decoding,
}

/// `types.registry` as decoding uses it: scale-decode 0.16.2 reads a 256-bit integer only when it is the last 32
/// bytes of the input (`U256` inside a struct fails), so those types decode as `[u8; 32]` and `wide` says which
/// ids they were (`true`: signed).
#[derive(Debug, Clone)]
struct Decoding {
    registry: PortableRegistry,
    wide: BTreeMap<u32, bool>,
}

impl Decoding {
    fn new(registry: &PortableRegistry) -> Decoding {
        let mut registry = registry.clone();
        let byte = u32::try_from(registry.types.len()).unwrap_or(u32::MAX);
        let mut wide = BTreeMap::new();
        for t in &mut registry.types {
            let signed = match t.ty.type_def {
                TypeDef::Primitive(TypeDefPrimitive::U256) => false,
                TypeDef::Primitive(TypeDefPrimitive::I256) => true,
                _ => continue,
            };
            wide.insert(t.id, signed);
            t.ty.type_def = TypeDef::Array(TypeDefArray {
                len: 32,
                type_param: byte.into(),
            });
        }
        if !wide.is_empty() {
            registry.types.push(PortableType {
                id: byte,
                ty: Type::<PortableForm> {
                    path: Path { segments: vec![] },
                    type_params: vec![],
                    type_def: TypeDef::Primitive(TypeDefPrimitive::U8),
                    docs: vec![],
                },
            });
        }
        Decoding { registry, wide }
    }
}

impl ManuscriptTypes {
    /// The types in `code`'s `cvm_types` section; `Ok(None)` when it has none (its records show as hex).
    pub fn load(code: &[u8]) -> Result<Option<ManuscriptTypes>, TypesError> {
        let mut manifest = None;
        let mut types = None;
        for payload in Parser::new(0).parse_all(code) {
            if let Payload::CustomSection(section) =
                payload.map_err(|e| TypesError::Wasm(e.to_string()))?
            {
                if section.name() == MANIFEST_SECTION {
                    manifest = Some(section.data());
                } else if section.name() == TYPES_SECTION {
                    types = Some(section.data());
                }
            }
        }
        let Some(types) = types else {
            return Ok(None);
        };
        let manifest = manifest.ok_or_else(|| TypesError::Manifest("missing".into()))?;
        let manifest =
            Manifest::decode_section(manifest).map_err(|e| TypesError::Manifest(e.to_string()))?;
        Ok(Some(ManuscriptTypes::new(DatasetTypes::decode_section(
            types, &manifest,
        )?)))
    }

    /// Ready to show records of `types` (already checked, as [`load`](Self::load) checks a section).
    pub fn new(types: DatasetTypes) -> ManuscriptTypes {
        let decoding = Decoding::new(&types.registry);
        ManuscriptTypes { types, decoding }
    }

    /// The declared types, as decoded.
    pub fn dataset_types(&self) -> &DatasetTypes {
        &self.types
    }

    /// `key` of `dataset` as JSON: its declared type's shape, or a hex string when the dataset is untyped or
    /// the bytes are not a value of that type.
    pub fn key_json(&self, dataset: &str, key: &[u8]) -> Json {
        self.json(dataset, key, |d| d.key)
    }

    /// `value` of `dataset` as JSON, as [`key_json`](Self::key_json).
    pub fn value_json(&self, dataset: &str, value: &[u8]) -> Json {
        self.json(dataset, value, |d| d.value)
    }

    /// `key` of `dataset` as JSON by its declared type; `None` when the dataset is untyped or the bytes are not a
    /// value of that type (where [`key_json`](Self::key_json) shows hex).
    pub fn decode_key(&self, dataset: &str, key: &[u8]) -> Option<Json> {
        self.decode(dataset, key, |d| d.key)
    }

    /// As [`decode_key`](Self::decode_key), for a value.
    pub fn decode_value(&self, dataset: &str, value: &[u8]) -> Option<Json> {
        self.decode(dataset, value, |d| d.value)
    }

    fn decode(
        &self,
        dataset: &str,
        bytes: &[u8],
        pick: fn(&manuscript_sdk::types::DatasetType) -> u32,
    ) -> Option<Json> {
        self.types
            .dataset(dataset)
            .and_then(|d| decode_json(&self.decoding, pick(d), bytes))
    }

    fn json(
        &self,
        dataset: &str,
        bytes: &[u8],
        pick: fn(&manuscript_sdk::types::DatasetType) -> u32,
    ) -> Json {
        self.decode(dataset, bytes, pick)
            .unwrap_or_else(|| hex_json(bytes))
    }
}

/// `bytes` as JSON for `types` (or hex without them): the one place answers turn a record into JSON.
pub fn key_json(types: Option<&ManuscriptTypes>, dataset: &str, key: &[u8]) -> Json {
    types.map_or_else(|| hex_json(key), |t| t.key_json(dataset, key))
}

/// As [`key_json`], for a value.
pub fn value_json(types: Option<&ManuscriptTypes>, dataset: &str, value: &[u8]) -> Json {
    types.map_or_else(|| hex_json(value), |t| t.value_json(dataset, value))
}

fn hex_json(bytes: &[u8]) -> Json {
    Json::String(to_hex(bytes))
}

/// The whole of `bytes` as a value of type `id`, or `None` if they are not one (or turn into too much JSON).
fn decode_json(decoding: &Decoding, id: u32, bytes: &[u8]) -> Option<Json> {
    let mut input = bytes;
    let value = scale_value::scale::decode_as_type(&mut input, id, &decoding.registry).ok()?;
    if !input.is_empty() {
        return None;
    }
    let mut budget = MAX_JSON_VALUES;
    to_json(decoding, value, &mut budget)
}

/// Element type of a sequence or array type, if it is one.
fn element_of(registry: &PortableRegistry, id: u32) -> Option<u32> {
    match &registry.resolve(id)?.type_def {
        TypeDef::Sequence(s) => Some(s.type_param.id),
        TypeDef::Array(a) => Some(a.type_param.id),
        _ => None,
    }
}

fn is_u8(registry: &PortableRegistry, id: u32) -> bool {
    matches!(
        registry.resolve(id).map(|t| &t.type_def),
        Some(TypeDef::Primitive(TypeDefPrimitive::U8))
    )
}

fn path_is(registry: &PortableRegistry, id: u32, name: &str) -> bool {
    registry
        .resolve(id)
        .is_some_and(|t| t.path.segments.last().is_some_and(|s| s == name))
}

fn to_json(decoding: &Decoding, value: Value<u32>, budget: &mut usize) -> Option<Json> {
    *budget = budget.checked_sub(1)?;
    let registry = &decoding.registry;
    let id = value.context;
    match value.value {
        ValueDef::Composite(composite) => {
            if let Some(&signed) = decoding.wide.get(&id) {
                let bytes: [u8; 32] = byte_values(composite)?.try_into().ok()?;
                return Some(primitive_json(if signed {
                    Primitive::I256(bytes)
                } else {
                    Primitive::U256(bytes)
                }));
            }
            if element_of(registry, id).is_some_and(|e| is_u8(registry, e)) {
                return Some(hex_json(&byte_values(composite)?));
            }
            if path_is(registry, id, "U256")
                && let Some(n) = u256_limbs(&composite)
            {
                return Some(Json::String(n.to_string()));
            }
            composite_json(decoding, composite, budget)
        }
        ValueDef::Variant(variant) => {
            if path_is(registry, id, "Option") {
                return match variant.values.into_values().next() {
                    None => Some(Json::Null),
                    Some(inner) => to_json(decoding, inner, budget),
                };
            }
            if variant.values.is_empty() {
                return Some(Json::String(variant.name));
            }
            let mut map = Map::new();
            map.insert(
                variant.name,
                composite_json(decoding, variant.values, budget)?,
            );
            Some(Json::Object(map))
        }
        ValueDef::BitSequence(bits) => Some(Json::String(
            bits.iter().map(|b| if b { '1' } else { '0' }).collect(),
        )),
        ValueDef::Primitive(p) => Some(primitive_json(p)),
    }
}

fn composite_json(
    decoding: &Decoding,
    composite: Composite<u32>,
    budget: &mut usize,
) -> Option<Json> {
    match composite {
        Composite::Named(fields) => {
            let mut map = Map::new();
            for (name, value) in fields {
                map.insert(name, to_json(decoding, value, budget)?);
            }
            Some(Json::Object(map))
        }
        Composite::Unnamed(mut values) if values.len() == 1 => {
            to_json(decoding, values.pop()?, budget)
        }
        Composite::Unnamed(values) => values
            .into_iter()
            .map(|v| to_json(decoding, v, budget))
            .collect::<Option<Vec<_>>>()
            .map(Json::Array),
    }
}

fn byte_values(composite: Composite<u32>) -> Option<Vec<u8>> {
    composite
        .into_values()
        .map(|v| match v.value {
            ValueDef::Primitive(Primitive::U128(b)) => u8::try_from(b).ok(),
            _ => None,
        })
        .collect()
}

/// `primitive_types::U256`: one field of four little-endian `u64` limbs.
fn u256_limbs(composite: &Composite<u32>) -> Option<U256> {
    let mut fields = composite.values();
    let (Some(limbs), None) = (fields.next(), fields.next()) else {
        return None;
    };
    let ValueDef::Composite(limbs) = &limbs.value else {
        return None;
    };
    if limbs.len() != 4 {
        return None;
    }
    let mut words = [0u64; 4];
    for (slot, limb) in words.iter_mut().zip(limbs.values()) {
        let ValueDef::Primitive(Primitive::U128(n)) = &limb.value else {
            return None;
        };
        *slot = u64::try_from(*n).ok()?;
    }
    Some(U256(words))
}

fn primitive_json(p: Primitive) -> Json {
    match p {
        Primitive::Bool(b) => Json::Bool(b),
        Primitive::Char(c) => Json::String(c.to_string()),
        Primitive::String(s) => Json::String(s),
        Primitive::U128(n) => u64::try_from(n)
            .map(Json::from)
            .unwrap_or_else(|_| Json::String(n.to_string())),
        Primitive::I128(n) => i64::try_from(n)
            .map(Json::from)
            .unwrap_or_else(|_| Json::String(n.to_string())),
        Primitive::U256(bytes) => Json::String(U256::from_little_endian(&bytes).to_string()),
        Primitive::I256(bytes) => Json::String(i256_decimal(bytes)),
    }
}

/// Two's complement little-endian 256-bit integer in decimal.
fn i256_decimal(bytes: [u8; 32]) -> String {
    let n = U256::from_little_endian(&bytes);
    if bytes[31] & 0x80 == 0 {
        n.to_string()
    } else {
        format!("-{}", (!n).overflowing_add(U256::one()).0)
    }
}

/// The types of the code with `code_hash`, reading the code with `code` only on the first request for it. The
/// types are a function of the code alone, so one process-wide cache serves every node; it holds the last 256
/// codes asked for.
pub fn cached(
    code_hash: [u8; 32],
    code: impl FnOnce() -> Option<Vec<u8>>,
) -> Option<std::sync::Arc<ManuscriptTypes>> {
    static CACHE: std::sync::OnceLock<
        quick_cache::sync::Cache<[u8; 32], Option<std::sync::Arc<ManuscriptTypes>>>,
    > = std::sync::OnceLock::new();
    let cache = CACHE.get_or_init(|| quick_cache::sync::Cache::new(256));
    if let Some(hit) = cache.get(&code_hash) {
        return hit;
    }
    let loaded = match ManuscriptTypes::load(&code()?) {
        Ok(types) => types.map(std::sync::Arc::new),
        Err(e) => {
            // Deploy validation accepts only well-formed sections, so this is code deployed before it did.
            tracing::warn!(code_hash = %to_hex(code_hash), "dataset types unreadable, records shown as hex: {e}");
            None
        }
    };
    cache.insert(code_hash, loaded.clone());
    loaded
}

#[cfg(test)]
mod tests {
    use super::*;
    use parity_scale_codec::Encode;
    use serde_json::json;

    // The erc20-transfers records, encoded field by field as the manuscript's structs encode (SCALE encodes a
    // struct as the tuple of its fields); the types come from the fixture wasm's own `cvm_types` section.
    type Address = [u8; 20];
    /// `Transfer { token, from, to, value, transaction_hash }`
    type Transfer = (Address, Address, Address, U256, [u8; 32]);
    /// `BalanceRecord { net_flow: SignedAmount { negative, magnitude }, transfers, since }`
    type BalanceRecord = ((bool, U256), u64, u64);

    fn erc20() -> ManuscriptTypes {
        ManuscriptTypes::load(manuscript_fixtures::ERC20_TRANSFERS)
            .expect("the fixture's types are valid")
            .expect("erc20-transfers declares its types")
    }

    #[test]
    fn erc20_records_show_fields_by_name() {
        let types = erc20();
        let transfer: Transfer = (
            [0x11; 20],
            [0; 20],
            [0x22; 20],
            U256::from(10u64).pow(U256::from(24u64)),
            [0xab; 32],
        );
        assert_eq!(
            types.value_json("transfers", &transfer.encode()),
            json!({
                "token": format!("0x{}", "11".repeat(20)),
                "from": format!("0x{}", "00".repeat(20)),
                "to": format!("0x{}", "22".repeat(20)),
                "value": "1000000000000000000000000",
                "transaction_hash": format!("0x{}", "ab".repeat(32)),
            })
        );
        assert_eq!(
            types.key_json("transfers", &[0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 3]),
            json!("0x000000000000000700000003")
        );
        let balance: BalanceRecord = ((true, U256::from(5u64)), 2, 1);
        assert_eq!(
            types.value_json("balances", &balance.encode()),
            json!({"net_flow": {"negative": true, "magnitude": "5"}, "transfers": 2, "since": 1})
        );
        assert_eq!(
            types.key_json("balances", &([1u8; 20], [2u8; 20]).encode()),
            json!([
                format!("0x{}", "01".repeat(20)),
                format!("0x{}", "02".repeat(20))
            ])
        );
    }

    #[test]
    fn bytes_that_do_not_decode_show_as_hex() {
        let types = erc20();
        // Too short, and one byte too long.
        assert_eq!(types.value_json("transfers", &[1, 2, 3]), json!("0x010203"));
        let mut long = BalanceRecord::default().encode();
        assert_ne!(
            types.value_json("balances", &long),
            Json::String(to_hex(&long))
        );
        long.push(9);
        assert_eq!(
            types.value_json("balances", &long),
            Json::String(to_hex(&long))
        );
        // A dataset without declared types.
        assert_eq!(types.value_json("nope", &[0xff]), json!("0xff"));
    }

    #[test]
    fn code_without_types_shows_hex() {
        let loaded = ManuscriptTypes::load(manuscript_fixtures::HOSTILE).expect("valid code");
        assert!(loaded.is_none());
        assert_eq!(value_json(loaded.as_ref(), "out", &[1, 2]), json!("0x0102"));
        assert_eq!(key_json(None, "out", b"ok"), json!("0x6f6b"));
    }

    #[test]
    fn malformed_sections_are_errors() {
        let bad = manuscript_sdk::types::DatasetTypes::builder()
            .dataset::<u8, u8>("undeclared")
            .build();
        let wasm = manuscript_sdk::types::embed(manuscript_fixtures::HOSTILE, &bad);
        let error = ManuscriptTypes::load(&wasm).unwrap_err().to_string();
        assert!(
            error.contains("cvm_types") && error.contains("undeclared"),
            "{error}"
        );
        assert!(ManuscriptTypes::load(b"not wasm").is_err());
    }
}
