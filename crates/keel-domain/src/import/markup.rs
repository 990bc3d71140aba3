//! Jira wiki markup to Markdown: the common constructs (headings, emphasis, monospace, code and
//! noformat blocks, quotes, lists, links, tables, strike-through). Anything else stays as text.

/// Converts Jira wiki markup to Markdown.
pub fn jira_to_markdown(src: &str) -> String {
    let mut out = String::with_capacity(src.len() + 16);
    let mut in_code = false;
    let mut in_quote = false;
    for raw in src.split('\n') {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let t = line.trim_start();
        // Code and noformat blocks: copied verbatim.
        if let Some(rest) = block_tag(t, "code").or_else(|| block_tag(t, "noformat")) {
            if in_code {
                out.push_str("```\n");
                in_code = false;
            } else {
                let lang = rest.0;
                out.push_str("```");
                out.push_str(lang);
                out.push('\n');
                in_code = true;
                if !rest.1.is_empty() {
                    // `{code}x = 1{code}` on one line.
                    if let Some(body) =
                        rest.1.strip_suffix("{code}").or_else(|| rest.1.strip_suffix("{noformat}"))
                    {
                        out.push_str(body);
                        out.push_str("\n```\n");
                        in_code = false;
                    } else {
                        out.push_str(rest.1);
                        out.push('\n');
                    }
                }
            }
            continue;
        }
        if in_code {
            if let Some(body) = line.strip_suffix("{code}").or_else(|| line.strip_suffix("{noformat}")) {
                if !body.is_empty() {
                    out.push_str(body);
                    out.push('\n');
                }
                out.push_str("```\n");
                in_code = false;
            } else {
                out.push_str(line);
                out.push('\n');
            }
            continue;
        }
        if let Some(rest) = t.strip_prefix("{quote}") {
            in_quote = !in_quote;
            let rest = rest.trim();
            if !rest.is_empty() {
                out.push_str("> ");
                out.push_str(&inline(rest.trim_end_matches("{quote}")));
                out.push('\n');
            }
            continue;
        }
        let converted = block_line(t);
        if in_quote {
            out.push_str("> ");
        }
        out.push_str(&converted);
        out.push('\n');
    }
    if in_code {
        out.push_str("```\n");
    }
    while out.ends_with('\n') {
        out.pop();
    }
    out
}

/// `{code:java}rest` → (`java`, `rest`).
fn block_tag<'a>(t: &'a str, tag: &str) -> Option<(&'a str, &'a str)> {
    let rest = t.strip_prefix('{')?.strip_prefix(tag)?;
    if let Some(r) = rest.strip_prefix('}') {
        return Some(("", r));
    }
    let r = rest.strip_prefix(':')?;
    let close = r.find('}')?;
    let lang = r[..close].split('|').next().unwrap_or("");
    let lang = if lang.contains('=') { "" } else { lang };
    Some((lang, &r[close + 1..]))
}

fn block_line(t: &str) -> String {
    // Headings.
    for level in 1..=6u8 {
        let tag = format!("h{level}.");
        if let Some(rest) = t.strip_prefix(&tag) {
            return format!("{} {}", "#".repeat(level as usize), inline(rest.trim()));
        }
    }
    if let Some(rest) = t.strip_prefix("bq.") {
        return format!("> {}", inline(rest.trim()));
    }
    // Lists: `*`, `**`, `#`, `#*`…, and a lone `-`.
    let marks: String = t.chars().take_while(|c| *c == '*' || *c == '#').collect();
    let marks = if marks.is_empty() && t.starts_with("- ") { "-".to_string() } else { marks };
    if !marks.is_empty() && t[marks.len()..].starts_with(' ') {
        let depth = marks.len() - 1;
        let bullet = if marks.ends_with('#') { "1." } else { "-" };
        return format!("{}{} {}", "  ".repeat(depth), bullet, inline(t[marks.len()..].trim()));
    }
    // Tables: `||a||b||` header, `|a|b|` rows.
    if let Some(rest) = t.strip_prefix("||") {
        let cells: Vec<String> = rest.trim_end_matches("||").split("||").map(|c| inline(c.trim())).collect();
        return format!("| {} |\n|{}", cells.join(" | "), " --- |".repeat(cells.len()));
    }
    if t.starts_with('|') && t.len() > 1 {
        let cells: Vec<String> = t[1..].trim_end_matches('|').split('|').map(|c| inline(c.trim())).collect();
        return format!("| {} |", cells.join(" | "));
    }
    if t == "----" {
        return "---".into();
    }
    inline(t)
}

