//! Dataset types: what the keys and values of each dataset are, as a `scale-info` type registry stored in the
//! wasm custom section [`SECTION_NAME`], so a manuscript describes its own outputs and a node can show records
//! with their fields by name. The section is optional (records then show as hex) and never executed.
//!
//! Authors declare the types in `#[manuscript]`: `datasets("transfers": TransferKey => Transfer)`; the macro
//! generates `dataset_types()` (native targets), and the build adds the section to the wasm with
//! [`embed`] (behind the `build` feature) because a type registry is computed by running code, which a
//! compile-time `#[link_section]` cannot do.

use alloc::collections::BTreeMap;
use alloc::collections::BTreeSet;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use parity_scale_codec::{Decode, DecodeAll, Encode};
use scale_info::form::PortableForm;
use scale_info::{MetaType, PortableRegistry, Registry, Type, TypeDef, TypeInfo};

use crate::manifest::Manifest;

/// Name of the wasm custom section holding the SCALE-encoded [`DatasetTypes`].
pub const SECTION_NAME: &str = "cvm_types";
/// Largest accepted section, in bytes. The example manuscripts need 149 (token-volume) and 543 (erc20-transfers).
pub const MAX_SECTION_LEN: usize = 16 * 1024;
/// Deepest accepted nesting of a dataset's key or value type (a `u8` is depth 1, a struct of `u8`s depth 2).
/// Recursive types have no bound and are rejected.
pub const MAX_TYPE_DEPTH: u32 = 32;

/// The section's content: a type registry and, per typed dataset, the ids of its key and value types in it.
#[derive(Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub struct DatasetTypes {
    /// Every type the datasets use.
    pub registry: PortableRegistry,
    /// One entry per typed dataset (a manifest dataset may be left untyped).
    pub datasets: Vec<DatasetType>,
}

/// The key and value types of one dataset.
#[derive(Encode, Decode, Clone, Debug, PartialEq, Eq)]
pub struct DatasetType {
    /// The dataset's name, as in the manifest.
    pub name: String,
    /// Type id of its keys in [`DatasetTypes::registry`].
    pub key: u32,
    /// Type id of its values in [`DatasetTypes::registry`].
    pub value: u32,
}

/// Why a `cvm_types` section is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypesError {
    /// Larger than [`MAX_SECTION_LEN`].
    TooLarge {
        /// The section's length.
        len: usize,
    },
    /// Not a SCALE-encoded [`DatasetTypes`] (or trailing bytes).
    Decode(String),
    /// Names a dataset the manifest does not declare.
    UnknownDataset(String),
    /// Types the same dataset twice.
    Duplicate(String),
    /// A type id that is not in the registry.
    UnknownType {
        /// The dataset whose key or value refers to it.
        dataset: String,
        /// The missing id.
        id: u32,
    },
    /// A type nested deeper than [`MAX_TYPE_DEPTH`], or recursive.
    TooDeep {
        /// The dataset whose key or value has it.
        dataset: String,
    },
    /// A sequence or array of elements that can encode to no bytes: its length alone would decide the work of
    /// decoding it.
    EmptyElement {
        /// The dataset whose key or value has it.
        dataset: String,
        /// The sequence or array type's id.
        id: u32,
    },
}

impl fmt::Display for TypesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypesError::TooLarge { len } => write!(
                f,
                "section `{SECTION_NAME}` is {len} bytes; the limit is {MAX_SECTION_LEN}"
            ),
            TypesError::Decode(e) => write!(
                f,
                "section `{SECTION_NAME}` does not decode as DatasetTypes: {e}"
            ),
            TypesError::UnknownDataset(d) => write!(
                f,
                "section `{SECTION_NAME}` types dataset {d:?}, which the manifest does not declare"
            ),
            TypesError::Duplicate(d) => {
                write!(f, "section `{SECTION_NAME}` types dataset {d:?} twice")
            }
            TypesError::UnknownType { dataset, id } => write!(
                f,
                "section `{SECTION_NAME}`: dataset {dataset:?} refers to type {id}, which is not in the registry"
            ),
            TypesError::TooDeep { dataset } => write!(
                f,
                "section `{SECTION_NAME}`: a type of dataset {dataset:?} is recursive or nested deeper than {MAX_TYPE_DEPTH}"
            ),
            TypesError::EmptyElement { dataset, id } => write!(
                f,
                "section `{SECTION_NAME}`: dataset {dataset:?} has a sequence or array (type {id}) of elements that encode to no bytes"
            ),
        }
    }
}

