//! The reconnecting client against real servers on loopback: queued sends before and
//! between connections, reconnection after the server drops it and after an unanswered
//! heartbeat, the queue's bounds, a manual close, and giving up.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use socketwire::engineio::Backoff;
use socketwire_tokio::{
    CloseCode, CloseFrame, Event, Message, ReconnectConfig, ReconnectingWebSocket, SendError,
    accept_async,
};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// Every wait in these tests is bounded by this.
const BOUND: Duration = Duration::from_secs(10);

fn fast() -> ReconnectConfig {
    ReconnectConfig {
        backoff: Backoff::new(
            Duration::from_millis(10),
            Duration::from_millis(40),
            0.5,
            None,
        ),
        ..ReconnectConfig::default()
    }
}

async fn next(ws: &mut ReconnectingWebSocket) -> Event {
    tokio::time::timeout(BOUND, ws.next())
        .await
        .expect("an event within the bound")
        .expect("the client has not ended")
}

/// Waits for the next text message, skipping pings and pongs.
async fn next_text(ws: &mut ReconnectingWebSocket) -> String {
    loop {
        match next(ws).await {
            Event::Message(Message::Text(t)) => return t.as_str().to_owned(),
            Event::Message(Message::Ping(_) | Message::Pong(_)) => {}
            other => panic!("expected a text message, got {other:?}"),
        }
    }
}

/// A server whose `n`th connection (from 0) runs `script(n, ws)`.
async fn server<F, Fut>(script: F) -> (String, tokio::task::JoinHandle<()>)
where
    F: Fn(usize, socketwire_tokio::WebSocketStream<tokio::net::TcpStream>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let handle = tokio::spawn(async move {
        for n in 0..16 {
            let (tcp, _) = listener.accept().await.unwrap();
            let ws = accept_async(tcp).await.unwrap();
            tokio::spawn(script(n, ws));
        }
    });
    (url, handle)
}

async fn echo(mut ws: socketwire_tokio::WebSocketStream<tokio::net::TcpStream>) {
    while let Some(Ok(m)) = ws.next().await {
        if m.is_text() || m.is_binary() {
            let _ = ws.send(m).await;
        }
    }
}

#[tokio::test]
async fn sends_before_the_first_connection_go_out_in_order_once_it_opens() {
    let (url, _server) = server(|_, ws| echo(ws)).await;
    let mut ws = ReconnectingWebSocket::connect(url.as_str(), fast()).unwrap();
    for i in 0..5 {
        ws.send(Message::text(format!("m{i}"))).unwrap();
    }
    assert!(matches!(next(&mut ws).await, Event::Connected(r) if r.status() == 101));
    for i in 0..5 {
        assert_eq!(next_text(&mut ws).await, format!("m{i}"));
    }
    assert_eq!(ws.queued_bytes(), 0);
}

#[tokio::test]
async fn reconnects_after_the_server_closes_and_delivers_what_was_queued_meanwhile() {
    // Connection 0 answers one message and closes with 1001; the next ones echo.
    let (url, _server) = server(|n, mut ws| async move {
        if n == 0 {
            if let Some(Ok(m)) = ws.next().await {
                let _ = ws.send(m).await;
            }
            let frame = CloseFrame {
                code: CloseCode::GOING_AWAY,
                reason: "restart".into(),
            };
            let _ = ws.send(Message::Close(Some(frame))).await;
            while ws.next().await.is_some() {}
        } else {
            echo(ws).await;
        }
    })
    .await;
    let mut ws = ReconnectingWebSocket::connect(url.as_str(), fast()).unwrap();
    assert!(matches!(next(&mut ws).await, Event::Connected(_)));
    ws.send(Message::text("first")).unwrap();
    assert_eq!(next_text(&mut ws).await, "first");
    match next(&mut ws).await {
        Event::Disconnected {
            error,
            close,
            retry_in,
        } => {
            assert!(error.is_none(), "a clean close, not an error: {error:?}");
            let close = close.expect("the server's close frame");
            assert_eq!(close.code, CloseCode::GOING_AWAY);
            assert_eq!(close.reason.as_str(), "restart");
            assert!(retry_in <= Duration::from_millis(40), "{retry_in:?}");
        }
        other => panic!("expected Disconnected, got {other:?}"),
    }
    // Queued while away (the reconnection may already be under way: either way,
    // these go out in order on the next connection).
    ws.send(Message::text("second")).unwrap();
    ws.send(Message::text("third")).unwrap();
    assert!(matches!(next(&mut ws).await, Event::Connected(_)));
    assert_eq!(next_text(&mut ws).await, "second");
    assert_eq!(next_text(&mut ws).await, "third");
}

