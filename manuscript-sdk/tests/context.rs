//! Context API against the mock host: typed state, prefix iteration, emits, block info, logs,
//! limits and the discard-on-failure rule.

use manuscript_sdk::prelude::*;
use manuscript_sdk::testing::{MockHost, Outcome};

type HolderBalances = Vec<(([u8; 20], [u8; 20]), U256)>;

#[test]
fn typed_state_roundtrip_and_remove() {
    let mut host = MockHost::new();
    let outcome = host.call(|ctx| {
        assert_eq!(ctx.get::<_, u64>(&1u8)?, None);
        ctx.set(&1u8, &42u64);
        ctx.set(&([1u8; 20], [2u8; 20]), &U256::from(7));
        assert_eq!(ctx.get::<_, u64>(&1u8)?, Some(42));
        assert!(ctx.contains(&1u8));
        ctx.remove(&1u8);
        assert_eq!(ctx.get::<_, u64>(&1u8)?, None);
        ctx.set(&2u8, &"two");
        Ok(())
    });
    assert_eq!(outcome, Outcome::Success);
    assert_eq!(host.get::<_, String>(&2u8).as_deref(), Some("two"));
    assert_eq!(host.get::<_, u64>(&1u8), None);
    // Tuple keys of fixed arrays are plain concatenations.
    let mut key = vec![1u8; 20];
    key.extend([2u8; 20]);
    assert_eq!(host.state().get(&key), Some(&U256::from(7).encode()));
}

#[test]
fn wrong_type_is_a_decode_error() {
    let mut host = MockHost::new();
    host.set(&b"k"[..], &7u8);
    let outcome = host.call(|ctx| {
        let err = ctx.get::<_, u64>(&b"k"[..]).unwrap_err();
        assert!(matches!(err, Error::Decode(_)), "{err:?}");
        // Trailing bytes are rejected too.
        host_free_check(ctx);
        Ok(())
    });
    outcome.expect_success();
}

fn host_free_check(ctx: &mut Context) {
    ctx.set_raw(b"raw", &[1, 0, 0]);
    assert!(ctx.get::<_, u16>(b"raw").is_err());
    assert_eq!(ctx.get_raw(b"raw"), Some(vec![1, 0, 0]));
}

#[test]
fn large_values_are_read_in_full() {
    let mut host = MockHost::new();
    let big: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    host.call(|ctx| {
        ctx.set_raw(b"big", &big);
        assert_eq!(ctx.get_raw(b"big").as_deref(), Some(&big[..]));
        Ok(())
    })
    .expect_success();
    assert_eq!(host.state().get(&b"big"[..]), Some(&big));
}

#[test]
fn prefix_iteration_merges_committed_and_pending_writes() {
    let mut host = MockHost::new();
    let token_a = [0xaau8; 20];
    let token_b = [0xbbu8; 20];
    for holder in [3u8, 1, 2] {
        host.set(&(token_a, [holder; 20]), &U256::from(holder));
    }
    host.set(&(token_b, [9u8; 20]), &U256::from(9));
    host.call(|ctx| {
        ctx.remove(&(token_a, [2u8; 20]));
        ctx.set(&(token_a, [0u8; 20]), &U256::from(100));
        ctx.set(&(token_a, [1u8; 20]), &U256::from(11));
        let seen: HolderBalances = ctx.iter_prefix(&token_a).collect::<Result<_, _>>()?;
        let holders: Vec<(u8, u64)> = seen.iter().map(|((_, h), v)| (h[0], v.as_u64())).collect();
        assert_eq!(holders, vec![(0, 100), (1, 11), (3, 3)]);
        // Writes during iteration are seen when they sort after the cursor.
        let mut it = ctx.iter_prefix_raw(&token_b);
        let first = it.next().unwrap();
        assert_eq!(first.1, U256::from(9).encode());
        ctx.set(&(token_b, [10u8; 20]), &U256::from(10));
        assert_eq!(it.next().map(|(_, v)| v), Some(U256::from(10).encode()));
        assert_eq!(it.next(), None);
        assert_eq!(ctx.iter_prefix_raw(&[0xcc]).count(), 0);
        Ok(())
    })
    .expect_success();
    let committed: HolderBalances = host.get_prefix(&token_a);
    assert_eq!(committed.len(), 3);
}

#[test]
fn errors_discard_writes_and_emits() {
    let mut host = MockHost::new();
    host.set(&0u8, &1u32);
    let outcome = host.call(|ctx| {
        ctx.set(&0u8, &2u32);
        ctx.set(&1u8, &3u32);
        ctx.emit("out", &1u8, &2u8);
        bail!("rejected {}", 42)
    });
    assert_eq!(outcome, Outcome::Error("rejected 42".into()));
    assert_eq!(host.get::<_, u32>(&0u8), Some(1));
    assert_eq!(host.get::<_, u32>(&1u8), None);
    assert!(host.emitted().is_empty());
    assert_eq!(
        host.logs().last().map(|l| (l.level, l.message.as_str())),
        Some((Level::Error, "rejected 42"))
    );
}

