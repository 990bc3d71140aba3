//! Wire types: definition of Ready and Done, acceptance, bulk edit, releases.
