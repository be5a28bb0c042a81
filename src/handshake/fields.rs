//! Where a request's header fields are: the owned head's one-allocation table
//! ([`HeaderBlock`]) and the index of the fields RFC 6455 §4.2.1 looks at
//! ([`HandshakeFieldIndex`]).

use alloc::vec::Vec;

use super::tokens::{KnownName, trim_ows};

/// Where one header field sits in the head's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FieldSpan {
    pub(super) name: (usize, usize),
    pub(super) value: (usize, usize),
}

/// Bytes of one field's entry in a [`HeaderBlock`] table: four native-endian offsets.
const OFFSET_BYTES: usize = core::mem::size_of::<usize>();
const FIELD_ENTRY_BYTES: usize = 4 * OFFSET_BYTES;

/// The text of a head and where its header fields are, in one allocation: the text,
/// then a table with one entry per field (name start, name end, value start, value
/// end, as offsets into the text).
///
/// Every span in the table, and every span handed to [`HeaderBlock::slice`], was taken
/// from the text when the block was built, so it is in bounds and (for names, the
/// method and the target) on UTF-8 boundaries: the checked accessors below cannot
/// fail, and say so with a `debug_assert!`.
#[derive(Debug, Clone, Default)]
pub(crate) struct HeaderBlock {
    storage: Vec<u8>,
    text_len: usize,
}

impl HeaderBlock {
    /// Copies `text` and the spans of the fields httparse found in it.
    /// Also records in `index` where the handshake's fields are.
    pub(super) fn from_parsed(
        text: &[u8],
        headers: &[httparse::Header<'_>],
        index: &mut HandshakeFieldIndex,
    ) -> HeaderBlock {
        let table_len = headers.len().saturating_mul(FIELD_ENTRY_BYTES);
        let mut storage = Vec::with_capacity(text.len().saturating_add(table_len));
        storage.extend_from_slice(text);
        for (at, header) in headers.iter().enumerate() {
            index.record(at, header.name.as_bytes());
            let name = span_of(text, header.name.as_bytes());
            let value = span_of(text, header.value);
            push_entry(&mut storage, FieldSpan { name, value });
        }
        HeaderBlock {
            storage,
            text_len: text.len(),
        }
    }

    /// A block holding the `texts` (a start line's parts: method and target, or the
    /// reason phrase; their spans are returned) and then the header fields given as
    /// (name, value), values without their leading and trailing OWS, as a parser
    /// would have read them. Also records in `index` where the handshake's fields are.
    pub(super) fn from_fields<N, V, const T: usize>(
        texts: [&[u8]; T],
        headers: impl IntoIterator<Item = (N, V)>,
        index: &mut HandshakeFieldIndex,
    ) -> (HeaderBlock, [(usize, usize); T])
    where
        N: AsRef<str>,
        V: AsRef<[u8]>,
    {
        /// Bytes of a typical field's name and value, to size the block up front.
        const TYPICAL_FIELD_BYTES: usize = 32;
        /// Most fields the block is sized for before they arrive (an iterator's hint
        /// is not a promise).
        const MOST_EXPECTED_FIELDS: usize = 256;
        let headers = headers.into_iter();
        let expected_fields = headers.size_hint().0.min(MOST_EXPECTED_FIELDS);
        let texts_len: usize = texts.iter().map(|text| text.len()).sum();
        let mut raw = Vec::with_capacity(texts_len.saturating_add(
            expected_fields.saturating_mul(TYPICAL_FIELD_BYTES + FIELD_ENTRY_BYTES),
        ));
        let push = |raw: &mut Vec<u8>, bytes: &[u8]| {
            let start = raw.len();
            raw.extend_from_slice(bytes);
            (start, raw.len())
        };
        let spans = texts.map(|text| push(&mut raw, text));
        let mut fields: Vec<FieldSpan> = Vec::with_capacity(expected_fields);
        fields.extend(headers.enumerate().map(|(at, (n, v))| {
            let name = n.as_ref().as_bytes();
            index.record(at, name);
            FieldSpan {
                name: push(&mut raw, name),
                value: push(&mut raw, trim_ows(v.as_ref())),
            }
        }));
        (HeaderBlock::from_text_and_spans(raw, &fields), spans)
    }

    /// Appends the table for `spans` (offsets into `text`) to `text`.
    fn from_text_and_spans(mut text: Vec<u8>, spans: &[FieldSpan]) -> HeaderBlock {
        let text_len = text.len();
        text.reserve_exact(spans.len().saturating_mul(FIELD_ENTRY_BYTES));
        for &span in spans {
            push_entry(&mut text, span);
        }
        HeaderBlock {
            storage: text,
            text_len,
        }
    }

    pub(super) fn text(&self) -> &[u8] {
        self.storage.get(..self.text_len).unwrap_or_default()
    }

    /// The bytes at `span`, one the block recorded.
    pub(super) fn slice(&self, (a, b): (usize, usize)) -> &[u8] {
        let bytes = self.text().get(a..b);
        debug_assert!(bytes.is_some(), "span {a}..{b} outside the head's text");
        bytes.unwrap_or_default()
    }

    /// The text at `span`, one the block recorded from a `&str`.
    pub(super) fn str(&self, span: (usize, usize)) -> &str {
        let text = core::str::from_utf8(self.slice(span));
        debug_assert!(
            text.is_ok(),
            "span {span:?} is not the UTF-8 it was made from"
        );
        text.unwrap_or_default()
    }

    fn table(&self) -> &[u8] {
        self.storage.get(self.text_len..).unwrap_or_default()
    }

    /// Number of header fields.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.table().len() / FIELD_ENTRY_BYTES
    }

