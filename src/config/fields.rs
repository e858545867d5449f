//! Small field readers shared by the top-level and route parsers.

use super::duration::{parse_duration, Secs};
use super::error::{ConfigError, Place};

/// A serde shape error (wrong type, unknown field, missing field) at `place`.
pub(super) fn shape(place: Place, e: serde_json::Error) -> ConfigError {
    ConfigError::Shape {
        place,
        message: e.to_string(),
    }
}

pub(super) fn duration(
    place: &Place,
    field: &str,
    value: Option<&str>,
    default: Secs,
) -> Result<Secs, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) => parse_duration(v).map_err(|error| ConfigError::BadDuration {
            place: place.clone(),
            field: field.to_string(),
            error,
        }),
    }
}
