//! Wire types: stand-up, sprint review, retrospective.
