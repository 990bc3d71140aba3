//! Vision board, goals, key results and KPIs.
