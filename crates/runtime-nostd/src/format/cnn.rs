//! The CNN's layer list: one grammar for the experiment file, the float model's and the
//! artifact's `layers` metadata, and the shape rules every reader applies (FORMAT.md, "CNN").
//!
//! A layer is words separated by single spaces; layers are joined by [`SEPARATOR`]:
//!
//! | layer | meaning |
//! |---|---|
//! | `conv O kK sS same\|valid` | convolution to O channels, K×K (1×K on a sequence), stride S, then ReLU |
//! | `dwconv kK sS same\|valid` | depthwise convolution (one K×K filter per channel), then ReLU |
//! | `maxpool P` / `avgpool P` | P×P (1×P) windows, stride P, no padding (a partial window is dropped) |
//! | `gap` | global average pooling: each channel's mean over all positions |
//! | `dense O` | flatten, then a dense layer to O outputs; ReLU unless it is the last layer |
//!
//! `same` pads (K−1)/2 on every side (K odd), `valid` pads nothing; an output side is
//! `(in + 2·pad − K) / S + 1` (floor). In the experiment file `kK`, `sS` and the padding may
//! be left out (`k3 s1 same`); [`Layer`]'s `Display` writes the full form, which the model
//! files carry. The last layer is `dense C` (C classes); after a `dense` only `dense` follows.
use core::fmt;

use super::{parse_decimal, split_ascii};

/// Separator of layers in the `layers` metadata (`conv 8 k3 s1 same;maxpool 2;…`).
pub const SEPARATOR: char = ';';
/// Most layers of a CNN (pools included).
pub const MAX_OPS: usize = 16;
/// Largest kernel side, stride and pool size.
pub const MAX_KERNEL: usize = 15;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Padding {
    /// (K−1)/2 zeros (the input's zero point, once quantized) on every side; K odd.
    Same,
    Valid,
}

/// One layer of a CNN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Layer {
    Conv {
        out: usize,
        kernel: usize,
        stride: usize,
        padding: Padding,
    },
    DwConv {
        kernel: usize,
        stride: usize,
        padding: Padding,
    },
    MaxPool(usize),
    AvgPool(usize),
    Gap,
    Dense(usize),
}

/// An activation's shape: `c` channels over `h × w` positions (`h` = 1 for a sequence).
/// The runtime stores activations channels-last (HWC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Shape {
    pub c: usize,
    pub h: usize,
    pub w: usize,
}

impl Shape {
    /// The input of a CNN: `[C, H, W]` (an image) or `[C, T]` (a sequence, h = 1).
    pub const fn of_input(dims: &[usize]) -> Option<Shape> {
        match *dims {
            [c, h, w] => Some(Shape { c, h, w }),
            [c, t] => Some(Shape { c, h: 1, w: t }),
            _ => None,
        }
    }

    /// Values in the activation, `c·h·w` (saturating: [`Plan`] refuses a shape whose
    /// length overflows, see [`checked_len`](Shape::checked_len)).
    pub const fn len(&self) -> usize {
        match self.checked_len() {
            Some(n) => n,
            None => usize::MAX,
        }
    }

    /// `c·h·w`, or `None` when it overflows `usize`.
    pub const fn checked_len(&self) -> Option<usize> {
        match self.c.checked_mul(self.h) {
            Some(ch) => ch.checked_mul(self.w),
            None => None,
        }
    }

    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Why a layer list is not a CNN this runtime runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum LayerError {
    /// Layer `i` is not in the grammar (or a number is 0 or over [`MAX_KERNEL`]).
    Syntax(usize),
    /// More than [`MAX_OPS`] layers, or none.
    Count,
    /// Layer `i` does not fit its input (a window larger than the input, an even `same`
    /// kernel, a spatial layer after a dense one), or a size overflows `usize`.
    Shape(usize),
    /// The last layer is not `dense` to the number of classes.
    Head,
}

impl fmt::Display for LayerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LayerError::Syntax(i) => write!(
                f,
                "layer {i}: not one of `conv O kK sS same|valid`, `dwconv kK sS same|valid`, \
                 `maxpool P`, `avgpool P`, `gap`, `dense O` (numbers 1..={MAX_KERNEL} for K, S, P)"
            ),
            LayerError::Count => write!(f, "a CNN has 1..={MAX_OPS} layers"),
            LayerError::Shape(i) => write!(
                f,
                "layer {i} does not fit its input (window larger than the input, even kernel \
                 with same padding, or a spatial layer after a dense one)"
            ),
            LayerError::Head => write!(f, "the last layer must be `dense C`, C = the classes"),
        }
    }
}