    /// The value of the field at `index`.
    pub(super) fn value(&self, index: usize) -> Option<&[u8]> {
        let start = index.checked_mul(FIELD_ENTRY_BYTES)?;
        let entry = self
            .table()
            .get(start..start.checked_add(FIELD_ENTRY_BYTES)?)?;
        Some(self.slice(read_entry(entry).value))
    }
}

impl FieldList for HeaderBlock {
    fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.table().chunks_exact(FIELD_ENTRY_BYTES).map(|entry| {
            let span = read_entry(entry);
            (self.str(span.name), self.slice(span.value))
        })
    }

    fn raw_fields(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.table().chunks_exact(FIELD_ENTRY_BYTES).map(|entry| {
            let span = read_entry(entry);
            (self.slice(span.name), self.slice(span.value))
        })
    }
}

/// A head's header fields, in order, wherever they live: what the accessors that
/// [`header_accessors!`] writes read.
pub trait FieldList {
    /// Every field as (name, value), in order.
    fn headers(&self) -> impl Iterator<Item = (&str, &[u8])>;

    /// Every field as (name, value) bytes, in order.
    fn raw_fields(&self) -> impl Iterator<Item = (&[u8], &[u8])>;

    /// The values of the fields named `name` (ASCII case-insensitive), in order.
    fn values_named<'h>(&'h self, name: &str) -> impl Iterator<Item = &'h [u8]> {
        self.raw_fields()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }
}

/// Writes the header-field accessors of a head type, once for [`RequestHead`] and
/// [`ResponseHead`]: `$fields` names the struct field that holds its [`FieldList`],
/// and `$head` is a hidden doc-test line that binds `head` to a head whose fields
/// end with `X: 1` and `x: 2`.
///
/// [`RequestHead`]: super::RequestHead
/// [`ResponseHead`]: super::ResponseHead
macro_rules! header_accessors {
    ($fields:ident, $head:literal) => {
        /// All header fields as (name, value), in order, repeats included.
        ///
        /// ```
        #[doc = $head]
        /// assert!(head.headers().any(|field| field == ("x", &b"2"[..])));
        /// ```
        pub fn headers(&self) -> impl Iterator<Item = (&str, &[u8])> {
            super::fields::FieldList::headers(&self.$fields)
        }

        /// The value of the first header named `name` (ASCII case-insensitive).
        ///
        /// ```
        #[doc = $head]
        /// assert_eq!(head.header("x"), Some(&b"1"[..]));
        /// assert_eq!(head.header("origin"), None);
        /// ```
        pub fn header(&self, name: &str) -> Option<&[u8]> {
            self.header_values(name).next()
        }

        /// The values of every header named `name` (ASCII case-insensitive), in order.
        ///
        /// ```
        #[doc = $head]
        /// assert!(head.header_values("X").eq([&b"1"[..], b"2"]));
        /// ```
        pub fn header_values<'h>(&'h self, name: &str) -> impl Iterator<Item = &'h [u8]> {
            super::fields::FieldList::values_named(&self.$fields, name)
        }
    };
}
pub(super) use header_accessors;

fn push_entry(storage: &mut Vec<u8>, span: FieldSpan) {
    let mut entry = [0; FIELD_ENTRY_BYTES];
    write_entry(&mut entry, span);
    storage.extend_from_slice(&entry);
}

/// Writes `span` into `entry` (`FIELD_ENTRY_BYTES` long).
#[inline]
fn write_entry(entry: &mut [u8], span: FieldSpan) {
    let offsets = [span.name.0, span.name.1, span.value.0, span.value.1];
    for (slot, offset) in entry.chunks_exact_mut(OFFSET_BYTES).zip(offsets) {
        slot.copy_from_slice(&offset.to_ne_bytes());
    }
}

/// Reads back an entry written by `push_entry` (`entry` is `FIELD_ENTRY_BYTES` long).
fn read_entry(entry: &[u8]) -> FieldSpan {
    let offset = |i: usize| {
        entry
            .get(i * OFFSET_BYTES..(i + 1) * OFFSET_BYTES)
            .and_then(|b| <[u8; OFFSET_BYTES]>::try_from(b).ok())
            .map_or(0, usize::from_ne_bytes)
    };
    FieldSpan {
        name: (offset(0), offset(1)),
        value: (offset(2), offset(3)),
    }
}

