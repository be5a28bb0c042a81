//! A line-oriented Socket.IO client on `socketwire_tokio::socketio::Client`.
//!
//! ```text
//! cargo run -p socketwire-tokio --example socketio_client -- http://127.0.0.1:3000
//!     [--namespace /x] [--auth JSON] [--path /socket.io/] [--reconnect-delay MS] [--no-reconnect]
//!     [--eio 3] [--polling | --upgrade] [--parser json|msgpack]
//! ```
//!
//! `--parser msgpack` speaks socket.io-msgpack-parser's format (the server's
//! `parser` option must match).
//!
//! It prints one JSON object per line for each event:
//!
//! ```text
//! {"type":"connect","namespace":"/","sid":"…"}
//! {"type":"connect_error","namespace":"/","data":{…}}
//! {"type":"event","namespace":"/","name":"news","args":[…],"ack":null}   (ack: a number to answer)
//! {"type":"ack","tag":"t1","args":[…]}            {"type":"ack_error","tag":"t1","error":"…"}
//! {"type":"disconnect","namespace":"/","reason":"transport close"}
//! {"type":"reconnecting","attempt":1}             {"type":"closed","gave_up":false}
//! {"type":"error","message":"…"}                  (a command that failed)
//! ```
//!
//! and reads commands from stdin, one per line (ARGS is a JSON array):
//!
//! ```text
//! emit NAMESPACE EVENT ARGS
//! emitack TAG NAMESPACE EVENT ARGS     (the ack is printed with TAG; 5 s timeout)
//! ack N ARGS                           (answers the event printed with "ack":N)
//! connect NAMESPACE [AUTH_JSON]
//! disconnect NAMESPACE
//! close
//! ```
//!
//! Binary data is written `{"$bin":"<hex>"}`, both ways. At the end of stdin
//! (or after `close`) it closes the client and exits 0 once it has.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use socketwire_tokio::socketio::{
    AckResponder, Backoff, Client, ClientConfig, DisconnectReason, EngineIoVersion, Event, Parser,
    Socket, SocketIoVersion, Transport, Value,
};
use tokio::io::{AsyncBufReadExt, BufReader};

const USAGE: &str = "usage: socketio_client URL [--namespace /x] [--auth JSON] \
[--path /socket.io/] [--reconnect-delay MS] [--no-reconnect] [--eio 3] [--polling | --upgrade] \
[--parser json|msgpack]";

/// How long `emitack` waits.
const ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// `json` or `msgpack`.
fn parse_parser(name: Option<&str>) -> Result<Parser, String> {
    match name {
        Some("json") => Ok(Parser::Json),
        Some("msgpack") => Ok(Parser::Msgpack),
        _ => Err("--parser needs json or msgpack".into()),
    }
}

