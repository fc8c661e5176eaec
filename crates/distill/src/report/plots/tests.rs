use super::*;
type R<T = ()> = Result<T, Box<dyn std::error::Error>>;

fn dir(name: &str) -> R<std::path::PathBuf> {
    let d = std::env::temp_dir().join(format!("distill-plots-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}

/// PNG signature, then the IHDR chunk's width and height, big-endian.
fn png_size(path: &Path) -> R<(u32, u32)> {
    let b = std::fs::read(path)?;
    assert!(b.len() > 24 && b.starts_with(b"\x89PNG\r\n\x1a\n") && &b[12..16] == b"IHDR");
    let be = |i: usize| b[i..i + 4].try_into().map(u32::from_be_bytes);
    Ok((be(16)?, be(20)?))
}

fn fashion() -> Vec<String> {
    let n = "T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot";
    n.split(',').map(String::from).collect()
}

fn curve(label: &str, n: usize, f: fn(f64) -> f64) -> Curve {
    Curve {
        label: label.into(),
        points: (1..=n).map(|e| (e as f64, f(e as f64))).collect(),
    }
}

#[test]
fn curves_render_and_reject_empty() -> R {
    let d = dir("curves")?;
    register_font()?;
    register_font()?; // idempotent
    let loss = [
        curve("teacher", 12, |e| 2.0 / e),
        curve("KD student", 8, |e| 2.5 / e),
    ];
    let acc = [
        curve("teacher", 12, |e| 90.0 - 20.0 / e),
        curve("label-only", 1, |_| 70.0),
    ];
    let p = d.join("curves.png");
    training_curves(
        &p,
        "Fashion-MNIST distillation",
        &loss,
        &acc,
        "validation accuracy",
    )?;
    assert_eq!(png_size(&p)?, (1200, 520));
    assert!(!fsutil::tmp_path(&p).exists());
    let nan = [curve("diverged", 3, |_| f64::NAN)];
    let e = training_curves(&d.join("e.png"), "t", &loss, &nan, "v");
    assert!(
        matches!(e, Err(PlotError::Empty(m)) if m.contains("accuracy")),
        "{e:?}"
    );
    let e = training_curves(&p, "t", &[], &acc, "v");
    assert!(
        matches!(e, Err(PlotError::Empty(m)) if m.contains("loss")),
        "{e:?}"
    );
    let e_png = d.join("e.png");
    assert!(!e_png.exists() && !fsutil::tmp_path(&e_png).exists());
    let e = training_curves(&d.join("no/such/dir.png"), "t", &loss, &acc, "v");
    assert!(matches!(e, Err(PlotError::Draw(_))), "{e:?}");
    Ok(std::fs::remove_dir_all(d)?)
}

#[test]
fn confusion_renders_and_checks_shape() -> R {
    let d = dir("confusion")?;
    let (names, p) = (fashion(), d.join("cm.png"));
    let counts: Vec<u32> = (0..100)
        .map(|i| if i % 11 == 0 { 900 } else { i % 40 })
        .collect();
    confusion_matrix(&p, "Confusion matrix: KD student", &counts, &names)?;
    let (w, h) = png_size(&p)?;
    assert!(w >= 640 && h >= 640, "{w}x{h}");
    let bad = confusion_matrix(&p, "t", &counts[..99], &names);
    assert!(matches!(bad, Err(PlotError::Input(_))), "{bad:?}");
    assert!(matches!(
        confusion_matrix(&p, "t", &[], &[]),
        Err(PlotError::Empty(_))
    ));
    Ok(std::fs::remove_dir_all(d)?)
}

#[test]
fn grid_renders_and_checks_tiles() -> R {
    let d = dir("grid")?;
    let tile = |i: usize| Tile {
        caption: format!("node {i}: {}", fashion()[i % 10]),
        width: 28,
        height: 28,
        pixels: (0..784)
            .map(|k| ((k % 28) as f32 - 13.5) * (k / 28 + i) as f32)
            .collect(),
    };
    let (tiles, p) = ((0..7).map(tile).collect::<Vec<_>>(), d.join("grid.png"));
    image_grid(&p, "Soft decision tree filters", &tiles, 4)?;
    assert_eq!(png_size(&p)?, (4 * 146 + 16, 2 * (112 + 52) + 68));
    assert!(matches!(
        image_grid(&p, "t", &tiles, 0),
        Err(PlotError::Input(_))
    ));
    assert!(matches!(
        image_grid(&p, "t", &[], 3),
        Err(PlotError::Empty(_))
    ));
    let short = Tile {
        caption: "bad".into(),
        width: 28,
        height: 28,
        pixels: vec![0.0; 783],
    };
    assert!(matches!(
        image_grid(&p, "t", &[short], 1),
        Err(PlotError::Input(_))
    ));
    Ok(std::fs::remove_dir_all(d)?)
}
