//! Definition of Ready and Definition of Done.
