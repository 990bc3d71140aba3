//! Retrospective boards.
