//! Definition of Ready and Done, acceptance, bulk edit, releases.
