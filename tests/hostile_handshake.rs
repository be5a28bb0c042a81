//! Hostile peers against the opening handshake's request parser, through its
//! public API only: every bound stated on its test and proved by counting
//! (bytes the parser holds, allocation calls and the bytes they asked for
//! through a per-thread counting allocator), never by wall clock. That each
//! byte is scanned once is proved inside the crate (the parser's
//! `byte_at_a_time_scan_is_linear` unit test counts the bytes scanned).
#![cfg(feature = "handshake")]

use bytes::BytesMut;
use socketwire::Status;
use socketwire::handshake::{
    ClientHandshake, ClientRequest, HandshakeError, HeaderLimits, HeaderSlots, RequestParser,
    ServerHandshake,
};

mod counting_alloc;
use counting_alloc::{heap_growth, heap_traffic};

/// The default cap on a head's bytes.
const CAP: usize = HeaderLimits::DEFAULT.max_header_bytes;

/// A valid upgrade request of `fillers` extra header fields, each `value_len`
/// bytes of value, ending with its blank line.
fn upgrade_request(fillers: usize, value_len: usize) -> Vec<u8> {
    let mut r = b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
        Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
        Sec-WebSocket-Version: 13\r\n"
        .to_vec();
    for i in 0..fillers {
        r.extend_from_slice(format!("X-Filler-{i:02}: ").as_bytes());
        r.extend(std::iter::repeat_n(b'v', value_len));
        r.extend_from_slice(b"\r\n");
    }
    r.extend_from_slice(b"\r\n");
    r
}

/// A request just under the cap: 6 upgrade fields and 55 fillers of ~290 bytes.
fn request_near_the_cap() -> Vec<u8> {
    let request = upgrade_request(55, 274);
    assert!(
        request.len() > CAP - 400 && request.len() <= CAP,
        "{}",
        request.len()
    );
    request
}

/// Bound: a head fed one byte at a time costs work linear in its size
/// (tungstenite CVE-2023-43669 re-parsed the growing head: quadratic). Owned
/// entry point: the parser holds exactly the bytes fed so far (never more than
/// the cap), and the whole feed takes at most 2·log2(len) + 8 allocation calls
/// asking for at most 6 × len bytes in all (the held buffer's doublings, then
/// one copy of the head); re-copying per byte would ask for ~len²/2. Borrowed
/// entry point, over the caller's growing buffer: no allocation at all.
#[test]
fn request_fed_one_byte_at_a_time_costs_linear_work() {
    let request = request_near_the_cap();
    let len = request.len();
    let (last, body) = request.split_last().unwrap();

    let mut parser = RequestParser::new();
    let mut most_held = 0;
    let (head, calls, bytes) = heap_traffic(|| {
        for (fed, &byte) in body.iter().enumerate() {
            assert_eq!(parser.handle_input(&[byte]), Ok(Status::Partial));
            assert_eq!(parser.buffered_len(), fed + 1);
            most_held = most_held.max(parser.buffered_len());
        }
        parser.handle_input(&[*last]).unwrap().complete().unwrap()
    });
    assert!(most_held < CAP);
    assert_eq!(
        parser.buffered_len(),
        0,
        "nothing held once the head is out"
    );
    let log2 = usize::BITS - len.leading_zeros();
    println!("{len}-byte head a byte at a time: {calls} allocations, {bytes} B asked for");
    assert!(
        calls <= 2 * log2 as usize + 8,
        "{calls} allocation calls for {len} bytes"
    );
    assert!(bytes <= 6 * len, "{bytes} bytes allocated for {len}");
    let handshake = ServerHandshake::new(head).expect("a valid upgrade");
    let mut out = BytesMut::new();
    handshake
        .write_accept(&Default::default(), &mut out)
        .unwrap();
    assert!(out.starts_with(b"HTTP/1.1 101 "));

    // Borrowed: the caller's buffer grows, the parser allocates nothing.
    let mut buffer = Vec::with_capacity(len);
    let mut parser = RequestParser::new();
    let ((), calls, _) = heap_traffic(|| {
        for &byte in body {
            buffer.push(byte);
            let mut slots = HeaderSlots::new();
            assert_eq!(
                parser.parse_borrowed(&buffer, &mut slots),
                Ok(Status::Partial)
            );
        }
        buffer.push(*last);
        let mut slots = HeaderSlots::new();
        let head = parser.parse_borrowed(&buffer, &mut slots).unwrap();
        assert!(head.is_complete());
    });
    println!("borrowed, a byte at a time: {calls} allocations");
    assert_eq!(calls, 0, "the borrowed parser allocated");
}

