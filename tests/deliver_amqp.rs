//! The AMQP 1.0 sink against a real broker (RabbitMQ with the AMQP 1.0 plugin, started by
//! `scripts/start-rabbitmq.sh`, URL in `UEBA_AMQP_URL`): every record comes back with its
//! RecordId as message-id and its JSON as body; connections dropped mid-stream or while idle
//! lose nothing. The sink talks to the broker through a local TCP relay the test can cut.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fe2o3_amqp::connection::ConnectionHandle;
use fe2o3_amqp::session::SessionHandle;
use fe2o3_amqp::types::messaging::{Body, MessageId};
use fe2o3_amqp::types::primitives::Value;
use fe2o3_amqp::{Connection, Receiver, Session};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use ueba_narrator::sink::amqp::{AmqpConfig, AmqpSink};
use ueba_narrator::sink::fanout::Sink;

fn broker_url() -> Option<String> {
    match std::env::var("UEBA_AMQP_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            eprintln!("UEBA_AMQP_URL is not set: skipping (run scripts/start-rabbitmq.sh)");
            None
        }
    }
}

/// A TCP relay on 127.0.0.1:0 whose open connections can be cut at once.
struct Relay {
    port: u16,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Relay {
    async fn start(upstream: String) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let conns: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let c = conns.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let up = upstream.clone();
                let h = tokio::spawn(async move {
                    if let Ok(mut out) = TcpStream::connect(up).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                    }
                });
                c.lock().unwrap().push(h);
            }
        });
        Relay { port, conns }
    }

    /// Drop every relayed connection (both sockets close).
    fn cut(&self) -> usize {
        let mut v = self.conns.lock().unwrap();
        let n = v.len();
        for h in v.drain(..) {
            h.abort();
        }
        n
    }
}

/// `amqp://user:pass@host:port` → (`amqp://user:pass@127.0.0.1:<relay>`, `host:port`).
fn via_relay(url: &str, port: u16) -> (String, String) {
    let (head, hostport) = url.rsplit_once('@').unwrap();
    let hostport = hostport.trim_end_matches('/').to_owned();
    (format!("{head}@127.0.0.1:{port}"), hostport)
}

fn config(url: &str, queue: &str) -> AmqpConfig {
    AmqpConfig {
        url: url.into(),
        address: queue.into(),
        backoff_ms: 50,
        max_attempts: 8,
        send_timeout_secs: 10,
        connect_timeout_secs: 10,
        ..AmqpConfig::default()
    }
}

/// Fails the test with a message instead of letting a silent broker stall the suite.
async fn step<T>(what: &str, secs: u64, fut: impl std::future::Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(secs), fut).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: no answer from the broker within {secs}s"),
    }
}

/// The test's own receiving side. Opening it is retried: a broker slow to answer one handshake
/// must not fail a test about the sink.
async fn open_receiver(
    url: &str,
    queue: &str,
) -> (ConnectionHandle<()>, SessionHandle<()>, Receiver) {
    for attempt in 1..=3 {
        let opening = async {
            let mut conn = Connection::open("deliver-test-receiver", url)
                .await
                .map_err(|e| format!("connection: {e:?}"))?;
            let mut session = Session::begin(&mut conn)
                .await
                .map_err(|e| format!("session: {e:?}"))?;
            let name = format!("recv-{}", uuid::Uuid::new_v4());
            let receiver = Receiver::attach(&mut session, name, queue)
                .await
                .map_err(|e| format!("attach: {e:?}"))?;
            Ok::<_, String>((conn, session, receiver))
        };
        match tokio::time::timeout(Duration::from_secs(20), opening).await {
            Ok(Ok(opened)) => return opened,
            Ok(Err(e)) => eprintln!("test receiver, attempt {attempt}: {e}"),
            Err(_) => eprintln!("test receiver, attempt {attempt}: no answer within 20 s"),
        }
    }
    panic!("the test receiver could not attach to {queue} in 3 attempts");
}

/// Receive until `want` distinct message ids arrived; returns id → bodies seen.
async fn receive(url: &str, queue: &str, want: usize) -> BTreeMap<String, Vec<Vec<u8>>> {
    let (mut conn, mut session, mut receiver) = open_receiver(url, queue).await;
    let mut got: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
    while got.len() < want {
        let d = step("next message", 20, receiver.recv::<Body<Value>>())
            .await
            .unwrap();
        step("accept", 20, receiver.accept(&d)).await.unwrap();
        let id = match d
            .message()
            .properties
            .as_ref()
            .and_then(|p| p.message_id.clone())
        {
            Some(MessageId::String(s)) => s,
            other => panic!("message-id {other:?}"),
        };
        let body = match d.body() {
            Body::Data(batch) => batch.iter().flat_map(|x| x.0.to_vec()).collect(),
            other => panic!("body {other:?}"),
        };
        got.entry(id).or_default().push(body);
    }
    // RabbitMQ 3.x may never answer a detach; the goodbye is best effort.
    let bye = async {
        let _ = receiver.detach().await;
        let _ = session.end().await;
        let _ = conn.close().await;
    };
    let _ = tokio::time::timeout(Duration::from_secs(5), bye).await;
    got
}

