//! Container logs as the CRI runtime writes them (one entry per line:
//! `<RFC 3339 nano time> <stdout|stderr> <P|F> <content>`, `P` marking a partial line), read
//! back with upstream's options: `tailLines`, `sinceSeconds`/`sinceTime`, `timestamps`,
//! `limitBytes` and `follow`.

use bytes::Bytes;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::mpsc;

/// What the caller asked for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogOptions {
    /// Keep streaming as the container writes.
    pub follow: bool,
    /// The previous instance of the container.
    pub previous: bool,
    /// Only the last N lines.
    pub tail_lines: Option<usize>,
    /// Only entries at or after this time (seconds since the epoch).
    pub since: Option<u64>,
    /// Prefix each line with its time.
    pub timestamps: bool,
    /// Stop after this many bytes.
    pub limit_bytes: Option<u64>,
}

impl LogOptions {
    /// Reads the options from a query string, with `now` (seconds since the epoch) to turn
    /// `sinceSeconds` into a time.
    pub fn from_query(query: &str, now: u64) -> Result<Self, String> {
        let mut options = Self::default();
        for (key, value) in crate::query::pairs(query) {
            let flag = || value.is_empty() || value == "true" || value == "1";
            let number = |what: &str| {
                value
                    .parse::<u64>()
                    .map_err(|_| format!("invalid {what}: {value:?}"))
            };
            match key.as_str() {
                "follow" => options.follow = flag(),
                "previous" => options.previous = flag(),
                "timestamps" => options.timestamps = flag(),
                "tailLines" => options.tail_lines = Some(number("tailLines")? as usize),
                "limitBytes" => options.limit_bytes = Some(number("limitBytes")?),
                "sinceSeconds" => options.since = Some(now.saturating_sub(number("sinceSeconds")?)),
                "sinceTime" => {
                    options.since = Some(
                        gantry_api::time::parse_rfc3339(&value)
                            .ok_or_else(|| format!("invalid sinceTime: {value:?}"))?,
                    );
                }
                _ => {}
            }
        }
        Ok(options)
    }
}

/// One log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The runtime's timestamp, as written.
    pub time: &'a str,
    /// The content, without the newline.
    pub content: &'a [u8],
    /// Whether the line continues in the next entry.
    pub partial: bool,
}

/// Parses one line of a CRI log file (without its newline).
pub fn parse(line: &[u8]) -> Option<Entry<'_>> {
    let mut parts = line.splitn(4, |b| *b == b' ');
    let time = std::str::from_utf8(parts.next()?).ok()?;
    let _stream = parts.next()?;
    let tag = parts.next()?;
    let content = parts.next().unwrap_or(b"");
    Some(Entry {
        time,
        content,
        partial: tag.first() == Some(&b'P'),
    })
}

/// Renders the entries of `data` (whole lines) that pass the time filter.
fn render(data: &[u8], options: &LogOptions, out: &mut Vec<u8>) {
    let mut line_start = true;
    for line in data.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let Some(entry) = parse(line) else { continue };
        if let Some(since) = options.since
            && gantry_api::time::parse_rfc3339(entry.time).is_some_and(|t| t < since)
        {
            continue;
        }
        if options.timestamps && line_start {
            out.extend_from_slice(entry.time.as_bytes());
            out.push(b' ');
        }
        out.extend_from_slice(entry.content);
        if !entry.partial {
            out.push(b'\n');
        }
        line_start = !entry.partial;
    }
}

/// The part of `data` holding its last `n` lines, where a line is a run of partial entries
/// closed by a full one.
fn tail(data: &[u8], n: usize) -> &[u8] {
    // Where each line starts: the file's start and after every full entry.
    let mut starts = vec![0];
    let mut at = 0;
    for entry in data.split_inclusive(|b| *b == b'\n') {
        at += entry.len();
        let line = entry.strip_suffix(b"\n").unwrap_or(entry);
        if parse(line).is_some_and(|e| !e.partial) {
            starts.push(at);
        }
    }
    let lines = starts.len() - 1;
    if n >= lines {
        return data;
    }
    &data[starts[lines - n]..]
}

