//! Wire types: customer feedback, the feedback widget, opportunities and their scores.