fn parse_args() -> Result<(String, ClientConfig), String> {
    let mut args = std::env::args().skip(1);
    let mut url = match args.next() {
        Some(help) if help == "-h" || help == "--help" => {
            println!("{USAGE}");
            std::process::exit(0);
        }
        Some(url) if !url.starts_with('-') => url,
        _ => return Err("the first argument is the server URL".into()),
    };
    let mut namespace = None;
    let mut config = ClientConfig::default();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--namespace" => namespace = Some(args.next().ok_or("--namespace needs a value")?),
            "--auth" => {
                let json = args.next().ok_or("--auth needs JSON")?;
                config.auth = Some(Value::from_json_str(&json).map_err(|e| e.to_string())?);
            }
            "--path" => config.path = args.next().ok_or("--path needs a value")?,
            "--reconnect-delay" => {
                let ms: u64 = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("--reconnect-delay needs milliseconds")?;
                let base = Duration::from_millis(ms);
                config.reconnection = Some(Backoff::new(base, base * 5, 0.5, None));
            }
            "--no-reconnect" => config.reconnection = None,
            "--polling" => config.transport = Transport::Polling,
            "--upgrade" => config.transport = Transport::PollingThenWebSocket,
            "--eio" => match args.next().as_deref() {
                // Engine.IO 3 carries Socket.IO v4 (socket.io 2.x).
                Some("3") => {
                    config.engineio_version = EngineIoVersion::V3;
                    config.session.decoder.version = SocketIoVersion::V4;
                }
                Some("4") => {}
                _ => return Err("--eio needs 3 or 4".into()),
            },
            "--parser" => {
                config = config.with_parser(parse_parser(args.next().as_deref())?);
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if let Some(namespace) = namespace {
        url = format!("{}{namespace}", url.trim_end_matches('/'));
    }
    Ok((url, config))
}

/// `{"$bin":"hex"}` objects become bytes.
fn from_wire_json(value: Value) -> Value {
    match value {
        Value::Object(pairs) => {
            if let [(key, Value::String(hex))] = pairs.as_slice()
                && key == "$bin"
                && let Some(bytes) = decode_hex(hex)
            {
                return Value::Bytes(bytes);
            }
            Value::Object(
                pairs
                    .into_iter()
                    .map(|(k, v)| (k, from_wire_json(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(from_wire_json).collect()),
        other => other,
    }
}

/// Bytes become `{"$bin":"hex"}`.
fn to_wire_json(value: &Value) -> Value {
    match value {
        Value::Bytes(bytes) => {
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            Value::Object(vec![("$bin".into(), Value::String(hex))])
        }
        Value::Array(items) => Value::Array(items.iter().map(to_wire_json).collect()),
        Value::Object(pairs) => Value::Object(
            pairs
                .iter()
                .map(|(k, v)| (k.clone(), to_wire_json(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn decode_hex(hex: &str) -> Option<Bytes> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()
        .map(Bytes::from)
}

fn json_string(text: &str) -> String {
    Value::from(text).to_json_string()
}

fn args_json(args: &[Value]) -> String {
    Value::Array(args.iter().map(to_wire_json).collect()).to_json_string()
}

fn parse_args_json(text: &str) -> Result<Vec<Value>, String> {
    match from_wire_json(Value::from_json_str(text).map_err(|e| e.to_string())?) {
        Value::Array(items) => Ok(items),
        _ => Err("ARGS must be a JSON array".into()),
    }
}

fn reason_name(reason: &DisconnectReason) -> &'static str {
    // socket.io-client's reason strings.
    match reason {
        DisconnectReason::ServerDisconnect => "io server disconnect",
        DisconnectReason::ClientDisconnect => "io client disconnect",
        DisconnectReason::TransportClose => "transport close",
        DisconnectReason::ProtocolError(_) => "parse error",
        _ => "transport error",
    }
}

fn print_error(message: &str) {
    println!(r#"{{"type":"error","message":{}}}"#, json_string(message));
}

/// The state the command reader needs.
struct Cli {
    client: Client,
    sockets: HashMap<String, Socket>,
    acks: HashMap<u64, AckResponder>,
    next_ack: u64,
}

impl Cli {
    fn socket(&self, namespace: &str) -> Result<&Socket, String> {
        self.sockets
            .get(namespace)
            .ok_or_else(|| format!("namespace {namespace} was not connected (use `connect`)"))
    }

    fn command(&mut self, line: &str) -> Result<(), String> {
        let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
        match verb {
            "emit" => {
                let mut parts = rest.splitn(3, ' ');
                let (Some(namespace), Some(event), Some(args)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    return Err("usage: emit NAMESPACE EVENT ARGS".into());
                };
                let args = parse_args_json(args)?;
                self.socket(namespace)?
                    .emit(event, args)
                    .map_err(|e| e.to_string())
            }
            "emitack" => {
                let mut parts = rest.splitn(4, ' ');
                let (Some(tag), Some(namespace), Some(event), Some(args)) =
                    (parts.next(), parts.next(), parts.next(), parts.next())
                else {
                    return Err("usage: emitack TAG NAMESPACE EVENT ARGS".into());
                };
                let args = parse_args_json(args)?;
                let pending = self
                    .socket(namespace)?
                    .emit_with_ack(event, args, ACK_TIMEOUT)
                    .map_err(|e| e.to_string())?;
                let tag = json_string(tag);
                tokio::spawn(async move {
                    match pending.await {
                        Ok(args) => {
                            println!(
                                r#"{{"type":"ack","tag":{tag},"args":{}}}"#,
                                args_json(&args)
                            );
                        }
                        Err(e) => println!(
                            r#"{{"type":"ack_error","tag":{tag},"error":{}}}"#,
                            json_string(&e.to_string())
                        ),
                    }
                });
                Ok(())
            }
            "ack" => {
                let (n, args) = rest.split_once(' ').unwrap_or((rest, "[]"));
                let n: u64 = n.parse().map_err(|_| "usage: ack N ARGS")?;
                let responder = self.acks.remove(&n).ok_or("no such ack")?;
                responder
                    .send(parse_args_json(args)?)
                    .map_err(|e| e.to_string())
            }
            "connect" => {
                let (namespace, auth) = rest.split_once(' ').unwrap_or((rest, ""));
                let auth = match auth.trim() {
                    "" => None,
                    json => Some(Value::from_json_str(json).map_err(|e| e.to_string())?),
                };
                let socket = self.client.of(namespace, auth).map_err(|e| e.to_string())?;
                self.sockets.insert(namespace.to_string(), socket);
                Ok(())
            }
            "disconnect" => self.socket(rest)?.disconnect().map_err(|e| e.to_string()),
            "close" => {
                self.client.close();
                Ok(())
            }
            "" => Ok(()),
            other => Err(format!("unknown command {other:?}")),
        }
    }

    /// Prints an event; returns `false` after the last one.
    fn event(&mut self, event: Event) -> bool {
        match event {
            Event::Connected { namespace, sid } => println!(
                r#"{{"type":"connect","namespace":{},"sid":{}}}"#,
                json_string(&namespace),
                sid.as_deref().map_or("null".into(), json_string)
            ),
            Event::ConnectError { namespace, data } => println!(
                r#"{{"type":"connect_error","namespace":{},"data":{}}}"#,
                json_string(&namespace),
                to_wire_json(&data).to_json_string()
            ),
            Event::Message {
                namespace,
                name,
                args,
                ack,
            } => {
                let ack = ack.map_or("null".to_string(), |responder| {
                    self.next_ack += 1;
                    self.acks.insert(self.next_ack, responder);
                    self.next_ack.to_string()
                });
                println!(
                    r#"{{"type":"event","namespace":{},"name":{},"args":{},"ack":{ack}}}"#,
                    json_string(&namespace),
                    json_string(&name),
                    args_json(&args)
                );
            }
            Event::Disconnected { namespace, reason } => println!(
                r#"{{"type":"disconnect","namespace":{},"reason":{}}}"#,
                json_string(&namespace),
                json_string(reason_name(&reason))
            ),
            Event::Reconnecting { attempt, .. } => {
                println!(r#"{{"type":"reconnecting","attempt":{attempt}}}"#);
            }
            Event::Closed { gave_up } => {
                println!(r#"{{"type":"closed","gave_up":{gave_up}}}"#);
                return false;
            }
            _ => {}
        }
        true
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let (url, config) = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}\n{USAGE}");
            std::process::exit(2);
        }
    };
    let client = match Client::connect(&url, config) {
        Ok(client) => client,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let main_socket = client.socket().clone();
    let mut cli = Cli {
        client,
        sockets: HashMap::from([(main_socket.namespace().to_string(), main_socket)]),
        acks: HashMap::new(),
        next_ack: 0,
    };
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    loop {
        tokio::select! {
            line = stdin.next_line(), if stdin_open => match line {
                Ok(Some(line)) => {
                    if let Err(message) = cli.command(line.trim_end()) {
                        print_error(&message);
                    }
                }
                _ => {
                    stdin_open = false;
                    cli.client.close();
                }
            },
            event = cli.client.next() => match event {
                Some(event) => {
                    if !cli.event(event) {
                        break;
                    }
                }
                None => break,
            },
        }
    }
}
