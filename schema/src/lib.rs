//! The console request's JSON Schema, derived: `request.schema.json` is generated from
//! `berth::model::ConsoleRequest` and what it nests (schemars, berth's `schema` feature), with the
//! ranges of `berth::model::limits`. Plan stays the authority; the schema lets an editor, a CLI or
//! a CI job refuse a bad request before an execution starts.
//!
//! The tests generate the schema and fail while the checked-in copy differs
//! (`BERTH_BLESS=1 cargo test -p berth-schema` rewrites it); they also check that `examples/`
//! passes Plan's checks and that every request in `refused.json` is refused by them (the Python
//! test `tests/test_schema.py` checks the same files against the schema).
//!
//! All of it is test code, so no Lambda links it (see Cargo.toml).

#[cfg(test)]
mod current;
#[cfg(test)]
mod event;
#[cfg(test)]
mod requests;
