//! An HTTP client's error with its causes on one line, for logs: the top
//! level of hyper's and reqwest's errors says only "client error" or "error
//! sending request".

pub fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