#[tokio::test]
async fn an_unanswered_heartbeat_reconnects() {
    // Connection 0 completes the handshake and then never reads (so never pongs).
    let (held_tx, mut held_rx) = mpsc::channel(1);
    let (url, _server) = server(move |n, ws| {
        let held_tx = held_tx.clone();
        async move {
            if n == 0 {
                let _ = held_tx.send(ws).await;
            } else {
                echo(ws).await;
            }
        }
    })
    .await;
    let config = ReconnectConfig {
        ping_interval: Some(Duration::from_millis(50)),
        pong_timeout: Duration::from_millis(100),
        ..fast()
    };
    let mut ws = ReconnectingWebSocket::connect(url.as_str(), config).unwrap();
    assert!(matches!(next(&mut ws).await, Event::Connected(_)));
    let _silent = held_rx
        .recv()
        .await
        .expect("the first connection, held unread");
    match next(&mut ws).await {
        Event::Disconnected { error, .. } => assert!(error.is_some(), "the idle timeout ends it"),
        other => panic!("expected Disconnected, got {other:?}"),
    }
    assert!(matches!(next(&mut ws).await, Event::Connected(_)));
    ws.send(Message::text("alive")).unwrap();
    assert_eq!(next_text(&mut ws).await, "alive");
}

/// A port nothing listens on (bound, then closed).
async fn dead_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("ws://{addr}/")
}

#[tokio::test]
async fn the_queue_is_bounded_in_messages_and_in_bytes() {
    let url = dead_url().await;
    let config = ReconnectConfig {
        max_queued_messages: 3,
        max_queued_bytes: 1 << 20,
        ..fast()
    };
    let ws = ReconnectingWebSocket::connect(url.as_str(), config).unwrap();
    for _ in 0..3 {
        ws.send(Message::text("x")).unwrap();
    }
    assert!(
        matches!(ws.send(Message::text("y")), Err(SendError::Full(m)) if m.to_text() == Some("y"))
    );
    assert_eq!(ws.queued_bytes(), 3);

    let config = ReconnectConfig {
        max_queued_messages: 100,
        max_queued_bytes: 10,
        ..fast()
    };
    let ws = ReconnectingWebSocket::connect(url.as_str(), config).unwrap();
    ws.send(Message::binary(vec![0; 6])).unwrap();
    assert!(matches!(
        ws.send(Message::binary(vec![0; 6])),
        Err(SendError::Full(_))
    ));
    ws.send(Message::binary(vec![0; 4])).unwrap();
    assert_eq!(ws.queued_bytes(), 10);
    assert!(matches!(
        ws.send(Message::binary(vec![0; 1])),
        Err(SendError::Full(_))
    ));

    // An empty queue takes one message over the byte bound (or it could never be sent),
    // and nothing after it.
    let config = ReconnectConfig {
        max_queued_messages: 100,
        max_queued_bytes: 10,
        ..fast()
    };
    let ws = ReconnectingWebSocket::connect(url.as_str(), config).unwrap();
    ws.send(Message::binary(vec![0; 20])).unwrap();
    assert_eq!(ws.queued_bytes(), 20);
    assert!(matches!(
        ws.send(Message::binary(vec![0; 1])),
        Err(SendError::Full(_))
    ));
}

#[tokio::test]
async fn close_runs_the_handshake_and_stops_reconnecting() {
    let (seen_tx, mut seen_rx) = mpsc::channel(4);
    let (url, _server) = server(move |_, mut ws| {
        let seen_tx = seen_tx.clone();
        async move {
            while let Some(Ok(m)) = ws.next().await {
                if let Message::Close(frame) = m {
                    let _ = seen_tx.send(frame).await;
                }
            }
        }
    })
    .await;
    let mut ws = ReconnectingWebSocket::connect(url.as_str(), fast()).unwrap();
    assert!(matches!(next(&mut ws).await, Event::Connected(_)));
    ws.close(Some(CloseFrame {
        code: CloseCode::NORMAL,
        reason: "bye".into(),
    }));
    assert!(matches!(
        ws.send(Message::text("late")),
        Err(SendError::Closed(_))
    ));
    assert!(matches!(
        next(&mut ws).await,
        Event::Closed { gave_up: false }
    ));
    assert!(
        tokio::time::timeout(BOUND, ws.next())
            .await
            .unwrap()
            .is_none(),
        "nothing after Closed"
    );
    let frame = tokio::time::timeout(BOUND, seen_rx.recv())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        (frame.code, frame.reason.as_str()),
        (CloseCode::NORMAL, "bye")
    );
}

#[tokio::test]
async fn gives_up_when_the_attempts_run_out() {
    let url = dead_url().await;
    let config = ReconnectConfig {
        backoff: Backoff::new(
            Duration::from_millis(5),
            Duration::from_millis(10),
            0.0,
            Some(2),
        ),
        ..ReconnectConfig::default()
    };
    let mut ws = ReconnectingWebSocket::connect(url.as_str(), config).unwrap();
    let mut disconnects = 0;
    loop {
        match next(&mut ws).await {
            Event::Disconnected { error, .. } => {
                assert!(error.is_some(), "refused connections are errors");
                disconnects += 1;
            }
            Event::Closed { gave_up } => {
                assert!(gave_up);
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    // The first attempt and two retries, each refused.
    assert_eq!(disconnects, 3);
    assert!(
        tokio::time::timeout(BOUND, ws.next())
            .await
            .unwrap()
            .is_none()
    );
}

#[cfg(not(feature = "rustls"))]
#[test]
fn a_wss_url_is_refused_up_front_without_tls() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let err = ReconnectingWebSocket::connect("wss://127.0.0.1:1/", fast()).unwrap_err();
        assert!(matches!(err, socketwire_tokio::Error::TlsNotSupported));
    });
}
