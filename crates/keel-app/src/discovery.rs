//! Customer feedback, the feedback widget, opportunities and their scores.
