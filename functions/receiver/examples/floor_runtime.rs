//! A reference for `scripts/bench-lambda --floors`: lambda_runtime answering
//! every invocation with a fixed 200, unread. What any Rust function on this
//! runtime costs per request before it does any work.

use lambda_runtime::{LambdaEvent, Runtime, service_fn};
use serde_json::value::RawValue;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    Runtime::new(service_fn(|_: LambdaEvent<Box<RawValue>>| async {
        Ok::<_, std::convert::Infallible>(serde_json::json!({ "statusCode": 200 }))
    }))
    .run()
    .await
}
