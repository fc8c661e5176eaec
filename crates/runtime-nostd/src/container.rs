//! The safetensors container: header length, header JSON, offset validation. Applies the
//! checks of the safetensors crate (`read_metadata`, `Metadata::validate`) plus fixed limits
//! and duplicate-key rejection, without allocation.

use crate::Error;
use crate::format::{Dtype, MAX_DIMS, MAX_HEADER_LEN, MAX_METADATA, MAX_TENSORS};
use crate::json::Scanner;

const METADATA_KEY: &str = "__metadata__";

/// Where a string lies inside the header (the header is at most 64 KiB, so u16 suffices).
#[derive(Clone, Copy)]
struct Span {
    start: u16,
    len: u16,
}

/// One tensor entry of the header, kept compact (16 bytes on a 32-bit target) because the
/// table of `MAX_TENSORS` entries lives on the stack while `Model::from_bytes` runs: the
/// shape stays in the header text (`shape_at`, re-read by `dims`), not in the table.
#[derive(Clone, Copy)]
struct Entry {
    name: Span,
    /// Header offset of the shape's `[` (checked when the entry was parsed).
    shape_at: u16,
    dtype: Dtype,
    rank: u8,
    // Offsets relative to the data section.
    begin: usize,
    end: usize,
}

impl Entry {
    // All-zero bytes (I8 is discriminant 0), so the table is initialised with a memset in
    // place instead of a copy of a constant array.
    const EMPTY: Entry = Entry {
        name: Span { start: 0, len: 0 },
        shape_at: 0,
        dtype: Dtype::I8,
        rank: 0,
        begin: 0,
        end: 0,
    };
}

/// A validated tensor: dtype, shape and its bytes inside the buffer.
#[derive(Clone, Copy)]
pub(crate) struct Tensor<'a> {
    pub dtype: Dtype,
    shape: [usize; MAX_DIMS],
    rank: usize,
    pub data: &'a [u8],
}

impl Tensor<'_> {
    pub fn shape(&self) -> &[usize] {
        self.shape.get(..self.rank).unwrap_or(&[])
    }
}

/// The header's tables, about 1.3 KB on a 32-bit target: the largest thing on the stack
/// while `Model::from_bytes` runs. All zeros, so `let mut t = Tables::EMPTY` in the caller is
/// a memset in place: never built elsewhere and copied, whatever the optimization level.
pub(crate) struct Tables {
    tensors: [Entry; MAX_TENSORS],
    metadata: [(Span, Span); MAX_METADATA],
}

impl Tables {
    pub const EMPTY: Tables = Tables {
        tensors: [Entry::EMPTY; MAX_TENSORS],
        metadata: [(Span { start: 0, len: 0 }, Span { start: 0, len: 0 }); MAX_METADATA],
    };
}

/// The parsed container: the header and data sections, and the header's entries in the
/// caller's [`Tables`].
pub(crate) struct Container<'a, 't> {
    header: &'a [u8],
    data: &'a [u8],
    t: &'t mut Tables,
    num_tensors: usize,
    num_metadata: usize,
}

impl<'a, 't> Container<'a, 't> {
    pub fn parse(bytes: &'a [u8], tables: &'t mut Tables) -> Result<Self, Error> {
        let len_bytes: [u8; 8] = bytes
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .ok_or(Error::TooShort)?;
        let n = u64::from_le_bytes(len_bytes);
        if n > MAX_HEADER_LEN as u64 {
            return Err(Error::HeaderTooLarge);
        }
        // n <= 64 KiB, so the cast and the addition cannot overflow.
        let header_end = 8 + n as usize;
        let header = bytes.get(8..header_end).ok_or(Error::HeaderOutOfBounds)?;
        let data = bytes.get(header_end..).ok_or(Error::HeaderOutOfBounds)?;
        core::str::from_utf8(header).map_err(|_| Error::HeaderNotUtf8)?;
        if header.first() != Some(&b'{') {
            return Err(Error::InvalidHeaderStart);
        }
        let mut c = Container {
            header,
            data,
            t: tables,
            num_tensors: 0,
            num_metadata: 0,
        };
        c.parse_header()?;
        c.validate_offsets()?;
        Ok(c)
    }

