//! Parses a safetensors header (the bytes come through `black_box`, so nothing folds) and
//! folds every parsed field into the exit path, so neither parser can be optimised away.
//! `scanner` compiles the crate's own `json.rs` + `container.rs`; `serde` parses the same
//! header with serde-json-core into the same fixed-capacity table. Offset validation is
//! left out of both: only the JSON part differs.
#![no_std]
#![allow(dead_code, unexpected_cfgs)]
#![no_main]

use core::hint::black_box;
use cortex_m_rt::entry;

static HEADER: &[u8] = br#"{"__metadata__":{"format":"microdistill-int8","kind":"mlp"},"layers.0.weight":{"dtype":"I8","shape":[128,784],"data_offsets":[0,100352]},"input.quant":{"dtype":"F32","shape":[1],"data_offsets":[100352,100356]}}"#;

#[cfg(feature = "scanner")]
#[path = "../../src/error.rs"]
mod error;
#[cfg(feature = "scanner")]
pub use error::Error;
#[cfg(feature = "scanner")]
#[path = "../../src/format.rs"]
#[allow(dead_code)]
mod format;
#[cfg(feature = "scanner")]
#[path = "../../src/json.rs"]
mod json;

#[cfg(feature = "scanner")]
fn parse(h: &[u8]) -> u32 {
    // The same walk as container.rs's parse_header, folding fields into a checksum.
    let mut s = json::Scanner::new(h);
    let mut sum = 0u32;
    let r: Result<(), Error> = (|| {
        s.expect(b'{')?;
        loop {
            let key = s.string()?;
            s.expect(b':')?;
            s.expect(b'{')?;
            if key == "__metadata__" {
                loop {
                    let k = s.string()?;
                    s.expect(b':')?;
                    let v = s.string()?;
                    sum = sum.wrapping_add((k.len() + v.len()) as u32);
                    if s.eat(b'}') {
                        break;
                    }
                    s.expect(b',')?;
                }
            } else {
                loop {
                    let k = s.string()?;
                    s.expect(b':')?;
                    match k {
                        "dtype" => {
                            sum = sum.wrapping_add(
                                format::Dtype::from_name(s.string()?)
                                    .ok_or(Error::UnknownDtype)?
                                    .size() as u32,
                            )
                        }
                        _ => {
                            let mut v = [0u64; 4];
                            let n = s.int_array(&mut v, Error::TooManyDims)?;
                            sum = sum.wrapping_add(v[..n].iter().sum::<u64>() as u32);
                        }
                    }
                    if s.eat(b'}') {
                        break;
                    }
                    s.expect(b',')?;
                }
            }
            if s.eat(b'}') {
                break;
            }
            s.expect(b',')?;
        }
        Ok(())
    })();
    match r {
        Ok(()) => sum,
        Err(e) => e as u32 + 1_000_000,
    }
}

#[cfg(feature = "serde")]
mod serde_impl {
    use core::fmt;
    use serde::Deserialize;
    use serde::de::{self, MapAccess, Visitor};

    #[derive(Deserialize)]
    pub struct Info<'a> {
        #[serde(borrow)]
        pub dtype: &'a str,
        pub shape: heapless::Vec<u64, 4>,
        pub data_offsets: [u64; 2],
    }

    pub struct Meta<'a>(pub heapless::Vec<(&'a str, &'a str), 32>);
    impl<'de: 'a, 'a> Deserialize<'de> for Meta<'a> {
        fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V<'a>(core::marker::PhantomData<&'a ()>);
            impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
                type Value = Meta<'a>;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("metadata")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Meta<'a>, A::Error> {
                    let mut v = heapless::Vec::new();
                    while let Some((k, val)) = m.next_entry::<&'de str, &'de str>()? {
                        v.push((k, val))
                            .map_err(|_| de::Error::custom("too many"))?;
                    }
                    Ok(Meta(v))
                }
            }
            d.deserialize_map(V(core::marker::PhantomData))
        }
    }

    pub struct Header<'a> {
        pub meta: Option<Meta<'a>>,
        pub tensors: heapless::Vec<(&'a str, Info<'a>), 64>,
    }
    impl<'de: 'a, 'a> Deserialize<'de> for Header<'a> {
        fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V<'a>(core::marker::PhantomData<&'a ()>);
            impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
                type Value = Header<'a>;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("header")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Header<'a>, A::Error> {
                    let mut h = Header {
                        meta: None,
                        tensors: heapless::Vec::new(),
                    };
                    while let Some(k) = m.next_key::<&'de str>()? {
                        if k == "__metadata__" {
                            h.meta = Some(m.next_value()?);
                        } else {
                            let info: Info<'de> = m.next_value()?;
                            h.tensors
                                .push((k, info))
                                .map_err(|_| de::Error::custom("too many"))?;
                        }
                    }
                    Ok(h)
                }
            }
            d.deserialize_map(V(core::marker::PhantomData))
        }
    }
}

#[cfg(feature = "serde")]
fn parse(h: &[u8]) -> u32 {
    match serde_json_core::from_slice::<serde_impl::Header>(h) {
        Ok((hd, _)) => {
            let mut sum = 0u32;
            if let Some(m) = &hd.meta {
                for (k, v) in &m.0 {
                    sum = sum.wrapping_add((k.len() + v.len()) as u32);
                }
            }
            for (name, t) in &hd.tensors {
                sum = sum.wrapping_add(name.len() as u32 + t.dtype.len() as u32);
                sum =
                    sum.wrapping_add(t.shape.iter().sum::<u64>() as u32 + t.data_offsets[1] as u32);
            }
            sum
        }
        Err(_) => 1_000_000,
    }
}

#[cfg(feature = "runtime")]
fn parse(h: &[u8]) -> u32 {
    let mut scratch = [0u8; 2048];
    let mut logits = [0i8; 10];
    let input = [0i8; 784];
    match runtime_nostd::Model::from_bytes(h) {
        Ok(m) => match m.infer(
            black_box(&input[..m.input_len().min(784)]),
            &mut scratch,
            &mut logits,
        ) {
            Ok(p) => p.class as u32,
            Err(e) => e as u32,
        },
        Err(e) => e as u32,
    }
}

#[cfg(feature = "baseline")]
fn parse(h: &[u8]) -> u32 {
    h.len() as u32
}

#[entry]
fn main() -> ! {
    let r = parse(black_box(HEADER));
    black_box(r);
    loop {}
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    loop {}
}
