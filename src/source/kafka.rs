//! Kafka / Event Hubs input: client settings per connection profile, Entra token supply for
//! OAUTHBEARER, and the librdkafka version gate.
//!
//! [`profile`] builds the consumer and producer `ClientConfig` exactly as `run` uses them (the
//! Event Hubs profile follows the service's documented limits); [`oauth`] keeps a token cache
//! that a background task refreshes, so librdkafka's token callback never blocks a runtime
//! thread; [`version`] refuses librdkafka builds known to break against Event Hubs.
//!
//! Routing never depends on the topic: every message body is split with
//! [`crate::decode::envelope::split_body`] and each row names its table in `Type`.

pub mod oauth;
pub mod profile;
pub mod version;

pub use oauth::TokenCache;
pub use profile::{consumer_config, producer_config};