impl Layer {
    /// Parses one layer; the short forms (`conv 16`, `dwconv`) take `k3 s1 same`.
    pub fn parse(s: &str) -> Option<Layer> {
        let mut words = split_ascii(s.trim_ascii(), b' ').filter(|w| !w.is_empty());
        let op = words.next()?;
        let size = |w: Option<&str>| parse_decimal(w?).filter(|&v| (1..=MAX_KERNEL).contains(&v));
        let layer = match op {
            "conv" | "dwconv" => {
                let out = match op {
                    "conv" => Some(parse_decimal(words.next()?).filter(|&o| o > 0)?),
                    _ => None,
                };
                let (mut kernel, mut stride, mut padding) = (3, 1, Padding::Same);
                for w in words.by_ref() {
                    match (w.as_bytes().first(), w) {
                        (_, "same") => padding = Padding::Same,
                        (_, "valid") => padding = Padding::Valid,
                        (Some(b'k'), _) => kernel = size(w.get(1..))?,
                        (Some(b's'), _) => stride = size(w.get(1..))?,
                        _ => return None,
                    }
                }
                match out {
                    Some(out) => Layer::Conv {
                        out,
                        kernel,
                        stride,
                        padding,
                    },
                    None => Layer::DwConv {
                        kernel,
                        stride,
                        padding,
                    },
                }
            }
            "maxpool" => Layer::MaxPool(size(words.next())?),
            "avgpool" => Layer::AvgPool(size(words.next())?),
            "gap" => Layer::Gap,
            "dense" => Layer::Dense(parse_decimal(words.next()?).filter(|&o| o > 0)?),
            _ => return None,
        };
        match words.next() {
            None => Some(layer),
            Some(_) => None,
        }
    }

    /// Whether it has weights (conv, dwconv, dense): the layers with `layers.{k}.*` tensors.
    pub const fn has_weights(&self) -> bool {
        matches!(
            self,
            Layer::Conv { .. } | Layer::DwConv { .. } | Layer::Dense(_)
        )
    }

    /// `(kh, kw)` of a convolution or pool on an input of height `h`: 1×K on a sequence.
    pub const fn window(&self, h_is_one: bool) -> (usize, usize) {
        let k = match *self {
            Layer::Conv { kernel, .. } | Layer::DwConv { kernel, .. } => kernel,
            Layer::MaxPool(p) | Layer::AvgPool(p) => p,
            Layer::Gap | Layer::Dense(_) => 1,
        };
        (if h_is_one { 1 } else { k }, k)
    }

    /// `(top, left)` padding of a convolution (the same again at the bottom and right):
    /// (K−1)/2 for `same` (`kh` = 1 on a sequence, so 0 on top), 0 for `valid` and every
    /// other layer.
    pub const fn padding(&self, is_sequence: bool) -> (usize, usize) {
        let (kh, kw) = self.window(is_sequence);
        match *self {
            Layer::Conv {
                padding: Padding::Same,
                ..
            }
            | Layer::DwConv {
                padding: Padding::Same,
                ..
            } => (kh.saturating_sub(1) / 2, kw.saturating_sub(1) / 2),
            _ => (0, 0),
        }
    }

    /// The step between windows: S of a convolution, P of a pool, 1 otherwise.
    pub const fn stride(&self) -> usize {
        match *self {
            Layer::Conv { stride, .. } | Layer::DwConv { stride, .. } => stride,
            Layer::MaxPool(p) | Layer::AvgPool(p) => p,
            Layer::Gap | Layer::Dense(_) => 1,
        }
    }

    /// The output shape on `input`, or `None` when the layer does not fit it.
    pub const fn output(&self, input: Shape, is_sequence: bool) -> Option<Shape> {
        let (kh, kw) = self.window(is_sequence);
        match *self {
            Layer::Conv {
                stride, padding, ..
            }
            | Layer::DwConv {
                stride, padding, ..
            } => {
                let out_c = match *self {
                    Layer::Conv { out, .. } => out,
                    _ => input.c,
                };
                if matches!(padding, Padding::Same) && kw % 2 == 0 {
                    return None;
                }
                let (ph, pw) = self.padding(is_sequence);
                // Checked: a crafted `input_shape` near usize::MAX must be refused, not wrap.
                let (Some(h), Some(w)) = (input.h.checked_add(2 * ph), input.w.checked_add(2 * pw))
                else {
                    return None;
                };
                if h < kh || w < kw || stride == 0 {
                    return None;
                }
                Some(Shape {
                    c: out_c,
                    h: (h - kh) / stride + 1,
                    w: (w - kw) / stride + 1,
                })
            }
            Layer::MaxPool(_) | Layer::AvgPool(_) => {
                if input.h < kh || input.w < kw {
                    return None;
                }
                Some(Shape {
                    c: input.c,
                    h: input.h / kh,
                    w: input.w / kw,
                })
            }
            Layer::Gap => Some(Shape {
                c: input.c,
                h: 1,
                w: 1,
            }),
            Layer::Dense(out) => Some(Shape { c: out, h: 1, w: 1 }),
        }
    }

