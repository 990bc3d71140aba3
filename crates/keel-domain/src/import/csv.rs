//! A small RFC 4180 reader: quoted cells with embedded newlines and doubled quotes, LF or CRLF,
//! a leading BOM. Each record remembers the file line it starts on, so problems name it.

/// One record: the line (1-based) where it starts and its cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// File line where the record starts.
    pub line: usize,
    /// The cells.
    pub cells: Vec<String>,
}

/// Why a file could not be read at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvError {
    /// File line where the problem is.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Checks that `bytes` are UTF-8 (after an optional BOM) and returns the text; otherwise the
/// line of the first invalid byte.
pub fn decode(bytes: &[u8]) -> Result<&str, CsvError> {
    utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
}

fn utf8(body: &[u8]) -> Result<&str, CsvError> {
    match std::str::from_utf8(body) {
        Ok(s) => Ok(s),
        Err(e) => {
            let line = 1 + body[..e.valid_up_to()].iter().filter(|b| **b == b'\n').count();
            Err(CsvError {
                line,
                message: "is not UTF-8 text (export the file as UTF-8, Jira's default)".into(),
            })
        }
    }
}

/// Splits CSV text into records. A quote left open at the end of the file (a truncated file)
/// is an error naming the line where the record began. Blank lines are skipped.
pub fn parse(text: &str) -> Result<Vec<Record>, CsvError> {
    records(text).collect()
}

/// The records of CSV text one at a time (what [`parse`] collects), so a large file's records
/// need not all be held at once. After an error the iterator ends.
pub fn records(text: &str) -> Records<'_> {
    Records { text, i: 0, line: 1 }
}

/// Iterator over the records of CSV text; see [`records`].
#[derive(Debug, Clone)]
pub struct Records<'a> {
    text: &'a str,
    i: usize,
    line: usize,
}

impl Iterator for Records<'_> {
    type Item = Result<Record, CsvError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (text, b) = (self.text, self.text.as_bytes());
        while self.i < b.len() {
            let (mut i, mut line) = (self.i, self.line);
            let start_line = line;
            let mut cells = Vec::new();
            let mut cell = String::new();
            loop {
                // One cell.
                if i < b.len() && b[i] == b'"' {
                    i += 1;
                    let mut seg = i;
                    loop {
                        if i >= b.len() {
                            self.i = b.len();
                            return Some(Err(CsvError {
                                line: start_line,
                                message: "ends inside a quoted cell (the file looks truncated)".into(),
                            }));
                        }
                        match b[i] {
                            b'"' if b.get(i + 1) == Some(&b'"') => {
                                cell.push_str(&text[seg..=i]);
                                i += 2;
                                seg = i;
                            }
                            b'"' => {
                                cell.push_str(&text[seg..i]);
                                i += 1;
                                break;
                            }
                            b'\n' => {
                                line += 1;
                                i += 1;
                            }
                            _ => i += 1,
                        }
                    }
                    // Anything between the closing quote and the separator is kept as text.
                    let seg = i;
                    while i < b.len() && !matches!(b[i], b',' | b'\n' | b'\r') {
                        i += 1;
                    }
                    cell.push_str(&text[seg..i]);
                } else {
                    let seg = i;
                    while i < b.len() && !matches!(b[i], b',' | b'\n' | b'\r') {
                        i += 1;
                    }
                    cell.push_str(&text[seg..i]);
                }
                cells.push(std::mem::take(&mut cell));
                if i < b.len() && b[i] == b',' {
                    i += 1;
                    continue;
                }
                // End of record.
                if i < b.len() && b[i] == b'\r' {
                    i += 1;
                }
                if i < b.len() && b[i] == b'\n' {
                    i += 1;
                    line += 1;
                }
                break;
            }
            (self.i, self.line) = (i, line);
            if !(cells.len() == 1 && cells[0].is_empty()) {
                return Some(Ok(Record { line: start_line, cells }));
            }
        }
        None
    }
}

/// Reads CSV records from a byte stream one at a time, holding only the record being read: the
/// same records, lines and errors as [`decode`] then [`parse`] on the whole file, except that a
/// text that is not UTF-8 is found at the record that holds it (the records before it have been
/// returned by then).
pub struct RecordReader<R> {
    src: R,
    buf: Vec<u8>,
    /// File line of the next byte to read.
    line: usize,
    first: bool,
    pending: std::collections::VecDeque<Record>,
    done: bool,
}

impl<R: std::io::BufRead> RecordReader<R> {
    /// Reads from `src` (a leading BOM is skipped).
    pub fn new(src: R) -> Self {
        Self { src, buf: Vec::new(), line: 1, first: true, pending: Default::default(), done: false }
    }

    /// Reads physical lines until the record they hold is complete (no quoted cell left open).
    /// Returns false at the end of the input.
    fn fill(&mut self) -> Result<bool, CsvError> {
        self.buf.clear();
        // Only quotes matter for where a record ends: one that begins a cell (the record's first
        // byte, or one after a separator) opens a quoted cell; inside one, a doubled quote is
        // text and a single one closes it. A quote anywhere else is text. The scan jumps from
        // quote to quote.
        let mut quoted = false;
        loop {
            let from = self.buf.len();
            let n = self
                .src
                .read_until(b'\n', &mut self.buf)
                .map_err(|e| CsvError { line: self.line, message: format!("cannot be read: {e}") })?;
            if self.first {
                self.first = false;
                if self.buf.starts_with(b"\xEF\xBB\xBF") {
                    self.buf.drain(..3);
                }
            }
            if n == 0 {
                return Ok(!self.buf.is_empty());
            }
            let b = &self.buf;
            let mut i = from.min(b.len());
            while let Some(k) = memchr::memchr(b'"', &b[i..]) {
                let j = i + k;
                if quoted {
                    if b.get(j + 1) == Some(&b'"') {
                        i = j + 2;
                        continue;
                    }
                    quoted = false;
                } else if j == 0 || matches!(b[j - 1], b',' | b'\r' | b'\n') {
                    quoted = true;
                }
                i = j + 1;
            }
            if !quoted && self.buf.ends_with(b"\n") {
                return Ok(true);
            }
        }
    }
}

