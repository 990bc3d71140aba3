//! Runs the storage conformance suite on SQLite, and on PostgreSQL when configured.

keel_testkit::store_tests!(pings);