impl core::error::Error for TypesError {}

impl DatasetTypes {
    /// A builder registering each dataset's Rust types.
    pub fn builder() -> DatasetTypesBuilder {
        DatasetTypesBuilder {
            registry: Registry::new(),
            datasets: Vec::new(),
        }
    }

    /// The section content: the SCALE encoding.
    pub fn to_section(&self) -> Vec<u8> {
        self.encode()
    }

    /// Decodes a `cvm_types` section (bounded by [`MAX_SECTION_LEN`], all of it: trailing bytes are an error)
    /// and checks it against `manifest`: every typed dataset is declared there, once, and its types are in the
    /// registry, not recursive, at most [`MAX_TYPE_DEPTH`] deep and without sequences of empty elements. The
    /// work is linear in the section's length.
    pub fn decode_section(bytes: &[u8], manifest: &Manifest) -> Result<Self, TypesError> {
        if bytes.len() > MAX_SECTION_LEN {
            return Err(TypesError::TooLarge { len: bytes.len() });
        }
        let types = DatasetTypes::decode_all(&mut &bytes[..])
            .map_err(|e| TypesError::Decode(e.to_string()))?;
        types.check(manifest)?;
        Ok(types)
    }

    fn check(&self, manifest: &Manifest) -> Result<(), TypesError> {
        let mut seen = BTreeSet::new();
        let mut shapes = Shapes {
            registry: &self.registry,
            known: BTreeMap::new(),
        };
        for dataset in &self.datasets {
            if !manifest.declares_dataset(&dataset.name) {
                return Err(TypesError::UnknownDataset(dataset.name.clone()));
            }
            if !seen.insert(dataset.name.as_str()) {
                return Err(TypesError::Duplicate(dataset.name.clone()));
            }
            for id in [dataset.key, dataset.value] {
                shapes
                    .shape(id, 0)
                    .map_err(|e| e.for_dataset(&dataset.name))?;
            }
        }
        Ok(())
    }

    /// The types of `dataset`, if it is typed.
    pub fn dataset(&self, dataset: &str) -> Option<&DatasetType> {
        self.datasets.iter().find(|d| d.name == dataset)
    }
}

/// Collects each dataset's key and value types; [`DatasetTypes::builder`].
pub struct DatasetTypesBuilder {
    registry: Registry,
    datasets: Vec<DatasetType>,
}

impl DatasetTypesBuilder {
    /// Types `name`'s keys as `K` and values as `V` (their SCALE encodings are what the manuscript emits).
    pub fn dataset<K: TypeInfo + 'static, V: TypeInfo + 'static>(mut self, name: &str) -> Self {
        let key = self.registry.register_type(&MetaType::new::<K>()).id;
        let value = self.registry.register_type(&MetaType::new::<V>()).id;
        self.datasets.push(DatasetType {
            name: name.to_string(),
            key,
            value,
        });
        self
    }

    /// The registry and the datasets.
    pub fn build(self) -> DatasetTypes {
        DatasetTypes {
            registry: self.registry.into(),
            datasets: self.datasets,
        }
    }
}

/// Why a type failed the shape checks, before the dataset is known.
enum ShapeError {
    Unknown(u32),
    TooDeep,
    EmptyElement(u32),
}

impl ShapeError {
    fn for_dataset(self, dataset: &str) -> TypesError {
        let dataset = dataset.to_string();
        match self {
            ShapeError::Unknown(id) => TypesError::UnknownType { dataset, id },
            ShapeError::TooDeep => TypesError::TooDeep { dataset },
            ShapeError::EmptyElement(id) => TypesError::EmptyElement { dataset, id },
        }
    }
}

/// Depth and minimum encoded length per type id, computed once per type.
struct Shapes<'a> {
    registry: &'a PortableRegistry,
    /// id → (depth, whether it can encode to no bytes).
    known: BTreeMap<u32, (u32, bool)>,
}

