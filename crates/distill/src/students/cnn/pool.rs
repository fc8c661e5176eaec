//! Max-pooling with a correct gradient: kh×kw windows, stride (kh, kw), channels-first
//! `[B, C, H, W]`, a partial window dropped (FORMAT.md, "CNN").
//!
//! candle 0.11's `max_pool2d` backward multiplies each window's gradient by (maxima in the
//! window) / (window size): 1/4 for the usual unique maximum of a 2×2 window, as if it were an
//! average pool (`candle_max_pool_backward_is_scaled` in the tests keeps watch). So the CPU
//! path is this op, whose backward routes each pooled gradient to the first maximum of its
//! window (PyTorch's rule); other devices use a reshape-and-max composition, whose gradient
//! is candle's reduce-max one (correct, a tie shares nothing: each tied maximum gets it all).
use candle_core::{CpuStorage, CustomOp1, CustomOp2, DType, Layout, Result, Shape, Tensor};

/// `[B, C, H, W]` → `[B, C, H / kh, W / kw]`: the maximum of each window.
struct MaxPool {
    kh: usize,
    kw: usize,
}

/// Backward of [`MaxPool`]: `(x, grad of the output)` → grad of `x`.
struct MaxPoolGrad {
    kh: usize,
    kw: usize,
}

fn slice<'a>(s: &'a CpuStorage, l: &Layout) -> Result<&'a [f32]> {
    let CpuStorage::F32(v) = s else {
        candle_core::bail!("max-pool expects f32")
    };
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&v[a..b]),
        None => candle_core::bail!("max-pool expects contiguous tensors"),
    }
}

/// Calls `f(output index, input index of its window's first maximum)` for every output.
fn winners(
    x: &[f32],
    (b, c, h, w): (usize, usize, usize, usize),
    (kh, kw): (usize, usize),
    mut f: impl FnMut(usize, usize),
) {
    let (oh, ow) = (h / kh, w / kw);
    let mut o = 0;
    for plane in 0..b * c {
        let base = plane * h * w;
        for oy in 0..oh {
            for ox in 0..ow {
                let mut at = base + oy * kh * w + ox * kw;
                let mut best = x[at];
                for dy in 0..kh {
                    let row = base + (oy * kh + dy) * w + ox * kw;
                    for (i, &v) in x.iter().enumerate().skip(row).take(kw) {
                        if v > best {
                            best = v;
                            at = i;
                        }
                    }
                }
                f(o, at);
                o += 1;
            }
        }
    }
}

impl CustomOp1 for MaxPool {
    fn name(&self) -> &'static str {
        "cnn-maxpool"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let dims = l.shape().dims4()?;
        let x = slice(s, l)?;
        let (b, c, h, w) = dims;
        let (oh, ow) = (h / self.kh, w / self.kw);
        let mut out = vec![0f32; b * c * oh * ow];
        winners(x, dims, (self.kh, self.kw), |o, at| out[o] = x[at]);
        Ok((CpuStorage::F32(out), Shape::from((b, c, oh, ow))))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let op = MaxPoolGrad {
            kh: self.kh,
            kw: self.kw,
        };
        Ok(Some(arg.apply_op2_no_bwd(&grad.contiguous()?, &op)?))
    }
}

impl CustomOp2 for MaxPoolGrad {
    fn name(&self) -> &'static str {
        "cnn-maxpool-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let dims = l1.shape().dims4()?;
        let (x, g) = (slice(s1, l1)?, slice(s2, l2)?);
        let mut out = vec![0f32; x.len()];
        winners(x, dims, (self.kh, self.kw), |o, at| out[at] = g[o]);
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }
}

/// Max-pooling of `[B, C, H, W]` over kh×kw windows with stride (kh, kw).
pub fn max_pool(x: &Tensor, (kh, kw): (usize, usize)) -> Result<Tensor> {
    if x.device().is_cpu() && x.dtype() == DType::F32 {
        x.contiguous()?.apply_op1(MaxPool { kh, kw })
    } else {
        max_pool_composed(x, (kh, kw))
    }
}

/// The same through candle's reshape and reduce-max (any device; the tests' reference).
pub fn max_pool_composed(x: &Tensor, (kh, kw): (usize, usize)) -> Result<Tensor> {
    let (b, c, h, w) = x.dims4()?;
    let (oh, ow) = (h / kh, w / kw);
    x.narrow(2, 0, oh * kh)?
        .narrow(3, 0, ow * kw)?
        .contiguous()?
        .reshape((b, c, oh, kh, ow, kw))?
        .max(5)?
        .max(3)
}

/// Average-pooling over kh×kw windows with stride (kh, kw), a partial window dropped. The
/// input is cut to whole windows first: candle's backward upsamples the gradient to the
/// input's size, which only lines up when the windows tile it.
pub fn avg_pool(x: &Tensor, (kh, kw): (usize, usize)) -> Result<Tensor> {
    let (_, _, h, w) = x.dims4()?;
    let (oh, ow) = (h / kh, w / kw);
    let x = if (oh * kh, ow * kw) == (h, w) {
        x.clone()
    } else {
        x.narrow(2, 0, oh * kh)?
            .narrow(3, 0, ow * kw)?
            .contiguous()?
    };
    x.avg_pool2d_with_stride((kh, kw), (kh, kw))
}