#[test]
fn panics_become_traps_and_discard_writes() {
    let mut host = MockHost::new();
    let outcome = host.call(|ctx| {
        ctx.set(&0u8, &1u8);
        panic!("boom {}", 7);
    });
    assert_eq!(outcome, Outcome::Trapped("panicked: boom 7".into()));
    assert!(host.state().is_empty());
}

#[test]
fn emits_replace_same_key_and_are_kept_on_success() {
    let mut host = MockHost::new();
    host.call(|ctx| {
        ctx.emit("out", &1u32, &10u64);
        ctx.emit("out", &2u32, &20u64);
        ctx.emit("out", &1u32, &11u64);
        ctx.emit("other", &1u32, &12u64);
        Ok(())
    })
    .expect_success();
    assert_eq!(host.emitted().len(), 3);
    assert_eq!(host.dataset_as::<u32, u64>("out"), vec![(1, 11), (2, 20)]);
    assert_eq!(
        host.emitted_to("other")
            .map(|e| e.value_as::<u64>())
            .collect::<Vec<_>>(),
        vec![12]
    );
}

#[test]
fn limits_trap_like_the_cvm() {
    let mut host = MockHost::new();
    let big = vec![0u8; 65_537];
    let outcome = host.call(|ctx| {
        ctx.emit_raw("out", b"k", &big);
        Ok(())
    });
    assert!(
        matches!(&outcome, Outcome::Trapped(m) if m.contains("value length 65537")),
        "{outcome:?}"
    );
    let outcome = host.call(|ctx| {
        ctx.set_raw(&[0u8; 1025], b"v");
        Ok(())
    });
    assert!(
        matches!(&outcome, Outcome::Trapped(m) if m.contains("key length 1025")),
        "{outcome:?}"
    );
    let outcome = host.call(|ctx| {
        for i in 0..1025u32 {
            ctx.emit("out", &i, &());
        }
        Ok(())
    });
    assert!(
        matches!(&outcome, Outcome::Trapped(m) if m.contains("1024 records")),
        "{outcome:?}"
    );
    // 1,024 distinct keys, each emitted twice, is within the limit.
    host.call(|ctx| {
        for round in 0..2u8 {
            for i in 0..1024u32 {
                ctx.emit("out", &i, &round);
            }
        }
        Ok(())
    })
    .expect_success();
    assert_eq!(host.dataset("out").len(), 1024);
}

#[test]
fn block_info_and_logs() {
    let mut host = MockHost::new().with_block(12, 1_700_000_123_456);
    host.call(|ctx| {
        let block = ctx.block();
        assert_eq!(
            block,
            BlockInfo {
                height: 12,
                time_ms: 1_700_000_123_456
            }
        );
        assert_eq!(block.time_secs(), 1_700_000_123);
        assert_eq!(ctx.source(), "test");
        ctx.info(format_args!("height {}", block.height));
        ctx.warn("careful");
        ctx.log(Level::Trace, "x".repeat(5000));
        Ok(())
    })
    .expect_success();
    let logs = host.logs();
    assert_eq!(
        (logs[0].level, logs[0].message.as_str()),
        (Level::Info, "height 12")
    );
    assert_eq!(logs[1].level, Level::Warn);
    assert_eq!(logs[2].message.len(), 4096);
}

#[test]
fn host_function_fuel_is_charged_and_limited() {
    let mut host = MockHost::new();
    host.call(|ctx| {
        ctx.set_raw(b"key", b"value");
        Ok(())
    })
    .expect_success();
    assert_eq!(host.last_fuel_used(), 14_000 + 12 * 8);
    let mut host = MockHost::new().with_fuel_limit(10_000);
    let outcome = host.call(|ctx| {
        for i in 0u32.. {
            ctx.set(&i, &i);
        }
        Ok(())
    });
    assert_eq!(outcome, Outcome::Trapped("out of fuel".into()));
    assert!(host.state().is_empty());
}

#[test]
#[should_panic(expected = "no CVM host")]
fn context_use_outside_a_host_is_reported() {
    // A Context can only be obtained from the host; reach the bindings through a manuscript
    // invoked without MockHost.
    let m: manuscript_sdk::Manuscript<u8> = manuscript_sdk::Manuscript::new(&[], |ctx, _| {
        ctx.set(&0u8, &0u8);
        Ok(())
    });
    m.invoke("kv", &[0]);
}
