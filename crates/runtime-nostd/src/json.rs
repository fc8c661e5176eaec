//! A bounded scanner for the fixed JSON shape of a safetensors header.
//!
//! Why hand-written rather than `serde-json-core` 0.7: `.text` of a probe that parses the same
//! header into the same fixed-capacity table (`json-size-probe/measure.sh`, thumbv7em-none-eabihf,
//! opt-level "s", LTO): empty baseline 144 B, this scanner 2,188 B (+2.0 KB), serde-json-core
//! with heapless 8,292 B (+8.1 KB). Four times smaller, on a part whose flash also holds the
//! weights.
//! Besides size, serde-json-core does not detect duplicate keys, does not reject escapes
//! (borrowed strings are not unescaped), and has no depth limit; this scanner has no
//! recursion at all (the shape is fixed: two levels of objects, arrays of integers), so its
//! stack use is constant, and every failure maps to one `Error` variant.

use crate::Error;

pub(crate) struct Scanner<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(s: &'a [u8]) -> Self {
        Scanner { s, pos: 0 }
    }

    /// Offset of the next byte in the input.
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    pub(crate) fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// Skips whitespace, then consumes `b` or fails.
    pub(crate) fn expect(&mut self, b: u8) -> Result<(), Error> {
        self.skip_ws();
        if self.peek() == Some(b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(Error::InvalidJson)
        }
    }

    /// Skips whitespace, then consumes `b` if it is next.
    pub(crate) fn eat(&mut self, b: u8) -> bool {
        self.skip_ws();
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Whitespace then end of input.
    pub(crate) fn at_end(&mut self) -> bool {
        self.skip_ws();
        self.pos == self.s.len()
    }

    /// A string without escapes or control characters, borrowed from the header.
    pub(crate) fn string(&mut self) -> Result<&'a str, Error> {
        self.expect(b'"')?;
        let start = self.pos;
        loop {
            match self.peek() {
                None => return Err(Error::InvalidJson),
                Some(b'"') => break,
                Some(b'\\') => return Err(Error::StringEscape),
                Some(c) if c < 0x20 => return Err(Error::StringEscape),
                Some(_) => self.pos += 1,
            }
        }
        let bytes = self.s.get(start..self.pos).ok_or(Error::InvalidJson)?;
        self.pos += 1;
        // The whole header was checked as UTF-8 and '"' is ASCII, so this cannot fail; the
        // check is cheap and keeps the function sound on its own.
        core::str::from_utf8(bytes).map_err(|_| Error::HeaderNotUtf8)
    }

    /// A non-negative JSON integer (no sign, fraction, exponent or leading zero) that fits u64.
    pub(crate) fn integer(&mut self) -> Result<u64, Error> {
        self.skip_ws();
        let start = self.pos;
        let mut v: u64 = 0;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(c - b'0')))
                .ok_or(Error::InvalidNumber)?;
            self.pos += 1;
        }
        let len = self.pos - start;
        if len == 0 {
            return Err(match self.peek() {
                Some(b'-') => Error::InvalidNumber,
                _ => Error::InvalidJson,
            });
        }
        if len > 1 && self.s.get(start) == Some(&b'0') {
            return Err(Error::InvalidNumber);
        }
        if let Some(b'.' | b'e' | b'E') = self.peek() {
            return Err(Error::InvalidNumber);
        }
        Ok(v)
    }

    /// `[int, int, ...]` into `out`; returns how many. More than `out.len()` → `too_many`.
    pub(crate) fn int_array(&mut self, out: &mut [u64], too_many: Error) -> Result<usize, Error> {
        self.expect(b'[')?;
        let mut n = 0;
        if self.eat(b']') {
            return Ok(0);
        }
        loop {
            let v = self.integer()?;
            *out.get_mut(n).ok_or(too_many)? = v;
            n += 1;
            if self.eat(b']') {
                return Ok(n);
            }
            self.expect(b',')?;
        }
    }
}
