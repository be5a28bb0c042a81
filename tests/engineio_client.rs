//! The client session and the reconnect backoff; an in-memory client/server pair.
#![cfg(feature = "json")]

use bytes::{Bytes, BytesMut};
use core::time::Duration;
use socketwire::engineio::{
    Backoff, ClientEvent, ClientSession, ClientTransmit, ClientTransport, CloseReason,
    EngineIoVersion, MessageData, MessageKind, Method, Packet, PayloadDecoder, PayloadFormat,
    PayloadLimits, Reply, RequestInfo, Response, Server, ServerConfig, ServerEvent,
    WebSocketOutput,
};

const SEC: Duration = Duration::from_secs(1);
const OPEN: &str = r#"{"sid":"s1","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#;

fn opened(version: EngineIoVersion, transport: ClientTransport) -> ClientSession {
    let mut client = ClientSession::new(version, transport);
    client
        .handle_packet(Packet::Open(OPEN), Duration::ZERO)
        .unwrap();
    assert!(matches!(client.poll_event(), Some(ClientEvent::Open(open)) if open.sid == "s1"));
    client
}

fn transmit(client: &mut ClientSession) -> Option<(ClientTransmit, Vec<u8>)> {
    let mut out = BytesMut::new();
    client.poll_transmit(&mut out).map(|t| (t, out.to_vec()))
}

#[test]
fn open_requires_an_open_packet() {
    let mut client = ClientSession::new(EngineIoVersion::V4, ClientTransport::Polling);
    assert!(
        client
            .handle_packet(Packet::Message("x"), Duration::ZERO)
            .is_err()
    );
    assert_eq!(
        client.poll_event(),
        Some(ClientEvent::Closed(CloseReason::ParseError))
    );
}

#[test]
fn v4_answers_pings_and_detects_a_dead_server() {
    let mut client = opened(EngineIoVersion::V4, ClientTransport::WebSocket);
    assert_eq!(client.poll_timeout(), Some(45 * SEC));
    client.handle_packet(Packet::Ping(""), 25 * SEC).unwrap();
    assert_eq!(
        transmit(&mut client),
        Some((ClientTransmit::WebSocket(MessageKind::Text), b"3".to_vec()))
    );
    assert_eq!(client.poll_timeout(), Some(70 * SEC));
    client.handle_timeout(69 * SEC);
    assert_eq!(client.poll_event(), None);
    client.handle_timeout(70 * SEC);
    assert_eq!(
        client.poll_event(),
        Some(ClientEvent::Closed(CloseReason::PingTimeout))
    );
}

#[test]
fn v3_sends_pings_and_expects_pongs() {
    let mut client = opened(EngineIoVersion::V3, ClientTransport::Polling);
    assert_eq!(client.poll_timeout(), Some(25 * SEC));
    client.handle_timeout(25 * SEC);
    assert_eq!(
        transmit(&mut client),
        Some((ClientTransmit::Post, b"1:2".to_vec()))
    );
    client.handle_post_done();
    assert_eq!(client.poll_timeout(), Some(45 * SEC));
    client.handle_packet(Packet::Pong(""), 30 * SEC).unwrap();
    assert_eq!(client.poll_timeout(), Some(55 * SEC));
    client.handle_timeout(55 * SEC);
    assert_eq!(transmit(&mut client).unwrap().1, b"1:2");
    client.handle_timeout(75 * SEC);
    assert_eq!(
        client.poll_event(),
        Some(ClientEvent::Closed(CloseReason::PingTimeout))
    );
}

#[test]
fn one_post_at_a_time() {
    let mut client = opened(EngineIoVersion::V4, ClientTransport::Polling);
    client.send_text("a").unwrap();
    assert_eq!(transmit(&mut client).unwrap().1, b"4a");
    client.send_text("b").unwrap();
    client.send_binary(Bytes::from_static(&[1, 2, 3])).unwrap();
    assert_eq!(transmit(&mut client), None);
    client.handle_post_done();
    assert_eq!(transmit(&mut client).unwrap().1, b"4b\x1ebAQID");
}

#[test]
fn upgrade_probe_then_switch() {
    let mut client = opened(EngineIoVersion::V4, ClientTransport::Polling);
    assert!(client.can_upgrade());
    client.start_upgrade().unwrap();
    assert_eq!(
        transmit(&mut client),
        Some((ClientTransmit::Probe(MessageKind::Text), b"2probe".to_vec()))
    );
    client.send_text("queued").unwrap();
    assert_eq!(transmit(&mut client), None); // polling paused while probing
    client.handle_probe_packet(Packet::Pong("probe"));
    assert_eq!(client.poll_event(), Some(ClientEvent::Upgraded));
    assert_eq!(client.transport(), ClientTransport::WebSocket);
    assert_eq!(transmit(&mut client).unwrap().1, b"5");
    assert_eq!(transmit(&mut client).unwrap().1, b"4queued");
    client.send_binary(Bytes::from_static(&[7])).unwrap();
    assert_eq!(
        transmit(&mut client),
        Some((ClientTransmit::WebSocket(MessageKind::Binary), vec![7]))
    );
}

