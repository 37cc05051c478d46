//! `Sec-WebSocket-Accept` (RFC 6455 §1.3, §4.2.2) and `Sec-WebSocket-Key` validation
//! (RFC 6455 §4.1, §4.2.1 item 5), checked against an independent oracle: a SHA-1 written from
//! FIPS 180-4 §6.1 and a base64 encoder written from RFC 4648 §4, both in this file.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use crate::support::check_rows;
use crossguard::__internals::WEBSOCKET_GUID;
use crossguard::websocket::{accept_key, is_valid_key};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Oracle: SHA-1 (FIPS 180-4 §5.1.1 padding, §6.1.2 hash computation) and base64 (RFC 4648 §4).
// ---------------------------------------------------------------------------------------------

fn sha1(message: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let bit_len = (message.len() as u64).wrapping_mul(8);
    let mut padded = message.to_vec();
    padded.push(0x80);
    while padded.len() % 64 != 56 {
        padded.push(0);
    }
    padded.extend_from_slice(&bit_len.to_be_bytes());
    for block in padded.chunks_exact(64) {
        let mut w = [0u32; 80];
        for (t, word) in block.chunks_exact(4).enumerate() {
            w[t] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for t in 16..80 {
            w[t] = (w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (t, wt) in w.iter().enumerate() {
            let (f, k) = match t {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let temp = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wt);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = temp;
        }
        for (hi, v) in h.iter_mut().zip([a, b, c, d, e]) {
            *hi = hi.wrapping_add(v);
        }
    }
    let mut out = [0u8; 20];
    for (chunk, word) in out.chunks_exact_mut(4).zip(h) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for group in bytes.chunks(3) {
        let b0 = group[0];
        let b1 = group.get(1).copied().unwrap_or(0);
        let b2 = group.get(2).copied().unwrap_or(0);
        let n = (u32::from(b0) << 16) | (u32::from(b1) << 8) | u32::from(b2);
        let sextets = [(n >> 18) & 63, (n >> 12) & 63, (n >> 6) & 63, n & 63];
        for (i, s) in sextets.iter().enumerate() {
            if i <= group.len() {
                out.push(char::from(ALPHABET[*s as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// RFC 6455 §1.3: base64(SHA-1(key ++ "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")), written out
/// independently of the crate's constant.
fn reference_accept(key: &[u8]) -> String {
    let mut input = key.to_vec();
    input.extend_from_slice(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64(&sha1(&input))
}

/// RFC 6455 §4.1: the key is the base64 of 16 bytes, i.e. 22 alphabet characters then `==`.
/// The last 4 bits of the 22nd character are padding bits; the crate tolerates non-zero ones
/// (RFC 6455 only asks that the value decode to 16 bytes).
fn reference_is_valid_key(key: &[u8]) -> bool {
    let alphabet = |b: &u8| {
        b.is_ascii_uppercase()
            || b.is_ascii_lowercase()
            || b.is_ascii_digit()
            || *b == b'+'
            || *b == b'/'
    };
    key.len() == 24 && key.ends_with(b"==") && key[..22].iter().all(alphabet)
}

// ---------------------------------------------------------------------------------------------
// The oracle itself against published vectors.
// ---------------------------------------------------------------------------------------------

#[test]
fn oracle_sha1_matches_fips_180_vectors() {
    let million_a = vec![b'a'; 1_000_000];
    #[rustfmt::skip]
    let rows: &[(&str, &[u8], &str)] = &[
        ("FIPS 180-4 / NIST CSRC example: empty message", b"", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
        ("NIST CSRC SHA1 example: \"abc\" (one block)", b"abc", "a9993e364706816aba3e25717850c26c9cd0d89d"),
        ("NIST CSRC SHA1 example: 448-bit message (two blocks)", b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
        ("FIPS 180-2 appendix A.3: one million 'a'", &million_a, "34aa973cd4c4daa4f61eeb2bdbad27316534016f"),
    ];
    check_rows(rows, |(source, input, want)| {
        assert_eq!(hex(&sha1(input)), *want, "{source}");
    });
}

#[test]
fn oracle_base64_matches_rfc_4648_vectors() {
    #[rustfmt::skip]
    let rows: &[(&str, &str, &str)] = &[
        ("RFC 4648 §10", "", ""),
        ("RFC 4648 §10", "f", "Zg=="),
        ("RFC 4648 §10", "fo", "Zm8="),
        ("RFC 4648 §10", "foo", "Zm9v"),
        ("RFC 4648 §10", "foob", "Zm9vYg=="),
        ("RFC 4648 §10", "fooba", "Zm9vYmE="),
        ("RFC 4648 §10", "foobar", "Zm9vYmFy"),
        ("RFC 6455 §1.3: the sample nonce", "the sample nonce", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    check_rows(rows, |(source, input, want)| {
        assert_eq!(base64(input.as_bytes()), *want, "{source}: {input:?}");
    });
}

// ---------------------------------------------------------------------------------------------
// accept_key
// ---------------------------------------------------------------------------------------------

#[test]
fn accept_key_rfc_6455_vectors() {
    #[rustfmt::skip]
    let rows: &[(&str, &str, &str)] = &[
        ("RFC 6455 §1.3 and §4.2.2 item 5.4", "dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        ("RFC 6455 §1.3 (the same key, as the oracle computes it)", "dGhlIHNhbXBsZSBub25jZQ==", &reference_accept(b"dGhlIHNhbXBsZSBub25jZQ==")),
    ];
    check_rows(rows, |(source, key, want)| {
        let got = accept_key(key.as_bytes());
        assert_eq!(got.as_str(), *want, "{source}");
        assert_eq!(got.to_string(), *want, "{source}: Display");
        assert_eq!(got.to_header_value(), *want, "{source}: header value");
        assert_eq!(
            format!("{got:?}"),
            format!("AcceptKey({want:?})"),
            "{source}: Debug"
        );
    });
}

#[test]
fn websocket_guid_is_the_rfc_6455_constant() {
    // RFC 6455 §1.3.
    assert_eq!(WEBSOCKET_GUID, b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
}

#[test]
fn accept_key_hashes_the_key_as_received() {
    // RFC 6455 §4.2.2 item 5.4: the server concatenates the key *as received* (not decoded, not
    // trimmed) with the GUID. Keys differing only in whitespace or padding bits hash differently.
    #[rustfmt::skip]
    let rows: &[(&str, &str)] = &[
        ("RFC 6455 §4.2.2: as received, base64 text not decoded", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("RFC 6455 §4.2.2: non-zero padding bits are not normalised", "dGhlIHNhbXBsZSBub25jZR=="),
        ("RFC 6455 §4.2.2: leading whitespace is hashed too", " dGhlIHNhbXBsZSBub25jZQ=="),
        ("RFC 6455 §1.3: empty input", ""),
    ];
    check_rows(rows, |(source, key)| {
        assert_eq!(
            accept_key(key.as_bytes()).as_str(),
            reference_accept(key.as_bytes()),
            "{source}"
        );
    });
    assert_ne!(
        accept_key(b"dGhlIHNhbXBsZSBub25jZQ==").as_str(),
        accept_key(b"dGhlIHNhbXBsZSBub25jZR==").as_str(),
        "RFC 6455 §4.2.2: two different keys give two different accepts"
    );
}

proptest! {
    #[test]
    fn accept_key_matches_reference_for_any_bytes(key in proptest::collection::vec(any::<u8>(), 0..64)) {
        let got = accept_key(&key);
        prop_assert_eq!(got.as_str(), reference_accept(&key));
        prop_assert_eq!(got.as_str().len(), 28);
    }

    #[test]
    fn accept_key_matches_reference_for_random_nonces(nonce in any::<[u8; 16]>()) {
        // RFC 6455 §4.1 item 7: the client's key is a random 16-byte nonce, base64-encoded.
        let key = base64(&nonce);
        prop_assert!(is_valid_key(key.as_bytes()), "{key}");
        let got = accept_key(key.as_bytes());
        prop_assert_eq!(got.as_str(), reference_accept(key.as_bytes()));
    }

    #[test]
    fn is_valid_key_matches_reference_on_near_keys(
        body in "[A-Za-z0-9+/]{20,24}",
        suffix in prop::sample::select(vec!["==", "=", "===", "", "A=", "=A", " ", "==\t"]),
        noise in prop::option::of((0usize..24, "[-_=. !A-Za-z0-9]")),
    ) {
        // Mostly 22 alphabet characters + `==`, mutated by one character now and then.
        let mut key = format!("{body}{suffix}");
        if let Some((at, ch)) = noise {
            if at < key.len() {
                key.replace_range(at..=at, &ch);
            }
        }
        prop_assert_eq!(is_valid_key(key.as_bytes()), reference_is_valid_key(key.as_bytes()), "{:?}", key);
    }

    #[test]
    fn is_valid_key_matches_reference_on_any_bytes(key in proptest::collection::vec(any::<u8>(), 0..40)) {
        prop_assert_eq!(is_valid_key(&key), reference_is_valid_key(&key));
    }

    #[test]
    fn base64_of_other_lengths_is_not_a_key(nonce in proptest::collection::vec(any::<u8>(), 0..40)) {
        // RFC 6455 §4.2.1 item 5: "when decoded, is 16 bytes in length".
        let key = base64(&nonce);
        prop_assert_eq!(is_valid_key(key.as_bytes()), nonce.len() == 16, "{}", key);
    }
}

// ---------------------------------------------------------------------------------------------
// is_valid_key
// ---------------------------------------------------------------------------------------------

#[test]
fn is_valid_key_table() {
    #[rustfmt::skip]
    let rows: &[(&str, &str, bool)] = &[
        ("RFC 6455 §4.2.1 item 5: an empty key", "", false),
        ("RFC 6455 §4.1 item 7: base64 of a 12-byte nonce (16 chars)", "AAECAwQFBgcICQoL", false),
        ("RFC 6455 §4.1 item 7: base64 of a 20-byte nonce (28 chars)", "AAECAwQFBgcICQoLDA0ODxAREhM=", false),
        ("RFC 6455 §1.3: base64 of a 16-byte nonce", "dGhlIHNhbXBsZSBub25jZQ==", true),
        ("RFC 6455 §4.1 item 7: another 16-byte nonce (0..16)", "AAECAwQFBgcICQoLDA0ODw==", true),
        ("RFC 6455 §4.1 item 7: 16 bytes of 0xff", "/////////////////////w==", true),
        ("RFC 6455 §4.2.1 item 5: 24 chars without `==` (18 bytes)", "AAECAwQFBgcICQoLDA0ODxAR", false),
        ("RFC 4648 §3.3: `=` in the middle is not base64", "dGhlIHNhbXBs=SBub25jZQ==", false),
        ("RFC 4648 §3.3: `=` as 22nd char (`===` padding)", "dGhlIHNhbXBsZSBub25jZ===", false),
        ("RFC 4648 §3.3: a non-base64 char (`!`)", "dGhlIHNhbXBsZSBub25jZ!==", false),
        ("RFC 4648 §5: base64url `-` is not the RFC 4648 §4 alphabet", "dGhlIHNhbXBsZSBub25-ZQ==", false),
        ("RFC 4648 §5: base64url `_` is not the RFC 4648 §4 alphabet", "dGhlIHNhbXBsZSBub25_ZQ==", false),
        ("RFC 6455 §4.2.1 item 5: 25 chars", "dGhlIHNhbXBsZSBub25jZQ===", false),
        ("RFC 6455 §4.2.1 item 5: 23 chars", "dGhlIHNhbXBsZSBub25jZQ=", false),
        ("RFC 9110 §5.5: OWS is stripped by the parser, not by is_valid_key (leading)", " dGhlIHNhbXBsZSBub25jZQ==", false),
        ("RFC 9110 §5.5: OWS is stripped by the parser, not by is_valid_key (trailing)", "dGhlIHNhbXBsZSBub25jZQ== ", false),
        ("RFC 9110 §5.5: OWS is stripped by the parser, not by is_valid_key (both)", " dGhlIHNhbXBsZSBub25jZQ== ", false),
        ("RFC 4648 §3.5 lets decoders reject non-zero pad bits; the crate tolerates them (doc of is_valid_key: 16 bytes decoded is all RFC 6455 asks)", "dGhlIHNhbXBsZSBub25jZR==", true),
        ("RFC 6455 §4.2.1 item 5: a space inside the key", "dGhlIHNhbXBs ZSBub25jZQ==", false),
    ];
    check_rows(rows, |(source, key, want)| {
        assert_eq!(is_valid_key(key.as_bytes()), *want, "{source}: {key:?}");
        assert_eq!(
            reference_is_valid_key(key.as_bytes()),
            *want,
            "oracle disagrees: {source}"
        );
    });
}
