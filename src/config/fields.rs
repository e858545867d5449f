//! Small field readers shared by the top-level and route parsers.

use super::duration::{parse_duration, Secs};
use super::error::{ConfigError, Place};
use super::shape::ShapeError;
use serde::de::DeserializeOwned;

/// Reads one raw table at `place`; a shape error (wrong type, unknown field,
/// missing field) names the field path inside it. The path comes from
/// `serde_path_to_error`, natively only: in the worker it would add 16 KB
/// (gzip) to the Wasm for a message that `edgecache check` (run before every
/// build) has already shown with its line; there the message has no path.
pub(super) fn from_value<T: DeserializeOwned>(
    place: Place,
    value: serde_json::Value,
) -> Result<T, ConfigError> {
    #[cfg(not(target_arch = "wasm32"))]
    let read =
        serde_path_to_error::deserialize(value).map_err(|e| (e.path().to_string(), e.into_inner()));
    #[cfg(target_arch = "wasm32")]
    let read = serde_json::from_value(value).map_err(|e| (String::new(), e));
    read.map_err(|(path, e)| ConfigError::Shape {
        place,
        error: Box::new(ShapeError::new(&path, &e.to_string())),
    })
}

/// Text that is not JSON at all (the var given as a string).
pub(super) fn not_json(e: serde_json::Error) -> ConfigError {
    ConfigError::Shape {
        place: Place::Top,
        error: Box::new(ShapeError::other(format!("not JSON: {e}"))),
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
