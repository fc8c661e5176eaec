//! Pools on channels-last samples (`[H, W, C]`): max and average over KH×KW windows of
//! stride KH×KW (a partial window at the edge is dropped), and the global average. Each
//! output pixel reads whole channel runs, so the inner loops run over contiguous channels.
//! A max pool after a conv is the fused ReLU + max-pool of the teacher: the conv's output is
//! already ReLU'd, and its backward applies the ReLU mask.
use super::Geom;

/// The input offset of window position (wy, wx) of output pixel (oy, ox), channel 0.
fn at(g: &Geom, oy: usize, ox: usize, wy: usize, wx: usize) -> usize {
    ((oy * g.kh + wy) * g.w + ox * g.kw + wx) * g.c
}

/// `y` = each window's maximum for `n` samples; `arg` the input index (within the sample)
/// of the first maximum, for the backward.
pub(super) fn max_forward(g: &Geom, x: &[f32], y: &mut [f32], arg: &mut [u32], n: usize) {
    let (c, il, ol) = (g.c, g.in_len(), g.out_len());
    for i in 0..n {
        let x = &x[i * il..(i + 1) * il];
        let (y, arg) = (&mut y[i * ol..(i + 1) * ol], &mut arg[i * ol..(i + 1) * ol]);
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let p = (oy * g.ow + ox) * c;
                let (out, idx) = (&mut y[p..p + c], &mut arg[p..p + c]);
                let first = at(g, oy, ox, 0, 0);
                out.copy_from_slice(&x[first..first + c]);
                idx.iter_mut()
                    .enumerate()
                    .for_each(|(j, a)| *a = (first + j) as u32);
                for wy in 0..g.kh {
                    for wx in 0..g.kw {
                        let s = at(g, oy, ox, wy, wx);
                        if s == first {
                            continue;
                        }
                        for (j, ((o, a), v)) in out
                            .iter_mut()
                            .zip(idx.iter_mut())
                            .zip(&x[s..s + c])
                            .enumerate()
                        {
                            if *v > *o {
                                *o = *v;
                                *a = (s + j) as u32;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Backward of [`max_forward`]: each output gradient goes to its window's maximum.
pub(super) fn max_backward(g: &Geom, dy: &[f32], dx: &mut [f32], arg: &[u32], n: usize) {
    let (il, ol) = (g.in_len(), g.out_len());
    for i in 0..n {
        let dx = &mut dx[i * il..(i + 1) * il];
        dx.fill(0.0);
        for (d, &a) in dy[i * ol..(i + 1) * ol]
            .iter()
            .zip(&arg[i * ol..(i + 1) * ol])
        {
            dx[a as usize] += d;
        }
    }
}

/// `y` = each window's mean for `n` samples.
pub(super) fn avg_forward(g: &Geom, x: &[f32], y: &mut [f32], n: usize) {
    let (c, il, ol) = (g.c, g.in_len(), g.out_len());
    let scale = 1.0 / (g.kh * g.kw) as f32;
    for i in 0..n {
        let x = &x[i * il..(i + 1) * il];
        let y = &mut y[i * ol..(i + 1) * ol];
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let out = &mut y[(oy * g.ow + ox) * c..][..c];
                out.fill(0.0);
                for wy in 0..g.kh {
                    for wx in 0..g.kw {
                        let s = at(g, oy, ox, wy, wx);
                        out.iter_mut().zip(&x[s..s + c]).for_each(|(o, v)| *o += v);
                    }
                }
                out.iter_mut().for_each(|o| *o *= scale);
            }
        }
    }
}

/// Backward of [`avg_forward`]: each output gradient spread evenly over its window.
pub(super) fn avg_backward(g: &Geom, dy: &[f32], dx: &mut [f32], n: usize) {
    let (c, il, ol) = (g.c, g.in_len(), g.out_len());
    let scale = 1.0 / (g.kh * g.kw) as f32;
    for i in 0..n {
        let dx = &mut dx[i * il..(i + 1) * il];
        let dy = &dy[i * ol..(i + 1) * ol];
        dx.fill(0.0);
        for oy in 0..g.oh {
            for ox in 0..g.ow {
                let d = &dy[(oy * g.ow + ox) * c..][..c];
                for wy in 0..g.kh {
                    for wx in 0..g.kw {
                        let s = at(g, oy, ox, wy, wx);
                        dx[s..s + c]
                            .iter_mut()
                            .zip(d)
                            .for_each(|(t, v)| *t = v * scale);
                    }
                }
            }
        }
    }
}

/// `y` (`[C]` per sample) = each channel's mean over all positions.
pub(super) fn gap_forward(g: &Geom, x: &[f32], y: &mut [f32], n: usize) {
    let (c, il) = (g.c, g.in_len());
    let scale = 1.0 / (g.h * g.w) as f32;
    for i in 0..n {
        let out = &mut y[i * c..(i + 1) * c];
        out.fill(0.0);
        for px in x[i * il..(i + 1) * il].chunks_exact(c) {
            out.iter_mut().zip(px).for_each(|(o, v)| *o += v);
        }
        out.iter_mut().for_each(|o| *o *= scale);
    }
}

/// Backward of [`gap_forward`].
pub(super) fn gap_backward(g: &Geom, dy: &[f32], dx: &mut [f32], n: usize) {
    let (c, il) = (g.c, g.in_len());
    let scale = 1.0 / (g.h * g.w) as f32;
    for i in 0..n {
        let d = &dy[i * c..(i + 1) * c];
        for px in dx[i * il..(i + 1) * il].chunks_exact_mut(c) {
            px.iter_mut().zip(d).for_each(|(t, v)| *t = v * scale);
        }
    }
}
