//! Sets `cfg(arm_dsp)` when the target has the Armv7E-M DSP extension (SXTB16, SMLAD).
//!
//! Why not `cfg(target_feature = "dsp")`: Arm target features are unstable, and stable rustc
//! does not emit their cfg at all (`rustc --print cfg --target thumbv7em-none-eabihf` lists
//! no `target_feature`; with RUSTC_BOOTSTRAP=1 it lists "dsp"). So the feature is honoured
//! when a compiler reports it, and otherwise inferred from the target name: every
//! `thumbv7em-*` target (Cortex-M4/M7) has DSP by definition of Armv7E-M.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(arm_dsp)");
    println!("cargo::rerun-if-changed=build.rs");
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let features = std::env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let target = std::env::var("TARGET").unwrap_or_default();
    let has_dsp = features.split(',').any(|f| f == "dsp") || target.starts_with("thumbv7em");
    if arch == "arm" && has_dsp {
        println!("cargo::rustc-cfg=arm_dsp");
    }
}
