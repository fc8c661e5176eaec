//! The balance penalty of [`crate::students::tree::loss`] and its gradient with respect to the branch
//! probabilities p and the reach probabilities r, for one batch.
//!
//! α_i = (num_i + ε/2) / (den_i + ε), num_i = K_i·past + f_i·mean_b(r_bi p_bi),
//! den_i = K_i·past + f_i·mean_b(r_bi) (f_i = 1 − K_i, or 1 on the first batch); the past is
//! a constant, so d num_i / d p_bi = f_i r_bi / B and d num_i / d r_bi = f_i p_bi / B.
use crate::students::tree::TreeConfig;
use crate::students::tree::loss::{ALPHA_CLAMP, Balance, EPS, balance_weights};

/// Returns the penalty (without λ) and overwrites `gp`, `gr` (`[B, N]`) with λ times its
/// gradient; advances the running averages.
pub fn penalty_and_grad(
    p: &[f32],
    reach: &[f32],
    inner: usize,
    cfg: &TreeConfig,
    state: &mut Balance,
    gp: &mut [f32],
    gr: &mut [f32],
) -> f64 {
    let b = p.len() / inner;
    let (weight, decay) = balance_weights(inner, cfg);
    let mut num_b = vec![0f32; inner];
    let mut den_b = vec![0f32; inner];
    for (pr, rr) in p.chunks_exact(inner).zip(reach.chunks_exact(inner)) {
        for i in 0..inner {
            num_b[i] += rr[i] * pr[i];
            den_b[i] += rr[i];
        }
    }
    let mut num = vec![0f32; inner];
    let mut den = vec![0f32; inner];
    let mut fresh = vec![1f32; inner];
    for i in 0..inner {
        num_b[i] /= b as f32;
        den_b[i] /= b as f32;
        (num[i], den[i]) = match state.sums() {
            Some((n, d)) => {
                fresh[i] = 1.0 - decay[i];
                (
                    n[i] * decay[i] + num_b[i] * fresh[i],
                    d[i] * decay[i] + den_b[i] * fresh[i],
                )
            }
            None => (num_b[i], den_b[i]),
        };
    }
    let mut pen = 0f64;
    // d penalty / d num_i and / d den_i, times λ / B.
    let mut d_num = vec![0f32; inner];
    let mut d_den = vec![0f32; inner];
    for i in 0..inner {
        let (n, d) = (num[i] as f64 + 0.5 * EPS, den[i] as f64 + EPS);
        let raw = n / d;
        let lo = f64::from(ALPHA_CLAMP);
        let a = raw.clamp(lo, 1.0 - lo);
        pen += weight[i] as f64 * -0.5 * (a.ln() + (1.0 - a).ln());
        if raw > lo && raw < 1.0 - lo {
            let d_alpha = weight[i] as f64 * -0.5 * (1.0 / a - 1.0 / (1.0 - a));
            let s = cfg.balance * d_alpha * fresh[i] as f64 / b as f64;
            d_num[i] = (s / d) as f32;
            d_den[i] = (-s * n / (d * d)) as f32;
        }
    }
    for ((gpr, grr), (pr, rr)) in gp
        .chunks_exact_mut(inner)
        .zip(gr.chunks_exact_mut(inner))
        .zip(p.chunks_exact(inner).zip(reach.chunks_exact(inner)))
    {
        for i in 0..inner {
            gpr[i] = d_num[i] * rr[i];
            grr[i] = d_num[i] * pr[i] + d_den[i];
        }
    }
    state.set(num, den);
    pen
}
