//! `http`: the protocol vocabulary (`Cache-Control`, `Cache-Status`, dates,
//! methods, targeted fields, time).

mod cache_control;
mod cache_status;
mod dates;
mod method;
mod targeted;
mod time;
