//! The pure core: every rule of the relay as plain functions and types. It
//! reaches the outside world only through [`crate::ports`].

pub mod answers;
pub mod body;
pub mod catch_up;
pub mod delivery;
pub mod destination;
pub mod event;
pub mod message;
pub mod notification;
pub mod processor;
pub mod protocol;
pub mod receiver;
pub mod signature;
pub mod subscription;
pub mod tenant;