#[test]
fn upgrade_aborts_on_a_wrong_answer() {
    let mut client = opened(EngineIoVersion::V4, ClientTransport::Polling);
    client.start_upgrade().unwrap();
    transmit(&mut client);
    client.handle_probe_packet(Packet::Message("?"));
    assert_eq!(client.transport(), ClientTransport::Polling);
    assert!(client.can_upgrade());
}

/// Finding (simulation seed 874): after a POST failed the session closed,
/// yet the packets queued behind that POST still went out in the next POST,
/// on the dead sid. The server, whose session lived on, then delivered
/// message 5 after losing message 4. A session that ended for any reason
/// but `close` sends nothing more.
#[test]
fn nothing_queued_goes_out_after_the_session_failed() {
    let mut client = opened(EngineIoVersion::V4, ClientTransport::Polling);
    client.send_text("4th").unwrap();
    assert_eq!(transmit(&mut client).unwrap().1, b"44th");
    client.send_text("5th").unwrap();
    // The POST carrying "4th" failed: its request finished, with an error.
    client.handle_post_done();
    client.handle_transport_error();
    assert_eq!(
        client.poll_event(),
        Some(ClientEvent::Closed(CloseReason::TransportError(
            "transport error"
        )))
    );
    assert_eq!(transmit(&mut client), None);

    // The same on a WebSocket after a heartbeat timeout.
    let mut client = opened(EngineIoVersion::V4, ClientTransport::WebSocket);
    client.send_text("late").unwrap();
    client.handle_timeout(SEC * 60);
    assert_eq!(
        client.poll_event(),
        Some(ClientEvent::Closed(CloseReason::PingTimeout))
    );
    assert_eq!(transmit(&mut client), None);
}

/// Finding (simulation seed 846): `close` with a POST in flight waits to
/// POST the rest of the queue and `close`; when that POST failed, the rest
/// still went out, so the server (whose session lived on) received message
/// 12 after losing messages 8 to 11. A transport error ends the flush.
#[test]
fn a_failed_post_ends_the_flush_of_close() {
    let mut client = opened(EngineIoVersion::V4, ClientTransport::Polling);
    client.send_text("8th").unwrap();
    assert_eq!(transmit(&mut client).unwrap().1, b"48th");
    client.send_text("12th").unwrap();
    client.close();
    assert_eq!(
        client.poll_event(),
        Some(ClientEvent::Closed(CloseReason::ForcedClose))
    );
    assert_eq!(transmit(&mut client), None); // the POST is still in flight
    client.handle_post_done();
    client.handle_transport_error(); // …and it failed
    assert_eq!(client.poll_event(), None); // already closed
    assert_eq!(transmit(&mut client), None);
}

#[test]
fn close_from_either_side() {
    let mut client = opened(EngineIoVersion::V4, ClientTransport::Polling);
    client.close();
    assert_eq!(
        client.poll_event(),
        Some(ClientEvent::Closed(CloseReason::ForcedClose))
    );
    assert_eq!(transmit(&mut client).unwrap().1, b"1");
    assert!(client.send_text("late").is_err());

    let mut client = opened(EngineIoVersion::V4, ClientTransport::WebSocket);
    client.close();
    assert_eq!(
        transmit(&mut client),
        Some((ClientTransmit::CloseTransport, vec![]))
    );

    let mut client = opened(EngineIoVersion::V4, ClientTransport::WebSocket);
    client.handle_packet(Packet::Close, SEC).unwrap();
    assert_eq!(
        client.poll_event(),
        Some(ClientEvent::Closed(CloseReason::TransportClose))
    );
}

#[test]
fn backoff_matches_socket_io_client() {
    let mut backoff = Backoff::new(
        Duration::from_millis(1000),
        Duration::from_millis(5000),
        0.5,
        None,
    );
    // rand 0.0: even branch, no deviation.
    assert_eq!(backoff.next_delay(0.0), Some(Duration::from_millis(1000)));
    // rand 0.25: ⌊2.5⌋ = 2 even → 2000 − ⌊0.25·0.5·2000⌋ = 1750.
    assert_eq!(backoff.next_delay(0.25), Some(Duration::from_millis(1750)));
    // rand 0.35: ⌊3.5⌋ = 3 odd → 4000 + 700 = 4700.
    assert_eq!(backoff.next_delay(0.35), Some(Duration::from_millis(4700)));
    // capped at max.
    assert_eq!(backoff.next_delay(0.99), Some(Duration::from_millis(5000)));
    for _ in 0..100 {
        assert!(backoff.next_delay(0.5).unwrap() <= Duration::from_millis(5000));
    }
    let mut limited = Backoff::new(SEC, 10 * SEC, 0.0, Some(1));
    assert!(limited.next_delay(0.0).is_some());
    assert_eq!(limited.next_delay(0.0), None);
}