impl Shapes<'_> {
    /// `(depth, can be empty)` of type `id`, reached at nesting `level`. Recursion stops at
    /// [`MAX_TYPE_DEPTH`], so a cycle in the registry is reported as too deep.
    fn shape(&mut self, id: u32, level: u32) -> Result<(u32, bool), ShapeError> {
        if let Some(known) = self.known.get(&id) {
            if level + known.0 > MAX_TYPE_DEPTH {
                return Err(ShapeError::TooDeep);
            }
            return Ok(*known);
        }
        if level >= MAX_TYPE_DEPTH {
            return Err(ShapeError::TooDeep);
        }
        let ty: &Type<PortableForm> = self.registry.resolve(id).ok_or(ShapeError::Unknown(id))?;
        let (children, empty_if_children_empty): (Vec<u32>, bool) = match &ty.type_def {
            TypeDef::Composite(c) => (c.fields.iter().map(|f| f.ty.id).collect(), true),
            TypeDef::Tuple(t) => (t.fields.iter().map(|f| f.id).collect(), true),
            TypeDef::Variant(v) => (
                v.variants
                    .iter()
                    .flat_map(|variant| variant.fields.iter().map(|f| f.ty.id))
                    .collect(),
                false,
            ),
            TypeDef::Sequence(s) => {
                self.element(s.type_param.id, id, level)?;
                (Vec::new(), false)
            }
            TypeDef::Array(a) => {
                let empty = a.len == 0 || self.element_maybe_empty(a.type_param.id, level)?;
                if a.len > 0 && empty {
                    return Err(ShapeError::EmptyElement(id));
                }
                (Vec::new(), a.len == 0)
            }
            TypeDef::Compact(c) => (alloc::vec![c.type_param.id], false),
            TypeDef::BitSequence(b) => {
                (alloc::vec![b.bit_store_type.id, b.bit_order_type.id], false)
            }
            TypeDef::Primitive(_) => (Vec::new(), false),
        };
        let mut depth = 0;
        let mut all_empty = true;
        for child in children {
            let (child_depth, child_empty) = self.shape(child, level + 1)?;
            depth = depth.max(child_depth);
            all_empty &= child_empty;
        }
        let depth = match &ty.type_def {
            TypeDef::Sequence(s) => self.depth_of(s.type_param.id),
            TypeDef::Array(a) => self.depth_of(a.type_param.id),
            _ => depth,
        } + 1;
        let empty = empty_if_children_empty && all_empty
            || matches!(&ty.type_def, TypeDef::Array(a) if a.len == 0);
        self.known.insert(id, (depth, empty));
        Ok((depth, empty))
    }

    /// Checks a sequence's element type: known shape, never empty.
    fn element(&mut self, element: u32, container: u32, level: u32) -> Result<(), ShapeError> {
        if self.element_maybe_empty(element, level)? {
            return Err(ShapeError::EmptyElement(container));
        }
        Ok(())
    }

    fn element_maybe_empty(&mut self, element: u32, level: u32) -> Result<bool, ShapeError> {
        Ok(self.shape(element, level + 1)?.1)
    }

    fn depth_of(&self, id: u32) -> u32 {
        self.known.get(&id).map_or(0, |k| k.0)
    }
}

