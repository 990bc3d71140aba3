//! Wire types: vision board, goals, key results and KPIs.
