//! `observability`: what the worker tells its operator (`docs/observability.md`).

use super::error::{ConfigError, Place};
use super::fields::from_value;
use super::model::ObservabilitySettings;
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawObservability {
    server_timing: Option<bool>,
    log_sample: Option<f64>,
}

pub(super) fn parse_observability(v: Option<Value>) -> Result<ObservabilitySettings, ConfigError> {
    let place = Place::Section("observability");
    let raw: RawObservability = match v {
        None => return Ok(ObservabilitySettings::default()),
        Some(v) => from_value(place.clone(), v)?,
    };
    let d = ObservabilitySettings::default();
    let log_sample = raw.log_sample.unwrap_or(d.log_sample);
    if !(0.0..=1.0).contains(&log_sample) {
        return Err(ConfigError::BadValue {
            place,
            field: "log_sample",
            value: log_sample.to_string(),
            reason: "a fraction from 0 (errors only) to 1 (every request)",
        });
    }
    Ok(ObservabilitySettings {
        server_timing: raw.server_timing.unwrap_or(d.server_timing),
        log_sample,
    })
}