/// `wasm` with a `cvm_types` section holding `types` appended (custom sections may come anywhere after the
/// header). For build tools: `cvm manuscript build` and the example fixtures.
#[cfg(feature = "build")]
pub fn embed(wasm: &[u8], types: &DatasetTypes) -> Vec<u8> {
    use wasm_encoder::Section;
    let mut out = wasm.to_vec();
    wasm_encoder::CustomSection {
        name: SECTION_NAME.into(),
        data: types.to_section().into(),
    }
    .append_to(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::boxed::Box;
    use alloc::vec;
    use scale_info::TypeInfo;

    #[derive(TypeInfo, Encode)]
    #[allow(dead_code)]
    struct Point {
        x: u64,
        label: String,
    }

    #[derive(TypeInfo)]
    #[allow(dead_code)]
    enum Tree {
        Leaf,
        Node(Box<Tree>),
    }

    fn manifest(datasets: &[&str]) -> Manifest {
        Manifest::new("m", ["kv"], datasets.iter().copied())
    }

    #[test]
    fn builder_round_trips_through_the_section() {
        let types = DatasetTypes::builder()
            .dataset::<[u8; 4], Point>("points")
            .dataset::<u32, Vec<Point>>("lists")
            .build();
        let bytes = types.to_section();
        let decoded = DatasetTypes::decode_section(&bytes, &manifest(&["points", "lists"]))
            .expect("a derived registry is accepted");
        assert_eq!(decoded, types);
        let points = decoded.dataset("points").expect("typed");
        let value = decoded.registry.resolve(points.value).expect("in registry");
        assert_eq!(
            value.path.segments.last().map(String::as_str),
            Some("Point")
        );
        let TypeDef::Composite(c) = &value.type_def else {
            panic!("a struct is a composite")
        };
        let names: Vec<_> = c.fields.iter().filter_map(|f| f.name.clone()).collect();
        assert_eq!(names, ["x", "label"]);
        // The two datasets share the registered `Point`.
        assert_eq!(decoded.registry.types.len(), 7, "{:#?}", decoded.registry);
    }

    #[test]
    fn rejects_unknown_and_duplicate_datasets() {
        let types = DatasetTypes::builder().dataset::<u8, u8>("other").build();
        assert_eq!(
            DatasetTypes::decode_section(&types.to_section(), &manifest(&["points"])),
            Err(TypesError::UnknownDataset("other".into()))
        );
        let types = DatasetTypes::builder()
            .dataset::<u8, u8>("a")
            .dataset::<u8, u16>("a")
            .build();
        assert_eq!(
            DatasetTypes::decode_section(&types.to_section(), &manifest(&["a"])),
            Err(TypesError::Duplicate("a".into()))
        );
    }

    #[test]
    fn rejects_garbage_trailing_bytes_and_oversize() {
        let m = manifest(&["a"]);
        assert!(matches!(
            DatasetTypes::decode_section(&[0xff, 0xff, 0xff], &m),
            Err(TypesError::Decode(_))
        ));
        let mut bytes = DatasetTypes::builder()
            .dataset::<u8, u8>("a")
            .build()
            .to_section();
        bytes.push(0);
        assert!(matches!(
            DatasetTypes::decode_section(&bytes, &m),
            Err(TypesError::Decode(_))
        ));
        let big = vec![0u8; MAX_SECTION_LEN + 1];
        assert_eq!(
            DatasetTypes::decode_section(&big, &m),
            Err(TypesError::TooLarge {
                len: MAX_SECTION_LEN + 1
            })
        );
        let error = DatasetTypes::decode_section(&big, &m)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("cvm_types") && error.contains("16384"),
            "{error}"
        );
    }

    #[test]
    fn rejects_unknown_ids_recursion_and_empty_elements() {
        let m = manifest(&["a"]);
        let mut types = DatasetTypes::builder().dataset::<u8, u8>("a").build();
        types.datasets[0].value = 99;
        assert_eq!(
            DatasetTypes::decode_section(&types.to_section(), &m),
            Err(TypesError::UnknownType {
                dataset: "a".into(),
                id: 99
            })
        );
        let types = DatasetTypes::builder().dataset::<u8, Tree>("a").build();
        assert_eq!(
            DatasetTypes::decode_section(&types.to_section(), &m),
            Err(TypesError::TooDeep {
                dataset: "a".into()
            })
        );
        let types = DatasetTypes::builder().dataset::<u8, Vec<()>>("a").build();
        assert!(matches!(
            DatasetTypes::decode_section(&types.to_section(), &m),
            Err(TypesError::EmptyElement { .. })
        ));
        let types = DatasetTypes::builder()
            .dataset::<u8, [(); 1000]>("a")
            .build();
        assert!(matches!(
            DatasetTypes::decode_section(&types.to_section(), &m),
            Err(TypesError::EmptyElement { .. })
        ));
        // Zero-sized values themselves are fine: only their repetition is unbounded.
        let types = DatasetTypes::builder().dataset::<u8, ()>("a").build();
        assert!(DatasetTypes::decode_section(&types.to_section(), &m).is_ok());
    }

    #[test]
    fn depth_is_bounded() {
        // `u8` is depth 1; each `Option` adds 1.
        type D4 = Option<Option<Option<u8>>>;
        type D16 = Option<
            Option<
                Option<Option<Option<Option<Option<Option<Option<Option<Option<Option<D4>>>>>>>>>>,
            >,
        >;
        type D28 = Option<
            Option<
                Option<Option<Option<Option<Option<Option<Option<Option<Option<Option<D16>>>>>>>>>>,
            >,
        >;
        type D32 = Option<Option<Option<Option<D28>>>>;
        let m = manifest(&["a"]);
        let ok = DatasetTypes::builder().dataset::<u8, D32>("a").build();
        assert!(DatasetTypes::decode_section(&ok.to_section(), &m).is_ok());
        let deep = DatasetTypes::builder()
            .dataset::<u8, Option<D32>>("a")
            .build();
        assert_eq!(
            DatasetTypes::decode_section(&deep.to_section(), &m),
            Err(TypesError::TooDeep {
                dataset: "a".into()
            })
        );
    }
}
