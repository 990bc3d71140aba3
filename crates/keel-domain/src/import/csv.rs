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
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
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
    let mut out = Vec::new();
    let b = text.as_bytes();
    let (mut i, mut line) = (0usize, 1usize);
    while i < b.len() {
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
                        return Err(CsvError {
                            line: start_line,
                            message: "ends inside a quoted cell (the file looks truncated)".into(),
                        });
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
        if !(cells.len() == 1 && cells[0].is_empty()) {
            out.push(Record { line: start_line, cells });
        }
    }
    Ok(out)
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
}
