//! A small minifier for the embedded stylesheet and scripts, run once when they are first served.
//! It removes only what cannot change their meaning: comments and the whitespace around CSS
//! punctuation; for scripts, whole-line comments, indentation and blank lines (each statement
//! keeps its line, so automatic semicolon insertion sees what it saw before). Strings are copied
//! as they are.

/// Minifies a stylesheet: no comments, no whitespace around `{ } ; , > )` or after `:` and `(`,
/// runs of whitespace made one space, no `;` before `}`. Whitespace before `:` and `(` stays
/// (`a :hover` is not `a:hover`, and `and (` in a media query needs it), and so does the
/// whitespace around `+`, `-` and `*` (calc() needs it).
pub(crate) fn css(src: &str) -> String {
    let b = src.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    let mut space = false;
    // Whether a space may be dropped next to this byte.
    let tight_before = |c: u8| matches!(c, b'{' | b'}' | b';' | b',' | b'>' | b')' | b'!');
    let tight_after = |c: u8| matches!(c, b'{' | b'}' | b';' | b',' | b'>' | b':' | b'(');
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            // A comment: skip to its end (an unclosed one runs to the end of the file).
            i = match src[i + 2..].find("*/") {
                Some(j) => i + 2 + j + 2,
                None => b.len(),
            };
            space = true;
            continue;
        }
        if c.is_ascii_whitespace() {
            space = true;
            i += 1;
            continue;
        }
        if space {
            space = false;
            let prev = out.last().copied();
            if prev.is_some_and(|p| !tight_after(p)) && !tight_before(c) {
                out.push(b' ');
            }
        }
        if c == b'"' || c == b'\'' {
            let start = i;
            i += 1;
            while i < b.len() && b[i] != c {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(b.len());
            out.extend_from_slice(&b[start..i]);
            continue;
        }
        if c == b'}' && out.last() == Some(&b';') {
            out.pop();
        }
        out.push(c);
        i += 1;
    }
    // Only whole ASCII bytes were dropped or added, so the text is still UTF-8.
    String::from_utf8(out).unwrap_or_else(|_| src.to_string())
}

/// Minifies a script conservatively: each line trimmed, blank lines and lines that are only a
/// `//` comment dropped. A line that starts inside a multi-line template literal would lose its
/// indentation, so a script with a backtick outside its comment lines is returned as it is.
pub(crate) fn js(src: &str) -> String {
    let kept: Vec<&str> =
        src.lines().map(str::trim).filter(|t| !t.is_empty() && !t.starts_with("//")).collect();
    if kept.iter().any(|t| t.contains('`')) {
        return src.to_string();
    }
    let mut out = String::with_capacity(src.len());
    for t in kept {
        out.push_str(t);
        out.push('\n');
    }
    out
}

/// Splits a stylesheet marked with `/* @area NAME */` lines into (area, text) parts, in order;
/// the text before the first mark belongs to `base`.
pub(crate) fn css_areas(src: &str) -> Vec<(&str, &str)> {
    const MARK: &str = "/* @area ";
    let mut parts = Vec::new();
    let mut area = "base";
    let mut rest = src;
    while let Some(i) = rest.find(MARK) {
        parts.push((area, &rest[..i]));
        let after = &rest[i + MARK.len()..];
        let end = after.find("*/").unwrap_or(after.len());
        area = after[..end].trim();
        rest = after.get(end + 2..).unwrap_or("");
    }
    parts.push((area, rest));
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn css_drops_comments_and_spaces_that_carry_nothing() {
        let src = "/* head */\n.a  >  .b ,\n.c { color: red ;  margin: 0 auto; }\n\n@media (max-width: 600px) {\n  .d { x: 1 }\n}\n";
        assert_eq!(css(src), ".a>.b,.c{color:red;margin:0 auto}@media (max-width:600px){.d{x:1}}");
    }

    #[test]
    fn css_keeps_meaningful_spaces_and_strings() {
        // A descendant pseudo-class, calc()'s operators, `and (` and a string with spaces.
        assert_eq!(css(".a :hover { }"), ".a :hover{}");
        assert_eq!(css(".a { width: calc(100% - 2px + 1em); }"), ".a{width:calc(100% - 2px + 1em)}");
        assert_eq!(css("@media screen and (min-width: 1px) { }"), "@media screen and (min-width:1px){}");
        assert_eq!(
            css(".a::before { content: \"a  /* b */ ;  }\"; }"),
            ".a::before{content:\"a  /* b */ ;  }\"}"
        );
        assert_eq!(css(".a { color: red !important; }"), ".a{color:red!important}");
        assert_eq!(css("a { font: 12px 'Segoe UI' , sans-serif }"), "a{font:12px 'Segoe UI',sans-serif}");
    }

    #[test]
    fn css_keeps_non_ascii_text() {
        assert_eq!(css(".x::before { content: \"✓ \"; }  /* — */"), ".x::before{content:\"✓ \"}");
    }

    #[test]
    fn js_drops_comment_lines_and_indentation_only() {
        let src = "// head\n(function () {\n  \"use strict\";\n\n  // note\n  var a = \"// not a comment\";\n  return a; // kept\n})();\n";
        assert_eq!(
            js(src),
            "(function () {\n\"use strict\";\nvar a = \"// not a comment\";\nreturn a; // kept\n})();\n"
        );
        let tpl = "var a = `x\n   y`;\n";
        assert_eq!(js(tpl), tpl, "a template literal is left alone");
        assert_eq!(js("// `a`\n  b;\n"), "b;\n", "a backtick in a comment line is no template");
    }

    #[test]
    fn areas_split_in_order() {
        let src = ".a{}\n/* @area board */\n.b{}\n/* @area base */\n.c{}";
        let parts = css_areas(src);
        let names: Vec<&str> = parts.iter().map(|p| p.0).collect();
        assert_eq!(names, vec!["base", "board", "base"]);
        assert!(parts[1].1.contains(".b{}") && parts[2].1.contains(".c{}"));
    }

    #[test]
    fn the_real_assets_shrink_and_keep_every_rule() {
        let src = include_str!("../../assets/app.css");
        let min = css(src);
        assert!(min.len() * 100 < src.len() * 90, "{} of {}", min.len(), src.len());
        // As many rule blocks as before: the braces are all there.
        let opens = |s: &str| s.matches('{').count();
        let uncommented = regex_free_strip_comments(src);
        assert_eq!(opens(&min), opens(&uncommented));
        assert_eq!(min.matches('}').count(), uncommented.matches('}').count());
    }

    fn regex_free_strip_comments(s: &str) -> String {
        let mut out = String::new();
        let mut rest = s;
        while let Some(i) = rest.find("/*") {
            out.push_str(&rest[..i]);
            rest = rest[i..].find("*/").map(|j| &rest[i + j + 2..]).unwrap_or("");
        }
        out.push_str(rest);
        out
    }
}
