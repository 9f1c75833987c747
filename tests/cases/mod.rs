mod authentication;
mod cli;
mod forwarding;
mod key_sets;
mod operations;
mod smart;
mod tls;
mod token_cache;