impl<R: std::io::BufRead> RecordReader<R> {
    /// The next record's bytes as read, not yet checked or split into cells (see
    /// [`RawRecord::split`]): finding where records end is all this reader does, so the
    /// splitting can happen elsewhere, on other threads.
    pub fn next_raw(&mut self) -> Option<Result<RawRecord, CsvError>> {
        if self.done {
            return None;
        }
        let line = self.line;
        match self.fill() {
            Ok(true) => {}
            Ok(false) => {
                self.done = true;
                return None;
            }
            Err(e) => {
                self.done = true;
                return Some(Err(e));
            }
        }
        self.line += self.buf.iter().filter(|b| **b == b'\n').count();
        let bytes = std::mem::replace(&mut self.buf, Vec::with_capacity(1024));
        Some(Ok(RawRecord { line, bytes }))
    }
}

/// One record's bytes as a [`RecordReader`] found them, and the file line they start on.
#[derive(Debug, Clone)]
pub struct RawRecord {
    /// File line where the bytes start.
    pub line: usize,
    /// The bytes, up to and with the record's line end.
    pub bytes: Vec<u8>,
}

impl RawRecord {
    /// Its records (one, or none for a blank line), with their file lines; an error when the
    /// bytes are not UTF-8 or end inside a quoted cell (a truncated file).
    pub fn split(&self) -> Result<Vec<Record>, CsvError> {
        let start = self.line;
        let err = |e: CsvError| CsvError { line: start + e.line - 1, message: e.message };
        let text = utf8(&self.bytes).map_err(err)?;
        records(text)
            .map(|r| {
                r.map(|mut r| {
                    r.line += start - 1;
                    r
                })
                .map_err(err)
            })
            .collect()
    }
}

impl<R: std::io::BufRead> Iterator for RecordReader<R> {
    type Item = Result<Record, CsvError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(r) = self.pending.pop_front() {
                return Some(Ok(r));
            }
            match self.next_raw()? {
                Ok(raw) => match raw.split() {
                    Ok(rs) => self.pending.extend(rs),
                    Err(e) => {
                        self.done = true;
                        return Some(Err(e));
                    }
                },
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_newlines_crlf_and_bom() {
        let raw = "\u{FEFF}a,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\"two\r\nlines\"\r\n\r\n1,,3";
        let text = decode(raw.as_bytes()).unwrap();
        let r = parse(text).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].cells, ["a", "b", "c"]);
        assert_eq!(r[1].cells, ["x, y", "say \"hi\"", "two\r\nlines"]);
        assert_eq!((r[1].line, r[2].line), (2, 5));
        assert_eq!(r[2].cells, ["1", "", "3"]);
    }

    #[test]
    fn truncated_and_not_utf8() {
        let e = parse("a,b\n1,\"open\nstill").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("truncated"));
        let e = decode(b"a,b\nok,\xff\xfe").unwrap_err();
        assert_eq!(e.line, 2);
    }

    #[test]
    fn the_stream_reader_gives_the_same_records_and_errors() {
        let cases: [&[u8]; 5] = [
            b"\xEF\xBB\xBFa,b,c\r\n\"x, y\",\"say \"\"hi\"\"\",\"two\r\nlines\"\r\n\r\n1,,3",
            b"a,b\n1,\"open\nstill",
            b"h\n\"a\"\"\n\"\"b\",x\"y\"z\n\"q\"tail,2\n",
            b"a\rb\n\"c\rd\"\n\n\n",
            b"",
        ];
        for raw in cases {
            let whole = decode(raw).and_then(parse);
            let streamed: Result<Vec<Record>, CsvError> = RecordReader::new(raw).collect();
            assert_eq!(whole, streamed, "{:?}", String::from_utf8_lossy(raw));
        }
        // Not UTF-8: found at the record that holds it.
        let r: Vec<_> = RecordReader::new(&b"a,b\nok,\xff\xfe"[..]).collect();
        assert_eq!(r.len(), 2);
        assert_eq!(r[1].as_ref().unwrap_err().line, 2);
        // A tiny buffer: records still span reads.
        let raw = "x,\"multi\nline\ncell\"\n2,3\n";
        let r: Vec<Record> = RecordReader::new(std::io::BufReader::with_capacity(2, raw.as_bytes()))
            .map(Result::unwrap)
            .collect();
        assert_eq!(r, parse(raw).unwrap());
        assert_eq!(r[1].line, 4);
    }

    proptest::proptest! {
        /// Any mix of the bytes that matter (quotes, separators, line ends) splits into the same
        /// records, lines and errors read as a stream (where the reader jumps from quote to
        /// quote to find record ends) as parsed whole.
        #[test]
        fn the_stream_reader_agrees_with_the_parser(text in "[a\",\r\n]{0,40}") {
            let whole: Result<Vec<Record>, CsvError> = parse(decode(text.as_bytes()).unwrap());
            let streamed: Result<Vec<Record>, CsvError> =
                RecordReader::new(std::io::BufReader::with_capacity(3, text.as_bytes())).collect();
            proptest::prop_assert_eq!(streamed, whole);
        }
    }
}
