//! Where the outside world comes in: each edge turns a transport's request or
//! message into a call on the core and its answer back into the transport's.

#[cfg(feature = "lambda")]
#[cfg_attr(docsrs, doc(cfg(feature = "lambda")))]
pub mod lambda;
#[cfg(feature = "local-http")]
#[cfg_attr(docsrs, doc(cfg(feature = "local-http")))]
pub mod local_http;
pub mod queue_poller;