/// Drives a client and a server against each other in memory: handshake over
/// polling, messages both ways, upgrade to WebSocket, then close.
#[test]
fn client_server_pair_polling_then_upgrade() {
    let mut server = Server::new(ServerConfig::default());
    let mut client = ClientSession::new(EngineIoVersion::V4, ClientTransport::Polling);
    let now = Duration::ZERO;
    let empty = Bytes::new();
    let limits = PayloadLimits::default();

    let respond = |server: &mut Server, method, query: &str, body: &Bytes| -> Reply {
        let request = RequestInfo {
            method,
            query,
            content_type: None,
            body,
        };
        server.handle_request(&request, now, || "sid-1".into())
    };
    let feed = |client: &mut ClientSession, response: &Response| {
        for packet in PayloadDecoder::new(&response.body, PayloadFormat::V4, limits) {
            client.handle_packet(packet.unwrap(), now).unwrap();
        }
    };

    // Handshake.
    let Reply::Respond(open) = respond(
        &mut server,
        Method::Get,
        &client.query(ClientTransport::Polling),
        &empty,
    ) else {
        panic!()
    };
    feed(&mut client, &open);
    assert!(matches!(client.poll_event(), Some(ClientEvent::Open(_))));
    assert!(matches!(
        server.poll_event(),
        Some(ServerEvent::Open { .. })
    ));

    // Client → server.
    client.send_text("from client").unwrap();
    let mut out = BytesMut::new();
    assert_eq!(client.poll_transmit(&mut out), Some(ClientTransmit::Post));
    let body = out.freeze();
    assert!(
        matches!(respond(&mut server, Method::Post, &client.query(ClientTransport::Polling), &body), Reply::Respond(r) if r.status == 200)
    );
    client.handle_post_done();
    assert_eq!(
        server.poll_event(),
        Some(ServerEvent::Message {
            sid: "sid-1".into(),
            data: MessageData::Text("from client".into())
        })
    );

    // Server → client through a waiting GET.
    assert!(matches!(
        respond(
            &mut server,
            Method::Get,
            &client.query(ClientTransport::Polling),
            &empty
        ),
        Reply::Wait
    ));
    server.send_text("sid-1", "from server").unwrap();
    let (_, response) = server.poll_long_poll().unwrap();
    feed(&mut client, &response);
    assert_eq!(
        client.poll_event(),
        Some(ClientEvent::Message(MessageData::Text(
            "from server".into()
        )))
    );

    // Upgrade.
    assert!(matches!(
        respond(
            &mut server,
            Method::Get,
            &client.query(ClientTransport::Polling),
            &empty
        ),
        Reply::Wait
    ));
    let (_, ws) = server
        .handle_websocket_open(
            &client.query(ClientTransport::WebSocket),
            now,
            || unreachable!(),
        )
        .unwrap();
    let ws = ws.id().unwrap();
    client.start_upgrade().unwrap();
    let pump_client = |client: &mut ClientSession, server: &mut Server| {
        let mut out = BytesMut::new();
        while let Some(transmit) = client.poll_transmit(&mut out) {
            let text = String::from_utf8(out.split().to_vec()).unwrap();
            assert!(
                matches!(
                    transmit,
                    ClientTransmit::Probe(_) | ClientTransmit::WebSocket(_)
                ),
                "{transmit:?}"
            );
            server
                .handle_websocket_text("sid-1", ws, &text, now)
                .unwrap();
        }
    };
    pump_client(&mut client, &mut server);
    let (_, WebSocketOutput::Text(pong)) = server.poll_websocket().unwrap() else {
        panic!()
    };
    client.handle_probe_packet(Packet::decode_text(&pong, EngineIoVersion::V4).unwrap());
    let (_, noop) = server.poll_long_poll().unwrap();
    assert_eq!(&noop.body[..], b"6");
    pump_client(&mut client, &mut server);
    assert_eq!(client.poll_event(), Some(ClientEvent::Upgraded));
    assert_eq!(
        server.poll_event(),
        Some(ServerEvent::Upgraded {
            sid: "sid-1".into()
        })
    );

    // Close from the client over WebSocket.
    client.close();
    let mut out = BytesMut::new();
    assert_eq!(
        client.poll_transmit(&mut out),
        Some(ClientTransmit::CloseTransport)
    );
    server.handle_websocket_closed("sid-1", ws);
    assert_eq!(
        server.poll_event(),
        Some(ServerEvent::Closed {
            sid: "sid-1".into(),
            reason: CloseReason::TransportClose
        })
    );
}
