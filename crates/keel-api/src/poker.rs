//! Wire types: planning poker, questions to the Product Owner, and the decision log.
