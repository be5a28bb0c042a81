//! What the two sessions share: turning reassembled packets into owned
//! packets with [`Value`] data, and the table of acks awaited with deadlines.

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::time::Duration;

use super::binary::{Reassembled, Reassembler};
use super::error::Error;
use super::packet::PacketType;
use super::value::Value;

/// One complete incoming packet, owned, binary types folded into EVENT/ACK.
pub(crate) struct IncomingPacket {
    pub(crate) kind: PacketType,
    pub(crate) namespace: String,
    pub(crate) id: Option<u64>,
    pub(crate) data: Option<Value>,
}

/// Feeds one text message; `Ok(None)` while attachments are awaited.
pub(crate) fn incoming_text(
    reassembler: &mut Reassembler,
    text: &str,
) -> Result<Option<IncomingPacket>, Error> {
    let (reassembled, data) = reassembler.handle_text_value(text)?;
    Ok(match reassembled {
        Reassembled::Text(packet) => Some(IncomingPacket {
            kind: packet.kind,
            namespace: packet.namespace.into(),
            id: packet.id,
            data,
        }),
        Reassembled::Binary(packet) => Some(IncomingPacket {
            kind: packet.kind.without_binary(),
            namespace: packet.namespace,
            id: packet.id,
            data: Some(packet.data),
        }),
        Reassembled::Pending => None,
    })
}

/// Feeds one binary message.
pub(crate) fn incoming_binary(
    reassembler: &mut Reassembler,
    data: bytes::Bytes,
) -> Result<Option<IncomingPacket>, Error> {
    Ok(reassembler
        .handle_binary(data)?
        .map(|packet| IncomingPacket {
            kind: packet.kind.without_binary(),
            namespace: packet.namespace,
            id: packet.id,
            data: Some(packet.data),
        }))
}

/// Splits EVENT data `[name, ...args]`. Numeric names become their decimal
/// text (JS event emitters key listeners by string). `None` if there is no
/// usable name (only reachable with lenient decoding).
pub(crate) fn split_event(data: Option<Value>) -> Option<(String, Vec<Value>)> {
    let Some(Value::Array(mut items)) = data else {
        return None;
    };
    if items.is_empty() {
        return None;
    }
    let name = match items.remove(0) {
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    Some((name, items))
}

/// ACK data `[...args]` (empty when missing).
pub(crate) fn ack_args(data: Option<Value>) -> Vec<Value> {
    match data {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    }
}

/// Acks this side is waiting for: id → (namespace, deadline).
#[derive(Debug, Default)]
pub(crate) struct AckTable {
    next_id: u64,
    waiting: BTreeMap<u64, (String, Duration)>,
}

impl AckTable {
    pub(crate) fn register(&mut self, namespace: &str, deadline: Duration) -> u64 {
        let id = self.next_id;
        // Ids stay below 2^53 (JS number precision); wrapping after 2^53 acks.
        self.next_id = (self.next_id + 1) & super::packet::MAX_ACK_ID;
        self.waiting.insert(id, (namespace.into(), deadline));
        id
    }

    /// Removes and reports whether `id` was awaited on `namespace`.
    pub(crate) fn complete(&mut self, namespace: &str, id: u64) -> bool {
        match self.waiting.get(&id) {
            Some((ns, _)) if ns == namespace => {
                self.waiting.remove(&id);
                true
            }
            _ => false,
        }
    }

    pub(crate) fn next_deadline(&self) -> Option<Duration> {
        self.waiting.values().map(|(_, d)| *d).min()
    }

    /// Removes every ack whose deadline is at or before `now`.
    pub(crate) fn expire(&mut self, now: Duration) -> Vec<(String, u64)> {
        let expired: Vec<u64> = self
            .waiting
            .iter()
            .filter(|(_, (_, d))| *d <= now)
            .map(|(id, _)| *id)
            .collect();
        expired
            .into_iter()
            .filter_map(|id| self.waiting.remove(&id).map(|(ns, _)| (ns, id)))
            .collect()
    }

    pub(crate) fn drop_namespace(&mut self, namespace: &str) -> Vec<u64> {
        let ids: Vec<u64> = self
            .waiting
            .iter()
            .filter(|(_, (ns, _))| ns == namespace)
            .map(|(id, _)| *id)
            .collect();
        for id in &ids {
            self.waiting.remove(id);
        }
        ids
    }
}

/// `true` if `namespace` can be written in a packet header.
pub(crate) fn is_valid_namespace(namespace: &str) -> bool {
    namespace.starts_with('/') && !namespace.contains(',')
}
