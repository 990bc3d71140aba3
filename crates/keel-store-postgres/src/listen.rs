//! Live updates across processes: one dedicated connection per server process runs
//! `LISTEN keel_events` (migration 0008's trigger notifies `product:newest id` when events
//! commit) and hands each notification to the sink. When the connection breaks it reconnects
//! after a pause and tells the sink "anything may have happened" (`None, 0`) so listeners read
//! the history again: nothing committed meanwhile is lost, because the history is the source.

use keel_domain::ProductId;
use keel_store::EventSink;
use std::time::Duration;
use tokio_postgres::{AsyncMessage, Config};

/// How often the listening connection is checked (a dead peer is otherwise never noticed).
const PING_EVERY: Duration = Duration::from_secs(20);
/// Pause before reconnecting, doubled per failure up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(500);
const MAX_PAUSE: Duration = Duration::from_secs(15);

/// Spawns the listening task; it runs for the life of the process. Its connection is watched
/// like the pool's (`limit`): a ping the server leaves unanswered closes it, and it reconnects.
pub(crate) fn spawn(config: Config, limit: Duration, sink: EventSink) {
    tokio::spawn(async move {
        let mut pause = FIRST_PAUSE;
        loop {
            match listen(&config, limit, &sink).await {
                Ok(()) => pause = FIRST_PAUSE,
                Err(e) => {
                    tracing::warn!(error = %e, "live updates: the LISTEN connection failed; reconnecting")
                }
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(MAX_PAUSE);
        }
    });
}

/// Parses a `product:id` payload (`product` empty for events of no product).
pub(crate) fn parse(payload: &str) -> Option<(Option<ProductId>, i64)> {
    let (p, id) = payload.split_once(':')?;
    let id = id.parse().ok()?;
    let product = if p.is_empty() { None } else { Some(ProductId(p.parse().ok()?)) };
    Some((product, id))
}

async fn listen(config: &Config, limit: Duration, sink: &EventSink) -> Result<(), tokio_postgres::Error> {
    let (client, mut conn) = crate::watch::open_raw(config, limit).await?;
    let fan = sink.clone();
    // The connection must be polled for the LISTEN to complete, so it is driven first.
    let mut driver = tokio::spawn(async move {
        loop {
            match std::future::poll_fn(|cx| conn.poll_message(cx)).await {
                Some(Ok(AsyncMessage::Notification(n))) => {
                    if let Some((product, id)) = parse(n.payload()) {
                        fan(product, id);
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            }
        }
    });
    client.batch_execute("LISTEN keel_events").await?;
    // Events may have committed while no one listened (start-up, a reconnect).
    sink(None, 0);
    let mut ping = tokio::time::interval(PING_EVERY);
    loop {
        tokio::select! {
            r = &mut driver => return r.unwrap_or(Ok(())),
            _ = ping.tick() => {
                if let Err(e) = client.simple_query("SELECT 1").await {
                    driver.abort();
                    return Err(e);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_payloads() {
        assert_eq!(parse("12:345"), Some((Some(ProductId(12)), 345)));
        assert_eq!(parse(":7"), Some((None, 7)));
        assert_eq!(parse("x:7"), None);
        assert_eq!(parse("7"), None);
    }
}
