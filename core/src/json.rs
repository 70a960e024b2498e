//! Writing JSON strings directly, for the responses on the hot path.

/// Whether any byte of `bytes` must be escaped in a JSON string. Checked sixteen bytes at a
/// time without an early exit, which the compiler turns into vector instructions.
fn needs_escaping(bytes: &[u8]) -> bool {
    let special = |b: u8| (b < 0x20) | (b == b'"') | (b == b'\\');
    let chunks = bytes.chunks_exact(16);
    let tail = chunks.remainder().iter().any(|&b| special(b));
    tail || chunks.into_iter().any(|chunk| chunk.iter().fold(false, |found, &b| found | special(b)))
}

/// Appends `value` to `out` as a JSON string literal (RFC 8259 §7).
pub(crate) fn push_string(out: &mut String, value: &str) {
    out.push('"');
    // Tokens, ids and scopes never need escaping: copy them whole.
    if !needs_escaping(value.as_bytes()) {
        out.push_str(value);
        out.push('"');
        return;
    }
    let mut start = 0;
    for (i, b) in value.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "",
            _ => continue,
        };
        out.push_str(&value[start..i]);
        if escape.is_empty() {
            out.push_str(&format!("\\u{b:04x}"));
        } else {
            out.push_str(escape);
        }
        start = i + 1;
    }
    out.push_str(&value[start..]);
    out.push('"');
}

/// Appends `value` to `out` as a JSON number, without going through `fmt`.
pub(crate) fn push_u64(out: &mut String, mut value: u64) {
    // Two digits per division, from a table of "00" to "99".
    const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
        2021222324252627282930313233343536373839\
        4041424344454647484950515253545556575859\
        6061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899";
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    while value >= 10 {
        let pair = (value % 100) as usize * 2;
        value /= 100;
        at -= 2;
        digits[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
    }
    // What the pairs leave is one digit (0 to 9): written unless it is a zero ahead of them.
    if value > 0 || at == digits.len() {
        at -= 1;
        digits[at] = b'0' + value as u8;
    }
    // Only ASCII digits were written.
    out.push_str(std::str::from_utf8(&digits[at..]).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_serde_json() {
        for s in ["plain", "q\"uote", "back\\slash", "new\nline\ttab\r", "ctl\u{1}\u{1f}", "caf\u{e9} \u{1F600}"] {
            let mut out = String::new();
            push_string(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).unwrap(), "{s:?}");
        }
        // Escapes are found wherever they fall: in a sixteen-byte chunk or in the tail.
        let long = "x".repeat(40);
        for at in [0, 15, 16, 31, 32, 39] {
            for special in ["\"", "\\", "\n", "\u{1f}"] {
                let s = format!("{}{special}{}", &long[..at], &long[at..]);
                let mut out = String::new();
                push_string(&mut out, &s);
                assert_eq!(out, serde_json::to_string(&s).unwrap(), "{s:?}");
            }
        }
    }

    #[test]
    fn numbers_like_serde_json() {
        for n in
            [0, 7, 9, 10, 11, 99, 100, 101, 999, 1000, 3600, 1_700_000_000, 10_000_000_000, u64::MAX, u64::MAX / 10]
        {
            let mut out = String::new();
            push_u64(&mut out, n);
            assert_eq!(out, serde_json::to_string(&n).unwrap());
        }
    }
}
