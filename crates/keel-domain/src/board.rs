//! Board rules: columns, swimlanes, WIP limits.