fn queue() -> String {
    format!("/queue/ueba-deliver-{}", uuid::Uuid::new_v4())
}

#[tokio::test]
async fn records_come_back_with_their_ids_and_bodies() {
    let Some(url) = broker_url() else { return };
    let q = queue();
    let recs = support::records(50, "audit");
    let sink = AmqpSink::new(&config(&url, &q), None).unwrap();
    let report = step("deliver", 120, sink.deliver(&recs)).await;
    assert_eq!(report.delivered, support::ids(&recs));
    assert!(report.pending.is_empty() && report.dead.is_empty());
    step("close", 30, sink.close()).await;

    let got = receive(&url, &q, recs.len()).await;
    assert_eq!(got.len(), 50);
    for r in &recs {
        let bodies = &got[&r.record_id];
        assert_eq!(bodies.len(), 1, "no duplicates without failures");
        assert_eq!(bodies[0], serde_json::to_vec(r).unwrap());
    }
}

#[tokio::test]
async fn connection_dropped_mid_stream_loses_nothing() {
    let Some(url) = broker_url() else { return };
    let q = queue();
    let recs = support::records(300, "audit");
    let relay = Relay::start(via_relay(&url, 0).1).await;
    let (relayed, _) = via_relay(&url, relay.port);
    let sink = Arc::new(AmqpSink::new(&config(&relayed, &q), None).unwrap());

    let s = sink.clone();
    let r2 = recs.clone();
    let sending = tokio::spawn(async move { s.deliver(&r2).await });
    // Cut the sink's connection while it is sending.
    let mut cut = 0;
    for _ in 0..200 {
        tokio::time::sleep(Duration::from_millis(5)).await;
        if !relay.conns.lock().unwrap().is_empty() {
            tokio::time::sleep(Duration::from_millis(40)).await;
            assert!(
                !sending.is_finished(),
                "the cut happens while records are still going out"
            );
            cut = relay.cut();
            break;
        }
    }
    assert!(cut >= 1, "the sink had connected through the relay");
    let report = step("deliver across the cut", 180, sending).await.unwrap();
    assert_eq!(
        report.delivered,
        support::ids(&recs),
        "every record delivered, in order"
    );
    assert!(report.pending.is_empty());
    assert!(
        !relay.conns.lock().unwrap().is_empty(),
        "the sink reconnected after the cut"
    );
    step("close", 30, sink.close()).await;

    let got = receive(&url, &q, recs.len()).await;
    let want: BTreeSet<String> = support::ids(&recs).into_iter().collect();
    assert_eq!(got.keys().cloned().collect::<BTreeSet<_>>(), want);
}

#[tokio::test]
async fn idle_connection_closed_by_the_peer_recovers_on_the_next_send() {
    let Some(url) = broker_url() else { return };
    let q = queue();
    let recs = support::records(10, "audit");
    let relay = Relay::start(via_relay(&url, 0).1).await;
    let (relayed, _) = via_relay(&url, relay.port);
    let sink = AmqpSink::new(&config(&relayed, &q), None).unwrap();
    assert_eq!(
        step("first deliver", 60, sink.deliver(&recs[..5]))
            .await
            .delivered
            .len(),
        5
    );
    assert_eq!(relay.cut(), 1);
    // The link stays idle after the cut, as it would before the next batch in production.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = step("deliver after the cut", 120, sink.deliver(&recs[5..])).await;
    assert_eq!(second.delivered, support::ids(&recs[5..]));
    step("close", 30, sink.close()).await;
    let got = receive(&url, &q, 10).await;
    assert_eq!(got.len(), 10);
}

#[tokio::test]
async fn unreachable_broker_leaves_records_pending() {
    // A port nothing listens on (bound, then released).
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = AmqpConfig {
        max_attempts: 2,
        ..config(
            &format!("amqp://guest:guest@127.0.0.1:{port}"),
            "/queue/none",
        )
    };
    let sink = AmqpSink::new(&cfg, None).unwrap();
    let recs = support::records(3, "audit");
    let report = step("deliver to nowhere", 60, sink.deliver(&recs)).await;
    assert_eq!(report.pending, support::ids(&recs));
    assert!(report.delivered.is_empty());
}

#[tokio::test]
async fn silent_broker_times_out_the_connect_and_leaves_records_pending() {
    // Accepts the socket and never says a word, like a half-open connection through a proxy.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let keep = accepted.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            keep.lock().unwrap().push(sock);
        }
    });
    let cfg = AmqpConfig {
        max_attempts: 2,
        connect_timeout_secs: 1,
        ..config(
            &format!("amqp://guest:guest@127.0.0.1:{port}"),
            "/queue/silent",
        )
    };
    let sink = AmqpSink::new(&cfg, None).unwrap();
    let recs = support::records(3, "audit");
    let report = step("deliver to a silent broker", 30, sink.deliver(&recs)).await;
    assert_eq!(report.pending, support::ids(&recs));
    assert!(report.delivered.is_empty() && report.dead.is_empty());
    assert_eq!(
        accepted.lock().unwrap().len(),
        2,
        "one connection per attempt, each given up after the connect timeout"
    );
}
