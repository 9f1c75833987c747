//! One integration-test binary: every server on 127.0.0.1:0, no shared globals.

mod cases;
mod support;
