//! The consensus WAL in its column family.

use super::*;

fn wal_entry(n: u64) -> WalEntry<u64> {
    WalEntry::ProposeValue {
        height: Height(n),
        round: Round(n as u32),
        value: n * 100,
    }
}

#[test]
fn wal_round_trip_across_reopen_and_clear() {
    let dir = TempDir::new().unwrap();
    {
        let storage = Storage::open(dir.path()).unwrap();
        let mut wal = storage.wal().unwrap();
        for n in 0..3 {
            Wal::<u64>::append(&mut wal, &wal_entry(n)).unwrap();
        }
        Wal::<u64>::sync(&mut wal).unwrap();
    }
    let storage = Storage::open(dir.path()).unwrap();
    let loaded: Vec<WalEntry<u64>> = storage.load_wal().unwrap();
    assert_eq!(loaded, (0..3).map(wal_entry).collect::<Vec<_>>());

    // Appends after a restart go after the stored records.
    let mut wal = storage.wal().unwrap();
    assert_eq!(wal.next_seq(), 3);
    Wal::<u64>::append(&mut wal, &wal_entry(3)).unwrap();
    Wal::<u64>::sync(&mut wal).unwrap();
    assert_eq!(
        storage.load_wal::<u64>().unwrap(),
        (0..4).map(wal_entry).collect::<Vec<_>>()
    );

    Wal::<u64>::clear(&mut wal).unwrap();
    assert!(storage.load_wal::<u64>().unwrap().is_empty());
    Wal::<u64>::append(&mut wal, &wal_entry(9)).unwrap();
    Wal::<u64>::sync(&mut wal).unwrap();
    drop(wal);
    drop(storage);
    let storage = Storage::open(dir.path()).unwrap();
    assert_eq!(storage.load_wal::<u64>().unwrap(), vec![wal_entry(9)]);
}

#[test]
fn undecodable_wal_record_names_its_sequence_number() {
    let dir = TempDir::new().unwrap();
    let storage = Storage::open(dir.path()).unwrap();
    let mut wal = storage.wal().unwrap();
    Wal::<u64>::append(&mut wal, &wal_entry(0)).unwrap();
    let cf = storage.db.cf_handle(CF_WAL).unwrap();
    storage.db.put_cf(cf, height_key(1), [0xff, 0x00]).unwrap();
    let err = storage.load_wal::<u64>().unwrap_err();
    assert!(
        matches!(err, StorageError::WalDecode { seq: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("record #1"), "{err}");
}