/// Inline markup: `*bold*`, `_italic_`, `{{mono}}`, `-strike-`, `[text|url]`, `[url]`.
fn inline(s: &str) -> String {
    // Works on bytes: every construct starts and ends with an ASCII character, so the plain
    // runs between them are copied whole (most of a description) and slicing stays on
    // character boundaries.
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len() + 8);
    let (mut i, mut plain) = (0, 0);
    while i < b.len() {
        let ch = b[i];
        if !matches!(ch, b'{' | b'[' | b'*' | b'_' | b'-' | b'+') {
            i += 1;
            continue;
        }
        // {{monospace}}
        if ch == b'{' && b.get(i + 1) == Some(&b'{') {
            if let Some(end) = s[i + 2..].find("}}").map(|p| p + i + 2) {
                out.push_str(&s[plain..i]);
                out.push('`');
                out.push_str(&s[i + 2..end]);
                out.push('`');
                i = end + 2;
                plain = i;
                continue;
            }
        }
        // [text|url] and [url]
        if ch == b'[' {
            if let Some(end) = s[i + 1..].find(']').map(|p| p + i + 1) {
                let inner = &s[i + 1..end];
                let link = if let Some((text, url)) = inner.split_once('|') {
                    looks_like_url(url).then(|| format!("[{}]({})", text.trim(), url.trim()))
                } else if looks_like_url(inner) {
                    Some(format!("<{}>", inner.trim()))
                } else {
                    inner.strip_prefix('~').map(|user| format!("@{user}"))
                };
                if let Some(link) = link {
                    out.push_str(&s[plain..i]);
                    out.push_str(&link);
                    i = end + 1;
                    plain = i;
                    continue;
                }
            }
        }
        // Emphasis pairs, only at word boundaries so `a*b*c` and snake_case stay as written.
        let before = s[..i].chars().next_back();
        let next = s[i + 1..].chars().next();
        if matches!(ch, b'*' | b'_' | b'-' | b'+')
            && before.is_none_or(|c| !c.is_alphanumeric())
            && next.is_some_and(|n| !n.is_whitespace())
        {
            let from = i + 1 + next.map_or(1, char::len_utf8);
            let end = (from..b.len()).find(|&j| {
                b[j] == ch
                    && s[..j].chars().next_back().is_some_and(|p| !p.is_whitespace())
                    && s[j + 1..].chars().next().is_none_or(|n| !n.is_alphanumeric())
            });
            if let Some(end) = end {
                let (open, close) = match ch {
                    b'*' => ("**", "**"),
                    b'_' => ("*", "*"),
                    b'-' => ("~~", "~~"),
                    _ => ("<ins>", "</ins>"),
                };
                out.push_str(&s[plain..i]);
                out.push_str(open);
                out.push_str(&inline(&s[i + 1..end]));
                out.push_str(close);
                i = end + 1;
                plain = i;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&s[plain..]);
    out
}

fn looks_like_url(s: &str) -> bool {
    let s = s.trim();
    s.starts_with("http://") || s.starts_with("https://") || s.starts_with("mailto:")
}

#[cfg(test)]
mod tests {
    use super::jira_to_markdown as md;

    #[test]
    fn common_constructs() {
        assert_eq!(md("h1. Title\nh3. Sub"), "# Title\n### Sub");
        assert_eq!(
            md("a *bold* and _it_ and {{x.y()}} and -gone-"),
            "a **bold** and *it* and `x.y()` and ~~gone~~"
        );
        assert_eq!(
            md("see [the docs|https://ex.test/a] or [https://ex.test]"),
            "see [the docs](https://ex.test/a) or <https://ex.test>"
        );
        assert_eq!(md("* one\n** two\n# first"), "- one\n  - two\n1. first");
        assert_eq!(md("{code:java}\nint *a* = 1;\n{code}"), "```java\nint *a* = 1;\n```");
        assert_eq!(md("{noformat}\n_raw_\n{noformat}"), "```\n_raw_\n```");
        assert_eq!(md("bq. quoted"), "> quoted");
        assert_eq!(md("||a||b||\n|1|2|"), "| a | b |\n| --- | --- |\n| 1 | 2 |");
        assert_eq!(md("line one\r\nline two"), "line one\nline two");
        assert_eq!(md("snake_case_name and 2*3*4"), "snake_case_name and 2*3*4");
        assert_eq!(md("ping [~jdoe]"), "ping @jdoe");
        // Around characters of more than one byte.
        assert_eq!(md("é*x* *é* _ü_ ü-b-"), "é*x* **é** *ü* ü-b-");
        assert_eq!(md("[~jdoé] {{ñ}} *a *b* c*"), "@jdoé `ñ` **a *b** c*");
        assert_eq!(md("a - b -- c {{open [x|y] * end"), "a - b -- c {{open [x|y] * end");
    }
}