    /// Multiply-accumulates on `input` (0 for pools); saturating (see [`Plan`]).
    pub const fn macs(&self, input: Shape, output: Shape, is_sequence: bool) -> usize {
        match self.checked_macs(input, output, is_sequence) {
            Some(n) => n,
            None => usize::MAX,
        }
    }

    /// [`macs`](Layer::macs), or `None` when it overflows `usize`.
    pub const fn checked_macs(&self, input: Shape, output: Shape, seq: bool) -> Option<usize> {
        let (kh, kw) = self.window(seq);
        match *self {
            Layer::Conv { .. } => {
                product(&[output.checked_len(), kh.checked_mul(kw), Some(input.c)])
            }
            Layer::DwConv { .. } => product(&[output.checked_len(), kh.checked_mul(kw)]),
            Layer::Dense(out) => product(&[input.checked_len(), Some(out)]),
            _ => Some(0),
        }
    }

    /// Weight count (without the bias): `[O, KH, KW, C]`, `[C, KH, KW, 1]` or `[O, I]`;
    /// saturating (see [`Plan`]).
    pub const fn weights(&self, input: Shape, is_sequence: bool) -> usize {
        match self.checked_weights(input, is_sequence) {
            Some(n) => n,
            None => usize::MAX,
        }
    }

    /// [`weights`](Layer::weights), or `None` when it overflows `usize`.
    pub const fn checked_weights(&self, input: Shape, is_sequence: bool) -> Option<usize> {
        let (kh, kw) = self.window(is_sequence);
        match *self {
            Layer::Conv { out, .. } => product(&[Some(out), kh.checked_mul(kw), Some(input.c)]),
            Layer::DwConv { .. } => product(&[Some(input.c), kh.checked_mul(kw)]),
            Layer::Dense(out) => product(&[Some(out), input.checked_len()]),
            _ => Some(0),
        }
    }
}

/// The product of `factors`, `None` if one is `None` or the product overflows.
const fn product(factors: &[Option<usize>]) -> Option<usize> {
    let mut acc = 1usize;
    let mut rest = factors;
    while let [first, tail @ ..] = rest {
        acc = match *first {
            Some(f) => match acc.checked_mul(f) {
                Some(p) => p,
                None => return None,
            },
            None => return None,
        };
        rest = tail;
    }
    Some(acc)
}

impl fmt::Display for Layer {
    /// The full form (`conv 16 k3 s1 same`), which `parse` reads back to the same layer.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pad = |p: &Padding| match p {
            Padding::Same => "same",
            Padding::Valid => "valid",
        };
        match self {
            Layer::Conv {
                out,
                kernel,
                stride,
                padding,
            } => write!(f, "conv {out} k{kernel} s{stride} {}", pad(padding)),
            Layer::DwConv {
                kernel,
                stride,
                padding,
            } => write!(f, "dwconv k{kernel} s{stride} {}", pad(padding)),
            Layer::MaxPool(p) => write!(f, "maxpool {p}"),
            Layer::AvgPool(p) => write!(f, "avgpool {p}"),
            Layer::Gap => write!(f, "gap"),
            Layer::Dense(o) => write!(f, "dense {o}"),
        }
    }
}

/// A checked layer list, without allocation: the layers and each one's input shape.
///
/// Every activation length, and the plan's total MACs and parameters, fit in `usize`
/// (`Plan::new` refuses a list where one would overflow), so the sums and products of its
/// methods cannot overflow.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    layers: [Layer; MAX_OPS],
    /// `shapes[i]` is layer i's input; `shapes[len]` the logits' `[classes, 1, 1]`.
    shapes: [Shape; MAX_OPS + 1],
    len: usize,
    is_sequence: bool,
}

