//! The safetensors container: header length, header JSON, offset validation. Applies the
//! checks of the safetensors crate (`read_metadata`, `Metadata::validate`) plus fixed limits
//! and duplicate-key rejection, without allocation.

use crate::Error;
use crate::format::{Dtype, MAX_DIMS, MAX_HEADER_LEN, MAX_METADATA, MAX_TENSORS};
use crate::json::Scanner;

const METADATA_KEY: &str = "__metadata__";

/// One tensor: its dtype, shape and the bytes it spans inside the buffer.
#[derive(Clone, Copy)]
pub(crate) struct Tensor<'a> {
    pub name: &'a str,
    pub dtype: Dtype,
    pub shape: [usize; MAX_DIMS],
    pub rank: usize,
    pub data: &'a [u8],
    // Offsets relative to the data section, kept until the contiguity check.
    begin: usize,
    end: usize,
}

impl<'a> Tensor<'a> {
    const EMPTY: Tensor<'static> = Tensor {
        name: "",
        dtype: Dtype::U8,
        shape: [0; MAX_DIMS],
        rank: 0,
        data: &[],
        begin: 0,
        end: 0,
    };

    pub fn shape(&self) -> &[usize] {
        &self.shape[..self.rank]
    }
}

/// The parsed container. About 3 KB on a 32-bit target: it lives on the stack only while
/// `Model::from_bytes` runs.
pub(crate) struct Container<'a> {
    tensors: [Tensor<'a>; MAX_TENSORS],
    num_tensors: usize,
    metadata: [(&'a str, &'a str); MAX_METADATA],
    num_metadata: usize,
}

impl<'a> Container<'a> {
    pub fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
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
            tensors: [Tensor::EMPTY; MAX_TENSORS],
            num_tensors: 0,
            metadata: [("", ""); MAX_METADATA],
            num_metadata: 0,
        };
        c.parse_header(header)?;
        c.validate_offsets(data)?;
        Ok(c)
    }

    fn parse_header(&mut self, header: &'a [u8]) -> Result<(), Error> {
        let mut s = Scanner::new(header);
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
                    if self.tensors[..self.num_tensors]
                        .iter()
                        .any(|t| t.name == key)
                    {
                        return Err(Error::DuplicateKey);
                    }
                    let slot = self
                        .tensors
                        .get_mut(self.num_tensors)
                        .ok_or(Error::TooManyTensors)?;
                    *slot = parse_tensor(&mut s, key)?;
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
            if self.metadata[..self.num_metadata]
                .iter()
                .any(|(k, _)| *k == key)
            {
                return Err(Error::DuplicateKey);
            }
            let slot = self
                .metadata
                .get_mut(self.num_metadata)
                .ok_or(Error::TooManyMetadata)?;
            *slot = (key, value);
            self.num_metadata += 1;
            if s.eat(b'}') {
                return Ok(());
            }
            s.expect(b',')?;
        }
    }

    /// Sizes match shapes, spans are contiguous from 0 and end exactly at the buffer's end.
    fn validate_offsets(&mut self, data: &'a [u8]) -> Result<(), Error> {
        let tensors = &mut self.tensors[..self.num_tensors];
        // Insertion sort by (begin, end): at most 64 entries, no allocation, stable.
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
        for t in tensors.iter_mut() {
            let elements = t.shape[..t.rank]
                .iter()
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
            t.data = data.get(t.begin..t.end).ok_or(Error::DataLengthMismatch)?;
            expected_begin = t.end;
        }
        if expected_begin != data.len() {
            return Err(Error::DataLengthMismatch);
        }
        Ok(())
    }

    pub fn tensors(&self) -> &[Tensor<'a>] {
        &self.tensors[..self.num_tensors]
    }

    pub fn tensor(&self, name: &str) -> Option<&Tensor<'a>> {
        self.tensors().iter().find(|t| t.name == name)
    }

    pub fn find_tensor(&self, pred: impl Fn(&str) -> bool) -> Option<&Tensor<'a>> {
        self.tensors().iter().find(|t| pred(t.name))
    }

    pub fn metadata(&self, key: &str) -> Option<&'a str> {
        self.metadata[..self.num_metadata]
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
    }
}

fn parse_tensor<'a>(s: &mut Scanner<'a>, name: &'a str) -> Result<Tensor<'a>, Error> {
    let mut t = Tensor {
        name,
        ..Tensor::EMPTY
    };
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
                    let mut dims = [0u64; MAX_DIMS];
                    t.rank = s.int_array(&mut dims, Error::TooManyDims)?;
                    for (d, &v) in t.shape.iter_mut().zip(&dims) {
                        *d = usize::try_from(v).map_err(|_| Error::SizeMismatch)?;
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
