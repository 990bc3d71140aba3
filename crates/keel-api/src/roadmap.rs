//! Wire types: initiatives and the roadmap, published roadmaps.
