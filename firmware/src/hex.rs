//! Lower-case hex of a digest, for one log line that matches `sha256sum`'s output.

/// Writes `bytes` as hex into `out` (which must be twice as long) and returns it as a `&str`.
pub fn encode<'a>(bytes: &[u8], out: &'a mut [u8]) -> &'a str {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (pair, &b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 0xf)];
    }
    let used = &out[..2 * bytes.len()];
    // Only ASCII digits were written.
    core::str::from_utf8(used).unwrap_or("")
}

#[cfg(test)]
mod tests {
    #[test]
    fn matches_sha256sum_style() {
        let mut buf = [0u8; 8];
        assert_eq!(
            super::encode(&[0x00, 0x0f, 0xa5, 0xff], &mut buf),
            "000fa5ff"
        );
    }
}
