//! The dataset types erc20-transfers declares: what nodes use to show its records with fields by name.

use erc20_transfers::{MANUSCRIPT, dataset_types};
use manuscript_sdk::scale_info::{TypeDef, TypeDefPrimitive};
use manuscript_sdk::types::DatasetTypes;

fn field_names(types: &DatasetTypes, id: u32) -> Vec<String> {
    match &types
        .registry
        .resolve(id)
        .expect("in the registry")
        .type_def
    {
        TypeDef::Composite(c) => c.fields.iter().filter_map(|f| f.name.clone()).collect(),
        other => panic!("not a struct: {other:?}"),
    }
}

#[test]
fn every_dataset_is_typed_and_the_section_passes_deploy_checks() {
    let types = dataset_types();
    let manifest = MANUSCRIPT.manifest();
    let names: Vec<_> = types.datasets.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, manifest.datasets);
    let section = types.to_section();
    assert_eq!(
        DatasetTypes::decode_section(&section, &manifest),
        Ok(types.clone())
    );
    assert!(section.len() < 2048, "section is {} bytes", section.len());

    let transfers = types.dataset("transfers").expect("typed");
    assert_eq!(
        field_names(&types, transfers.value),
        ["token", "from", "to", "value", "transaction_hash"]
    );
    let TypeDef::Array(key) = &types.registry.resolve(transfers.key).unwrap().type_def else {
        panic!("the transfers key is a byte array")
    };
    assert_eq!(key.len, 12);
    let balances = types.dataset("balances").expect("typed");
    assert_eq!(
        field_names(&types, balances.value),
        ["net_flow", "transfers", "since"]
    );
    let supply = types.dataset("supply").expect("typed");
    assert_eq!(
        field_names(&types, supply.value),
        ["net_minted", "transfers", "since"]
    );
    let TypeDef::Array(address) = &types.registry.resolve(supply.key).unwrap().type_def else {
        panic!("the supply key is an address")
    };
    assert_eq!(address.len, 20);
    assert!(matches!(
        types
            .registry
            .resolve(address.type_param.id)
            .unwrap()
            .type_def,
        TypeDef::Primitive(TypeDefPrimitive::U8)
    ));
}
