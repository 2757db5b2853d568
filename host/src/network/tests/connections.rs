//! Connections: static peers redialed, and the errors of bad addresses and of a stopped network.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_peer_is_redialed() {
    init_logs();
    let b_key = Keypair::generate_ed25519();
    let mut b = start(config("restart", b_key.clone(), loopback(), vec![])).await;
    let b_listen = b.h.listen_addrs().await[0].clone();
    let mut a = node("restart", vec![b.addr().await]).await;
    a.wait_connected(&[b.id()]).await;
    b.wait_connected(&[a.id()]).await;

    b.h.shutdown().await;
    let b_id = b.id();
    a.next(|e| matches!(e, NetworkEvent::PeerDisconnected(p) if p == b_id).then_some(()))
        .await;

    // Same key, same port.
    let mut b = start(config("restart", b_key, b_listen, vec![])).await;
    a.wait_connected(&[b.id()]).await;
    b.wait_connected(&[a.id()]).await;
    assert_eq!(a.h.peers().await, vec![b.id()]);
}

#[tokio::test]
async fn bad_peer_addresses_unbindable_listen_addresses_and_use_after_shutdown_are_errors() {
    let no_id: Multiaddr = "/ip4/127.0.0.1/tcp/1".parse().expect("valid");
    let err = spawn(config(
        "x",
        Keypair::generate_ed25519(),
        loopback(),
        vec![no_id],
    ))
    .await
    .unwrap_err();
    assert!(matches!(err, NetworkError::PeerWithoutId(_)), "{err}");

    // An address of no local interface cannot be bound (nothing is sent anywhere).
    let foreign: Multiaddr = "/ip4/203.0.113.1/tcp/0".parse().expect("valid");
    let err = spawn(config("x", Keypair::generate_ed25519(), foreign, vec![]))
        .await
        .unwrap_err();
    assert!(matches!(err, NetworkError::Listen { .. }), "{err}");

    // A port another process holds: the message says so (libp2p hides the io error under an empty one).
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let busy: Multiaddr = format!("/ip4/127.0.0.1/tcp/{port}").parse().expect("valid");
    let err = spawn(config("x", Keypair::generate_ed25519(), busy, vec![]))
        .await
        .unwrap_err();
    assert!(
        matches!(err, NetworkError::Listen { .. }) && err.to_string().contains("in use"),
        "{err}"
    );

    let first = node("x", vec![]).await;
    first.h.shutdown().await;
    assert!(matches!(
        first.h.publish(Topic::Consensus, vec![1]).await,
        Err(NetworkError::Stopped)
    ));
}
