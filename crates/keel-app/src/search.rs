//! The search indexer: bulk writes (imports, generated datasets) leave their items' text for it
//! (the store's `search_pending` list), and it adds them to the full-text index after the commit.

use crate::{App, AppResult};

/// Items the search indexer adds per transaction: small enough that other writers wait at most
/// tens of milliseconds for it, large enough that the index grows in few segments.
pub const SEARCH_INDEX_BATCH: u64 = 2_000;

impl App {
    /// Adds the items that bulk writes (imports, generated datasets) left for later to the
    /// full-text index, in batches, until none is left; `progress` is told (indexed, waiting at
    /// the start) after each batch. Searches find those items meanwhile, by reading their text.
    pub async fn index_search(&self, progress: &mut (dyn FnMut(u64, u64) + Send)) -> AppResult<u64> {
        let total = self.store.search_backlog().await?;
        let mut done = 0;
        loop {
            let n = self.store.index_search(SEARCH_INDEX_BATCH).await?;
            if n == 0 {
                return Ok(done);
            }
            done += n;
            progress(done, total.max(done));
        }
    }

    /// The background search indexer of `keel serve`: drains what bulk writes leave (several
    /// processes share the work), then looks again every few seconds.
    pub async fn run_search_indexer(self) {
        loop {
            match self.store.index_search(SEARCH_INDEX_BATCH).await {
                Ok(n) if n > 0 => {
                    // Lets waiting writers in between batches.
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "search indexer: could not index"),
            }
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        }
    }
}