impl Plan {
    /// Parses `SEPARATOR`-joined layers and checks them on `input` (`[C, H, W]` or `[C, T]`)
    /// for `classes` outputs.
    pub fn parse(text: &str, input: &[usize], classes: usize) -> Result<Plan, LayerError> {
        let mut layers = [Layer::Gap; MAX_OPS];
        let mut len = 0;
        for (i, s) in split_ascii(text, SEPARATOR as u8).enumerate() {
            let slot = layers.get_mut(i).ok_or(LayerError::Count)?;
            *slot = Layer::parse(s).ok_or(LayerError::Syntax(i))?;
            len = i + 1;
        }
        Plan::new(layers.get(..len).unwrap_or(&[]), input, classes)
    }

    /// Checks `layers` on `input` for `classes` outputs.
    pub fn new(layers: &[Layer], input: &[usize], classes: usize) -> Result<Plan, LayerError> {
        if layers.is_empty() || layers.len() > MAX_OPS {
            return Err(LayerError::Count);
        }
        let first = Shape::of_input(input).ok_or(LayerError::Shape(0))?;
        let is_sequence = input.len() == 2;
        let mut plan = Plan {
            layers: [Layer::Gap; MAX_OPS],
            shapes: [first; MAX_OPS + 1],
            len: layers.len(),
            is_sequence,
        };
        let mut shape = first;
        let mut flat = false;
        let (mut macs, mut params) = (0usize, 0usize);
        for (i, layer) in layers.iter().enumerate() {
            let spatial = !matches!(layer, Layer::Dense(_));
            if (spatial && flat) || shape.is_empty() || shape.checked_len().is_none() {
                return Err(LayerError::Shape(i));
            }
            flat |= !spatial;
            plan.layers[i] = *layer;
            plan.shapes[i] = shape;
            let input = shape;
            shape = layer
                .output(input, is_sequence)
                .filter(|s| !s.is_empty() && s.checked_len().is_some())
                .ok_or(LayerError::Shape(i))?;
            // The totals `macs()` and `params()` sum must fit too.
            let bias = if layer.has_weights() { shape.c } else { 0 };
            (macs, params) = layer
                .checked_macs(input, shape, is_sequence)
                .and_then(|m| macs.checked_add(m))
                .zip(
                    layer
                        .checked_weights(input, is_sequence)
                        .and_then(|w| w.checked_add(bias))
                        .and_then(|w| params.checked_add(w)),
                )
                .ok_or(LayerError::Shape(i))?;
        }
        plan.shapes[layers.len()] = shape;
        match layers.last() {
            Some(Layer::Dense(c)) if *c == classes => Ok(plan),
            _ => Err(LayerError::Head),
        }
    }

    pub fn layers(&self) -> &[Layer] {
        self.layers.get(..self.len).unwrap_or(&[])
    }

    /// Layer `i`'s input shape (`i == len`: the output).
    pub fn input_of(&self, i: usize) -> Option<Shape> {
        self.shapes.get(..=self.len)?.get(i).copied()
    }

    /// Whether the input is a sequence `[C, T]` (every window is 1×K).
    pub fn is_sequence(&self) -> bool {
        self.is_sequence
    }

    /// Multiply-accumulates of one inference.
    pub fn macs(&self) -> usize {
        self.iter()
            .map(|(l, i, o)| l.macs(i, o, self.is_sequence))
            .sum()
    }

    /// Float parameters (weights and biases).
    pub fn params(&self) -> usize {
        self.iter()
            .filter(|(l, ..)| l.has_weights())
            .map(|(l, i, o)| l.weights(i, self.is_sequence) + o.c)
            .sum()
    }

    /// The largest activation (input and output included), in values.
    pub fn widest(&self) -> usize {
        let shapes = self.shapes.get(..=self.len).unwrap_or(&[]);
        shapes.iter().map(Shape::len).max().unwrap_or(0)
    }

    /// (layer, input shape, output shape) in order.
    pub fn iter(&self) -> impl Iterator<Item = (Layer, Shape, Shape)> + '_ {
        self.layers()
            .iter()
            .zip(self.shapes.windows(2))
            .map(|(l, s)| (*l, s[0], s[1]))
    }
}

