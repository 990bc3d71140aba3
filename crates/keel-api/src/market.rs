//! Wire types: competitors, stakeholders and their updates, go-to-market, PRDs, the portfolio.
