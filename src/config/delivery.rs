//! `[delivery]` → [`Delivery`]: how the outbox sends. Every knob is bounded:
//! a zero or huge value would stall delivery or flood a provider.

use super::error::{ConfigError, Source};
use super::raw::RawDelivery;
use super::Delivery;

/// The `[delivery]` section; defaults for whatever it leaves out.
pub(super) fn convert(raw: Option<RawDelivery>, src: &Source) -> Result<Delivery, ConfigError> {
    let mut delivery = Delivery::default();
    let Some(d) = raw else { return Ok(delivery) };
    if let Some(t) = d.timeout_seconds {
        let v = *t.get_ref();
        if !(v.is_finite() && v > 0.0 && v <= 300.0) {
            return Err(src.at(
                t.span(),
                "[delivery] timeout_seconds must be between 0 and 300",
            ));
        }
        delivery.timeout = std::time::Duration::from_secs_f64(v);
    }
    if let Some(c) = d.concurrency {
        if !(1..=256).contains(c.get_ref()) {
            return Err(src.at(c.span(), "[delivery] concurrency must be between 1 and 256"));
        }
        delivery.concurrency = *c.get_ref() as usize;
    }
    if let Some(a) = d.max_attempts {
        if !(1..=100).contains(a.get_ref()) {
            return Err(src.at(
                a.span(),
                "[delivery] max_attempts must be between 1 and 100",
            ));
        }
        delivery.max_attempts = *a.get_ref();
    }
    delivery.allow_link_local = d.allow_link_local.unwrap_or(false);
    Ok(delivery)
}
