//! Competitors, stakeholders and their updates, go-to-market, PRDs, the portfolio.
