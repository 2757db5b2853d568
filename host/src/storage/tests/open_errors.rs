//! Opening a database that cannot be opened: each cause is named.

use super::*;

#[test]
fn second_open_reports_the_held_lock() {
    let dir = TempDir::new().unwrap();
    let _first = Storage::open(dir.path()).unwrap();
    let err = Storage::open(dir.path()).unwrap_err();
    assert!(matches!(err, StorageError::Locked { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "another cvm node is using {}; stop it first",
            dir.path().display()
        )),
        "{text}"
    );
}

#[test]
fn unwritable_directory_reports_permission() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new().unwrap();
    let parent = dir.path().join("ro");
    std::fs::create_dir(&parent).unwrap();
    std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o500)).unwrap();
    let probe = parent.join("probe");
    if std::fs::write(&probe, b"x").is_ok() {
        // Running as root: permissions do not bite, so the real open cannot fail this way.
        tracing::warn!(
            "skipping the permission assertion: this user can write a read-only directory"
        );
    } else {
        let err = Storage::open(parent.join("db")).unwrap_err();
        assert!(matches!(err, StorageError::Permission { .. }), "{err:?}");
        assert!(err.to_string().contains("permission denied"), "{err}");
    }
    std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o700)).unwrap();
}

#[test]
fn open_errors_are_classified_from_rocksdb_messages() {
    let path = std::path::PathBuf::from("/data/db");
    let classify = |msg: &str| StorageError::open_message(path.clone(), msg.to_string());
    assert!(matches!(
        classify("IO error: While lock file: /data/db/LOCK: Resource temporarily unavailable"),
        StorageError::Locked { .. }
    ));
    assert!(matches!(
        classify(
            "IO error: lock hold by current process, acquire time 1 acquiring thread 2: /data/db/LOCK: No locks available"
        ),
        StorageError::Locked { .. }
    ));
    assert!(matches!(
        classify("IO error: While mkdir if missing: /data/db: Permission denied"),
        StorageError::Permission { .. }
    ));
    assert!(matches!(
        classify("IO error: While open a file for lock: /data/db/LOCK: Permission denied"),
        StorageError::Permission { .. }
    ));
    assert!(matches!(
        classify("Corruption: bad block contents in file /data/db/000012.sst"),
        StorageError::Corruption { .. }
    ));
    assert!(matches!(
        classify("Invalid argument: something else"),
        StorageError::Open { .. }
    ));
}