/// The request header fields that RFC 6455 §4.2.1 looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HandshakeField {
    Host,
    Origin,
    Upgrade,
    Connection,
    Key,
    Version,
    Protocol,
    Extensions,
}

impl HandshakeField {
    const COUNT: usize = 8;
    const ALL: [HandshakeField; HandshakeField::COUNT] = [
        HandshakeField::Host,
        HandshakeField::Origin,
        HandshakeField::Upgrade,
        HandshakeField::Connection,
        HandshakeField::Key,
        HandshakeField::Version,
        HandshakeField::Protocol,
        HandshakeField::Extensions,
    ];
    /// The names, in the order of [`HandshakeField::ALL`].
    const NAMES: [KnownName; HandshakeField::COUNT] = [
        KnownName::new(b"host"),
        KnownName::new(b"origin"),
        KnownName::new(b"upgrade"),
        KnownName::new(b"connection"),
        KnownName::new(b"sec-websocket-key"),
        KnownName::new(b"sec-websocket-version"),
        KnownName::new(b"sec-websocket-protocol"),
        KnownName::new(b"sec-websocket-extensions"),
    ];
    /// The position in [`HandshakeField::ALL`] of the one name of each length
    /// (the eight names all have different lengths), `u8::MAX` for none.
    const BY_LENGTH: [u8; 32] = {
        let mut table = [u8::MAX; 32];
        let mut kind = 0;
        while kind < HandshakeField::COUNT {
            let len = HandshakeField::NAMES[kind].len();
            assert!(table[len] == u8::MAX, "two names of the same length");
            #[allow(clippy::cast_possible_truncation)] // kind < 8
            {
                table[len] = kind as u8;
            }
            kind += 1;
        }
        table
    };

    /// Which handshake field `name` names, ignoring ASCII case: its position in
    /// [`HandshakeField::ALL`]. The length picks the one candidate to compare.
    #[inline]
    fn position_of(name: &[u8]) -> Option<usize> {
        let kind = usize::from(*HandshakeField::BY_LENGTH.get(name.len())?);
        HandshakeField::NAMES
            .get(kind)
            .is_some_and(|known| known.matches(name))
            .then_some(kind)
    }

    /// Which handshake field `name` names, ignoring ASCII case.
    #[inline]
    pub(crate) fn of(name: &[u8]) -> Option<HandshakeField> {
        HandshakeField::ALL
            .get(HandshakeField::position_of(name)?)
            .copied()
    }
}

/// Where the [`HandshakeField`]s are among a request's header fields, recorded while
/// the head is built so that validating an upgrade needs no second pass over all the
/// fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandshakeFieldIndex {
    /// Index of the first field of each kind; `NONE` if absent.
    first: [u16; HandshakeField::COUNT],
    /// Fields of each kind, saturating; `u8::MAX` also when an index does not fit.
    count: [u8; HandshakeField::COUNT],
}

impl Default for HandshakeFieldIndex {
    fn default() -> Self {
        HandshakeFieldIndex {
            first: [HandshakeFieldIndex::NONE; HandshakeField::COUNT],
            count: [0; HandshakeField::COUNT],
        }
    }
}

impl HandshakeFieldIndex {
    const NONE: u16 = u16::MAX;

    /// Records that the field at `index` is named `name`.
    #[inline]
    pub(super) fn record(&mut self, index: usize, name: &[u8]) {
        let Some(kind) = HandshakeField::position_of(name) else {
            return;
        };
        match u16::try_from(index) {
            Ok(at) if at != HandshakeFieldIndex::NONE => {
                if self.count[kind] == 0 {
                    self.first[kind] = at;
                }
                self.count[kind] = self.count[kind].saturating_add(1);
            }
            // Beyond what the index holds: mark it so that users take the full scan.
            _ => self.count[kind] = u8::MAX,
        }
    }

    /// `true` if no handshake field appears more than once.
    pub(crate) fn each_at_most_once(&self) -> bool {
        self.count.iter().all(|&c| c <= 1)
    }

    /// Every kind recorded, with the index of its first field: (at, which).
    pub(crate) fn recorded(&self) -> impl Iterator<Item = (usize, HandshakeField)> {
        HandshakeField::ALL
            .into_iter()
            .filter_map(|field| Some((self.first(field)?, field)))
    }

    /// The index of the first field of kind `field`, if any.
    pub(crate) fn first(&self, field: HandshakeField) -> Option<usize> {
        let at = self.first[field as usize];
        (at != HandshakeFieldIndex::NONE).then_some(usize::from(at))
    }
}

/// Where `part` (a subslice of `base`) sits in `base`, as (start, end) offsets.
pub(super) fn span_of(base: &[u8], part: &[u8]) -> (usize, usize) {
    let start = (part.as_ptr() as usize).wrapping_sub(base.as_ptr() as usize);
    (start, start + part.len())
}
