//! Teams, capacity, sprints: planning, start, close.
