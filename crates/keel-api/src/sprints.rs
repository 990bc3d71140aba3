//! Wire types: teams, capacity, sprints: planning, start, close.
