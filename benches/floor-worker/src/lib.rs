//! Answers every request with a fixed body: what any workers-rs worker costs
//! in size and start-up before it does anything.
use worker::*;

#[event(fetch)]
async fn fetch(_req: Request, _env: Env, _ctx: Context) -> Result<Response> {
    Response::ok("ok")
}
