//! Stand-up, sprint review, retrospective.
