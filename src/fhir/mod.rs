//! FHIR R4 data and the one query parser: pure, depends on nothing else in the crate.
//!
//! - [`data`] — resource types and the Patient, Practitioner and RelatedPerson compartment definitions.
//! - [`references`] — reference search parameters and the types they target (generated from the R4 definitions),
//!   and the container types that can hold anything.
//! - [`query`] — the query string as every decision sees it: one splitter, one key normaliser, one encoder.

pub mod data;
pub mod query;
pub mod references;
pub mod request;
#[rustfmt::skip]
mod search_params;