/// Streams the log at `path` into `sink` as the options say; with `follow`, keeps reading
/// while `running` says the container still runs (checked between reads).
pub async fn stream(
    path: PathBuf,
    options: LogOptions,
    sink: mpsc::Sender<Bytes>,
    running: impl Fn() -> futures::future::BoxFuture<'static, bool> + Send,
) -> std::io::Result<()> {
    let mut file = tokio::fs::File::open(&path).await?;
    let mut data = Vec::new();
    file.read_to_end(&mut data).await?;
    // Only whole lines are rendered; a trailing fragment waits for its newline.
    let whole = data.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let start = match options.tail_lines {
        Some(n) => whole - tail(&data[..whole], n).len(),
        None => 0,
    };
    let mut sent = 0u64;
    let mut out = Vec::new();
    render(&data[start..whole], &options, &mut out);
    if !send(&sink, &mut out, &mut sent, options.limit_bytes).await {
        return Ok(());
    }
    if !options.follow {
        return Ok(());
    }
    let mut offset = whole as u64;
    let mut idle_rounds = 0;
    loop {
        file.seek(std::io::SeekFrom::Start(offset)).await?;
        let mut fresh = Vec::new();
        file.read_to_end(&mut fresh).await?;
        let whole = fresh.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        if whole > 0 {
            render(&fresh[..whole], &options, &mut out);
            if !send(&sink, &mut out, &mut sent, options.limit_bytes).await {
                return Ok(());
            }
            offset += whole as u64;
            idle_rounds = 0;
            continue;
        }
        idle_rounds += 1;
        // Every second without news, ask whether the container is still there to write.
        if idle_rounds % 10 == 0 && !running().await {
            return Ok(());
        }
        if sink.is_closed() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sends what `out` holds, cut at the byte limit; false when the stream should end.
async fn send(
    sink: &mpsc::Sender<Bytes>,
    out: &mut Vec<u8>,
    sent: &mut u64,
    limit: Option<u64>,
) -> bool {
    if out.is_empty() {
        return limit.is_none_or(|l| *sent < l);
    }
    let mut chunk = std::mem::take(out);
    if let Some(limit) = limit {
        let left = limit.saturating_sub(*sent) as usize;
        chunk.truncate(left);
    }
    *sent += chunk.len() as u64;
    if sink.send(Bytes::from(chunk)).await.is_err() {
        return false;
    }
    limit.is_none_or(|l| *sent < l)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &[u8] = b"2026-01-01T00:00:01.000000001Z stdout F one\n2026-01-01T00:00:02.5Z stderr P tw\n2026-01-01T00:00:02.6Z stderr F o\n2026-01-01T00:00:03Z stdout F three\n";

    fn rendered(options: &LogOptions, data: &[u8]) -> String {
        let mut out = Vec::new();
        render(data, options, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn partial_entries_join_into_one_line() {
        assert_eq!(rendered(&LogOptions::default(), LOG), "one\ntwo\nthree\n");
    }

    #[test]
    fn timestamps_prefix_each_line_once() {
        let options = LogOptions {
            timestamps: true,
            ..LogOptions::default()
        };
        let text = rendered(&options, LOG);
        assert_eq!(text.lines().nth(1), Some("2026-01-01T00:00:02.5Z two"));
    }

    #[test]
    fn tail_counts_whole_lines() {
        assert_eq!(rendered(&LogOptions::default(), tail(LOG, 1)), "three\n");
        assert_eq!(
            rendered(&LogOptions::default(), tail(LOG, 2)),
            "two\nthree\n"
        );
        assert_eq!(
            rendered(&LogOptions::default(), tail(LOG, 9)),
            "one\ntwo\nthree\n"
        );
        assert_eq!(tail(LOG, 0), b"");
    }

    #[test]
    fn since_drops_older_entries() {
        let since = gantry_api::time::parse_rfc3339("2026-01-01T00:00:02Z");
        let options = LogOptions {
            since,
            ..LogOptions::default()
        };
        assert_eq!(rendered(&options, LOG), "two\nthree\n");
    }

    #[test]
    fn query_options_are_read_as_upstream_names_them() {
        let options = LogOptions::from_query(
            "follow=true&tailLines=5&timestamps=true&limitBytes=10&sinceSeconds=60&container=c",
            1000,
        )
        .unwrap();
        assert!(options.follow && options.timestamps && !options.previous);
        assert_eq!(
            (options.tail_lines, options.limit_bytes, options.since),
            (Some(5), Some(10), Some(940))
        );
        assert!(LogOptions::from_query("tailLines=x", 0).is_err());
        let since = LogOptions::from_query("sinceTime=2026-01-01T00%3A00%3A02Z", 0).unwrap();
        assert_eq!(
            since.since,
            gantry_api::time::parse_rfc3339("2026-01-01T00:00:02Z")
        );
    }

    #[tokio::test]
    async fn streaming_honours_the_byte_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("0.log");
        std::fs::write(&path, LOG).unwrap();
        let (tx, mut rx) = mpsc::channel(8);
        let options = LogOptions {
            limit_bytes: Some(6),
            ..LogOptions::default()
        };
        stream(path, options, tx, || Box::pin(async { false }))
            .await
            .unwrap();
        let mut got = Vec::new();
        while let Some(chunk) = rx.recv().await {
            got.extend_from_slice(&chunk);
        }
        assert_eq!(got, b"one\ntw");
    }
}