    /// The header string a span points at ("" if it does not, which cannot happen for
    /// spans made by the scanner).
    fn str(&self, span: Span) -> &'a str {
        let start = usize::from(span.start);
        self.header
            .get(start..start + usize::from(span.len))
            .and_then(|b| core::str::from_utf8(b).ok())
            .unwrap_or("")
    }

    /// Records a string the scanner returned as a span of the header.
    fn span(&self, s: &str) -> Span {
        let start = (s.as_ptr() as usize).wrapping_sub(self.header.as_ptr() as usize);
        // Scanner strings are sub-slices of a header of at most 64 KiB: both fit in u16.
        Span {
            start: start as u16,
            len: s.len() as u16,
        }
    }

    fn parse_header(&mut self) -> Result<(), Error> {
        let mut s = Scanner::new(self.header);
        let mut seen_metadata = false;
        s.expect(b'{')?;
        if !s.eat(b'}') {
            loop {
                let key = s.string()?;
                s.expect(b':')?;
                if key == METADATA_KEY {
                    if seen_metadata {
                        return Err(Error::DuplicateKey);
                    }
                    seen_metadata = true;
                    self.parse_metadata(&mut s)?;
                } else {
                    let entries = self.t.tensors.get(..self.num_tensors).unwrap_or(&[]);
                    if entries.iter().any(|t| self.str(t.name) == key) {
                        return Err(Error::DuplicateKey);
                    }
                    let mut entry = parse_tensor(&mut s)?;
                    entry.name = self.span(key);
                    let slot = self
                        .t
                        .tensors
                        .get_mut(self.num_tensors)
                        .ok_or(Error::TooManyTensors)?;
                    *slot = entry;
                    self.num_tensors += 1;
                }
                if s.eat(b'}') {
                    break;
                }
                s.expect(b',')?;
            }
        }
        if !s.at_end() {
            return Err(Error::InvalidJson);
        }
        Ok(())
    }

    fn parse_metadata(&mut self, s: &mut Scanner<'a>) -> Result<(), Error> {
        s.expect(b'{')?;
        if s.eat(b'}') {
            return Ok(());
        }
        loop {
            let key = s.string()?;
            s.expect(b':')?;
            let value = s.string()?;
            if self.metadata().any(|(k, _)| k == key) {
                return Err(Error::DuplicateKey);
            }
            let entry = (self.span(key), self.span(value));
            let slot = self
                .t
                .metadata
                .get_mut(self.num_metadata)
                .ok_or(Error::TooManyMetadata)?;
            *slot = entry;
            self.num_metadata += 1;
            if s.eat(b'}') {
                return Ok(());
            }
            s.expect(b',')?;
        }
    }

    /// Sizes match shapes, spans are contiguous from 0 and end exactly at the buffer's end.
    fn validate_offsets(&mut self) -> Result<(), Error> {
        let data_len = self.data.len();
        let header = self.header;
        let tensors = self
            .t
            .tensors
            .get_mut(..self.num_tensors)
            .unwrap_or(&mut []);
        // Insertion sort by (begin, end) in place: at most 64 entries, no extra memory.
        for i in 1..tensors.len() {
            let mut j = i;
            while j > 0
                && (tensors[j - 1].begin, tensors[j - 1].end) > (tensors[j].begin, tensors[j].end)
            {
                tensors.swap(j - 1, j);
                j -= 1;
            }
        }
        let mut expected_begin = 0usize;
        for t in tensors.iter() {
            let elements = dims(header, t)
                .iter()
                .take(usize::from(t.rank))
                .try_fold(1usize, |acc, &d| acc.checked_mul(d))
                .ok_or(Error::SizeMismatch)?;
            let bytes = elements
                .checked_mul(t.dtype.size())
                .ok_or(Error::SizeMismatch)?;
            if t.begin != expected_begin {
                return Err(Error::NonContiguous);
            }
            if t.end - t.begin != bytes {
                return Err(Error::SizeMismatch);
            }
            if t.end > data_len {
                return Err(Error::DataLengthMismatch);
            }
            expected_begin = t.end;
        }
        if expected_begin != data_len {
            return Err(Error::DataLengthMismatch);
        }
        Ok(())
    }

    pub fn num_tensors(&self) -> usize {
        self.num_tensors
    }

    /// The first tensor whose name satisfies `pred`.
    pub fn find_tensor(&self, pred: impl Fn(&str) -> bool) -> Option<Tensor<'a>> {
        let entries = self.t.tensors.get(..self.num_tensors)?;
        let e = entries.iter().find(|t| pred(self.str(t.name)))?;
        Some(Tensor {
            dtype: e.dtype,
            shape: dims(self.header, e),
            rank: usize::from(e.rank),
            // validate_offsets checked begin <= end <= data.len().
            data: self.data.get(e.begin..e.end)?,
        })
    }

    pub fn tensor(&self, name: &str) -> Option<Tensor<'a>> {
        self.find_tensor(|n| n == name)
    }

    fn metadata(&self) -> impl Iterator<Item = (&'a str, &'a str)> + '_ {
        self.t
            .metadata
            .get(..self.num_metadata)
            .unwrap_or(&[])
            .iter()
            .map(|&(k, v)| (self.str(k), self.str(v)))
    }

    pub fn meta(&self, key: &str) -> Option<&'a str> {
        self.metadata().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