/// Bound: a head one byte over the cap (16 KiB by default) is refused with
/// `HeadTooLarge`, answered 431, as soon as the cap is reached without its
/// end, whether it comes whole or a byte at a time; the parser never holds
/// more than the cap, and a flood of 1 MiB after a partial head adds nothing
/// past it (the heap grows by less than 2 × the cap). A head exactly at the
/// cap is accepted. One header field over `max_headers` (64) is a 431 too.
#[test]
fn header_block_just_over_the_cap_is_431() {
    let fits = request_near_the_cap();
    let pad = CAP - fits.len();
    // Lengthen the first filler so the head is exactly CAP, then CAP + 1.
    let at = fits.windows(4).position(|w| w == b"vvvv").unwrap();
    let sized = |extra: usize| {
        let mut r = fits.clone();
        r.splice(at..at, std::iter::repeat_n(b'v', extra));
        r
    };
    let exact = sized(pad);
    let over = sized(pad + 1);
    assert_eq!((exact.len(), over.len()), (CAP, CAP + 1));

    let too_large = HandshakeError::HeadTooLarge { max: CAP };
    assert!(
        RequestParser::new()
            .handle_input(&exact)
            .unwrap()
            .is_complete()
    );
    assert_eq!(
        RequestParser::new().handle_input(&over),
        Err(too_large.clone())
    );
    assert_eq!(too_large.status(), 431);
    let mut reply = BytesMut::new();
    too_large.write_response(&mut reply);
    assert!(reply.starts_with(b"HTTP/1.1 431 "), "{reply:?}");

    // A byte at a time: Partial up to the cap, refused at the cap.
    let mut parser = RequestParser::new();
    let mut refused_at = None;
    for (i, &byte) in over.iter().enumerate() {
        match parser.handle_input(&[byte]) {
            Ok(Status::Partial) => assert!(parser.buffered_len() <= CAP),
            Err(error) => {
                assert_eq!(error, too_large);
                refused_at = Some(i + 1);
                break;
            }
            Ok(Status::Complete(_)) => panic!("a head over the cap was accepted"),
        }
    }
    assert_eq!(refused_at, Some(CAP));
    assert_eq!(parser.buffered_len(), 0);

    // A partial head, then a 1 MiB flood with no blank line.
    let flood = vec![b'a'; 1 << 20];
    let mut parser = RequestParser::new();
    let (result, peak, _) = heap_growth(|| {
        assert_eq!(
            parser.handle_input(b"GET / HTTP/1.1\r\nX: "),
            Ok(Status::Partial)
        );
        parser.handle_input(&flood)
    });
    assert_eq!(result, Err(too_large));
    println!("partial head + 1 MiB flood: heap peak {peak} B");
    assert!(peak < 2 * CAP as isize, "heap grew by {peak}");

    // 65 header fields, well under the byte cap.
    let many = upgrade_request(60, 1);
    let result = RequestParser::new().handle_input(&many);
    let Err(error) = result else {
        panic!("65 fields accepted")
    };
    assert_eq!(error, HandshakeError::TooManyHeaders { max: 64 });
    assert_eq!(error.status(), 431);
}

/// Bound: a hostile server's response head that never ends is refused by the
/// client with `HeadTooLarge` once its cap is reached, fed in 4 KiB reads or a
/// byte at a time: 1 MiB of it grows the heap by less than 2 × the cap, and
/// the byte-at-a-time feed is refused no later than the cap-th byte.
#[test]
fn endless_response_head_is_refused_at_the_cap() {
    let mut endless = b"HTTP/1.1 101 Switching Protocols\r\nX-Filler: ".to_vec();
    endless.resize(1 << 20, b'a');
    let client = || ClientHandshake::new(&ClientRequest::new("example.com", "/", [7; 16])).unwrap();

    let mut reads = client();
    let (refused, peak, _) = heap_growth(|| {
        endless
            .chunks(4096)
            .find_map(|read| reads.handle_input(read).err())
    });
    let Some(HandshakeError::HeadTooLarge { max }) = refused else {
        panic!("{refused:?}")
    };
    println!("client, endless response head: refused at cap {max}, heap peak {peak} B");
    assert!(max <= CAP, "{max}");
    assert!(peak < 2 * max as isize, "heap grew by {peak}");

    let mut bytes = client();
    let refused_at = endless
        .iter()
        .position(|byte| bytes.handle_input(std::slice::from_ref(byte)).is_err());
    assert_eq!(refused_at.map(|i| i + 1), Some(max));
}