impl fmt::Display for Plan {
    /// The canonical `layers` metadata value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, l) in self.layers().iter().enumerate() {
            if i > 0 {
                write!(f, "{SEPARATOR}")?;
            }
            write!(f, "{l}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_full_forms_parse_to_the_same_layer_and_print_the_full_one() {
        let full = Layer::parse("conv 16 k3 s1 same").unwrap();
        assert_eq!(Layer::parse("conv 16"), Some(full));
        assert_eq!(full.to_string(), "conv 16 k3 s1 same");
        let dw = Layer::parse(" dwconv  k5 s2 valid ").unwrap();
        assert_eq!(dw.to_string(), "dwconv k5 s2 valid");
        for s in ["maxpool 2", "avgpool 3", "gap", "dense 10"] {
            assert_eq!(Layer::parse(s).unwrap().to_string(), s);
        }
        for bad in [
            "",
            "conv",
            "conv 0",
            "conv 8 k0",
            "conv 8 k16",
            "conv 8 x3",
            "maxpool",
            "dense 4 5",
            "pool 2",
            "gap 1",
            "conv 08",
        ] {
            assert_eq!(Layer::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn shapes_macs_and_params_of_a_small_image_cnn() {
        let p = Plan::parse(
            "conv 8;maxpool 2;dwconv k3 s2 same;conv 16 k1 s1 valid;gap;dense 10",
            &[1, 28, 28],
            10,
        )
        .unwrap();
        let shapes: std::vec::Vec<_> = p.iter().map(|(_, _, o)| (o.c, o.h, o.w)).collect();
        assert_eq!(
            shapes,
            [
                (8, 28, 28),
                (8, 14, 14),
                (8, 7, 7),
                (16, 7, 7),
                (16, 1, 1),
                (10, 1, 1)
            ]
        );
        let macs = 28 * 28 * 8 * 9 + 7 * 7 * 8 * 9 + 7 * 7 * 16 * 8 + 16 * 10;
        assert_eq!(p.macs(), macs);
        assert_eq!(
            p.params(),
            (8 * 9 + 8) + (8 * 9 + 8) + (16 * 8 + 16) + (16 * 10 + 10)
        );
        assert_eq!(p.widest(), 28 * 28 * 8);
        let text = p.to_string();
        assert_eq!(
            Plan::parse(&text, &[1, 28, 28], 10).unwrap().to_string(),
            text
        );
    }

    #[test]
    fn a_sequence_uses_one_by_k_windows() {
        let p = Plan::parse("conv 16 k5 s1 valid;maxpool 2;gap;dense 9", &[12, 25], 9).unwrap();
        assert!(p.is_sequence());
        let (l, i, o) = p.iter().next().unwrap();
        assert_eq!((i.c, i.h, i.w, o.c, o.h, o.w), (12, 1, 25, 16, 1, 21));
        assert_eq!(l.weights(i, true), 16 * 5 * 12);
        assert_eq!(p.input_of(2).unwrap().w, 10);
    }

    #[test]
    fn misfits_are_refused_with_the_layer_named() {
        let e = |s, input: &[usize], c| Plan::parse(s, input, c).unwrap_err();
        assert_eq!(e("conv 8;dense 3", &[1, 4, 4], 10), LayerError::Head);
        assert_eq!(e("conv 8;gap", &[1, 4, 4], 8), LayerError::Head);
        assert_eq!(e("maxpool 5;dense 3", &[1, 4, 4], 3), LayerError::Shape(0));
        assert_eq!(e("conv 8 k4;dense 3", &[1, 4, 4], 3), LayerError::Shape(0));
        assert_eq!(
            e("dense 4;conv 8;dense 3", &[1, 4, 4], 3),
            LayerError::Shape(1)
        );
        assert_eq!(
            e("conv 8;pool 2;dense 3", &[1, 4, 4], 3),
            LayerError::Syntax(1)
        );
        assert_eq!(e("dense 3", &[16], 3), LayerError::Shape(0));
        // Sizes that overflow usize are refused, never wrapped (a crafted artifact).
        let huge = usize::MAX;
        let (wide, wider) = (
            format!("dense {huge}"),
            format!("dense {};dense 3", huge / 4),
        );
        assert_eq!(e("conv 8;dense 3", &[1, huge, 1], 3), LayerError::Shape(0));
        let (pw, deep) = ("conv 8 k1 s1 valid;gap;dense 3", [1, huge / 4, 1]);
        assert_eq!(e(pw, &deep, 3), LayerError::Shape(0));
        assert_eq!(e(&wide, &[2, 2, 2], huge), LayerError::Shape(0));
        assert_eq!(e(&wider, &[2, 2, 2], 3), LayerError::Shape(0));
        let many = ["gap"; MAX_OPS + 1].join(";");
        assert_eq!(e(&many, &[1, 4, 4], 1), LayerError::Count);
    }
}