/// The dimensions of `e` (zero past its rank), read again from the header text. They were
/// checked when the entry was parsed, so this cannot fail; it returns zeros if it did.
fn dims(header: &[u8], e: &Entry) -> [usize; MAX_DIMS] {
    let mut raw = [0u64; MAX_DIMS];
    let mut out = [0usize; MAX_DIMS];
    let mut s = Scanner::new(header.get(usize::from(e.shape_at)..).unwrap_or(&[]));
    if s.int_array(&mut raw, Error::TooManyDims).is_ok() {
        for (d, &v) in out.iter_mut().zip(&raw) {
            *d = usize::try_from(v).unwrap_or(0);
        }
    }
    out
}

fn parse_tensor(s: &mut Scanner<'_>) -> Result<Entry, Error> {
    let mut t = Entry::EMPTY;
    let (mut has_dtype, mut has_shape, mut has_offsets) = (false, false, false);
    s.expect(b'{')?;
    if !s.eat(b'}') {
        loop {
            let key = s.string()?;
            s.expect(b':')?;
            let seen = match key {
                "dtype" => &mut has_dtype,
                "shape" => &mut has_shape,
                "data_offsets" => &mut has_offsets,
                _ => return Err(Error::UnknownField),
            };
            if *seen {
                return Err(Error::DuplicateKey);
            }
            *seen = true;
            match key {
                "dtype" => t.dtype = Dtype::from_name(s.string()?).ok_or(Error::UnknownDtype)?,
                "shape" => {
                    s.skip_ws();
                    // A header is at most 64 KiB (MAX_HEADER_LEN), so offsets fit u16.
                    t.shape_at = s.pos() as u16;
                    let mut dims = [0u64; MAX_DIMS];
                    let rank = s.int_array(&mut dims, Error::TooManyDims)?;
                    // rank <= MAX_DIMS = 4
                    t.rank = rank as u8;
                    for &v in &dims {
                        usize::try_from(v).map_err(|_| Error::SizeMismatch)?;
                    }
                }
                _ => {
                    let mut offs = [0u64; 2];
                    if s.int_array(&mut offs, Error::InvalidOffsets)? != 2 || offs[0] > offs[1] {
                        return Err(Error::InvalidOffsets);
                    }
                    t.begin = usize::try_from(offs[0]).map_err(|_| Error::DataLengthMismatch)?;
                    t.end = usize::try_from(offs[1]).map_err(|_| Error::DataLengthMismatch)?;
                }
            }
            if s.eat(b'}') {
                break;
            }
            s.expect(b',')?;
        }
    }
    if !(has_dtype && has_shape && has_offsets) {
        return Err(Error::MissingField);
    }
    Ok(t)
}
