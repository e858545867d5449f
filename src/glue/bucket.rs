//! A bucket origin's read (`Platform::fetch_bucket`): `s3` over HTTP (the
//! request built, and signed for a private bucket, by `request::s3`), `r2`
//! through its binding (src/glue/js/r2.js). The answer goes back as it came;
//! the core classifies it (`flow::bucket_read`).

use super::convert::to_worker;
use super::platform::{answer, Edge};
use crate::flow::bucket::BucketTarget;
use crate::flow::fetched::FetchError;
use crate::flow::platform::{Fetch, OriginRequest, Platform};
use crate::http::headers::Headers as CoreHeaders;
use crate::http::method::Method;
use crate::request::s3::{s3_get, BUCKET_REQUEST_HEADERS};
use crate::request::sigv4::Credentials;
use crate::response::bucket::{BucketAnswer, Refusal};
use std::collections::BTreeMap;
use std::time::Duration;
use wasm_bindgen::prelude::*;
use worker::{Env, Response};

#[wasm_bindgen(module = "/src/glue/js/r2.js")]
extern "C" {
    fn edgecache_r2_get(
        bucket: &JsValue,
        key: &str,
        conditional: &worker::web_sys::Headers,
    ) -> js_sys::Promise;
    fn edgecache_binding(env: &JsValue, name: &str) -> JsValue;
}

/// What the isolate keeps for its bucket origins, read once from `env`.
#[derive(Default)]
pub struct Buckets {
    /// Access key pairs of private `s3` origins, by origin name.
    credentials: BTreeMap<String, Credentials>,
    /// R2 bucket bindings, by binding name.
    r2: BTreeMap<String, JsValue>,
}

impl Buckets {
    pub fn load(env: &Env, config: &crate::config::Config) -> Buckets {
        let mut out = Buckets::default();
        for origin in config.origins.values() {
            match origin {
                crate::config::Origin::S3(s) if s.private => {
                    let [id, secret] = s.secret_names();
                    if let (Some(id), Some(secret)) =
                        (super::secret(env, &id), super::secret(env, &secret))
                    {
                        out.credentials
                            .insert(s.name.clone(), Credentials::new(&id, &secret));
                    }
                }
                crate::config::Origin::R2(r) => {
                    let b = edgecache_binding(env.as_ref(), &r.binding);
                    out.r2.insert(r.binding.clone(), b);
                }
                _ => {}
            }
        }
        out
    }
}

/// The GET of `target` (with `validators` when revalidating), classified.
pub async fn fetch_bucket(
    edge: &Edge,
    buckets: &Buckets,
    target: &BucketTarget<'_>,
    validators: &CoreHeaders,
    timeout: Duration,
) -> Fetch<Response> {
    match target {
        BucketTarget::S3 { origin, key } => {
            let creds = buckets.credentials.get(&origin.name);
            if origin.private && creds.is_none() {
                let [id, secret] = origin.secret_names();
                return refused(
                    Refusal::NoCredentials,
                    &format!(
                        "origin `{}`: secrets {id} and {secret} are not both set",
                        origin.name
                    ),
                );
            }
            let get = s3_get(origin, key, validators, creds, edge.now_secs());
            let req = OriginRequest {
                url: &get.url,
                method: &Method::Get,
                headers: &get.headers,
                body: None,
                timeout,
            };
            edge.fetch(req).await
        }
        BucketTarget::R2 { origin, key } => {
            let bucket = buckets
                .r2
                .get(&origin.binding)
                .cloned()
                .unwrap_or(JsValue::UNDEFINED);
            r2_get(&bucket, key, validators).await
        }
    }
}

async fn r2_get(bucket: &JsValue, key: &str, validators: &CoreHeaders) -> Fetch<Response> {
    let mut conditional = CoreHeaders::new();
    for name in BUCKET_REQUEST_HEADERS {
        if let Some(v) = validators.get(name) {
            conditional.append(name, v);
        }
    }
    let failed = |why: String| Fetch::Failed {
        error: FetchError::Unreachable,
        why,
    };
    let headers = match to_worker(&conditional) {
        Ok(h) => h,
        Err(e) => return failed(format!("bad header: {e}")),
    };
    match wasm_bindgen_futures::JsFuture::from(edgecache_r2_get(bucket, key, &headers.0)).await {
        Ok(v) => match v.as_string() {
            Some(why) => failed(format!("R2: {why}")),
            None => answer(Response::from(worker::web_sys::Response::from(v))),
        },
        Err(e) => failed(format!("R2: {e:?}")),
    }
}

fn refused(r: Refusal, detail: &str) -> Fetch<Response> {
    Fetch::Failed {
        error: FetchError::Bucket(BucketAnswer::Refused(r)),
        why: format!("{}: {detail}", r.cause()),
    }
}
