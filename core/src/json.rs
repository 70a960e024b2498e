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
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    out.extend(digits[at..].iter().map(|&d| char::from(d)));
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
        for n in [0, 7, 10, 3600, 1_700_000_000, u64::MAX] {
            let mut out = String::new();
            push_u64(&mut out, n);
            assert_eq!(out, serde_json::to_string(&n).unwrap());
        }
    }
}
