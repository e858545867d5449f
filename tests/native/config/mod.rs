//! `config`: parsing and validating the config, production hazards, route
//! path patterns.

mod pattern_errors;
mod production_hazards;
mod typed_params;
mod validation;
