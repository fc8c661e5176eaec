//! The chain an error prints, and the variants its constructors build.
use super::*;

fn io() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::NotFound, "inner")
}

#[test]
fn a_context_shows_itself_and_its_source_once_each() {
    let e = Err::<(), _>(io()).context("outer").unwrap_err();
    assert_eq!(e.to_string(), "outer");
    assert_eq!(chain(&e), "outer: inner");
    let e = Err::<(), _>(e).with_context(|| "top").unwrap_err();
    assert_eq!(chain(&e), "top: outer: inner");
    // A transparent variant is its source's message, not a copy of it.
    let e = Error::from(DataError::NotFound {
        dir: "d".into(),
        hint: "h".into(),
    });
    assert_eq!(
        chain(&e.context("loading")),
        "loading: no dataset found in d: h"
    );
}

#[test]
fn a_bad_setting_is_a_config_error() {
    let mut cfg = crate::config::Config::default();
    cfg.kd.alpha = 2.0;
    let e = cfg.validate().unwrap_err();
    assert!(
        matches!(&e, Error::Config(m) if m.starts_with("kd.alpha")),
        "{e:?}"
    );
    // An unreadable experiment file says so, with the system's reason as its source.
    let e = crate::config::Config::load("/no/such/run.toml".as_ref()).unwrap_err();
    assert!(
        matches!(&e, Error::Context { context, source }
            if context == "/no/such/run.toml: cannot read the config"
                && matches!(**source, Error::Io(_))),
        "{e:?}"
    );
    assert!(matches!(
        crate::device::choose("gpu"),
        Err(Error::Config(m)) if m == "--device gpu: expected auto, cpu or cuda:N"
    ));
}

#[test]
fn bail_and_ensure_build_the_named_variant() {
    fn check(n: usize) -> Result<usize> {
        ensure!(n > 0, Config, "n must be > 0, got {n}");
        if n > 9 {
            bail!(Mismatch, "{n} is too big");
        }
        Ok(n)
    }
    assert_eq!(check(3).unwrap(), 3);
    assert!(matches!(check(0), Err(Error::Config(m)) if m == "n must be > 0, got 0"));
    assert!(matches!(check(10), Err(Error::Mismatch(m)) if m == "10 is too big"));
}
