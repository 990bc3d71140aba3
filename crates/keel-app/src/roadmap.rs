//! Initiatives and the roadmap, published roadmaps.
