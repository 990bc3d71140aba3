//! A small PDF 1.4 writer, enough for the one-page vision card: the standard Helvetica and
//! Helvetica-Bold fonts (nothing embedded) in WinAnsi encoding, word wrapping by the fonts'
//! glyph widths, lines and boxes, an uncompressed content stream and a correct cross-reference
//! table. Text outside WinAnsi is mapped to a close character or replaced by `?`.

use std::fmt::Write as _;

/// A4 in points.
pub const A4: (f64, f64) = (595.0, 842.0);

/// The two fonts a page may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Font {
    /// Helvetica (`/F1`).
    Regular,
    /// Helvetica-Bold (`/F2`).
    Bold,
}

impl Font {
    fn resource(self) -> &'static str {
        match self {
            Font::Regular => "F1",
            Font::Bold => "F2",
        }
    }
}

/// Helvetica's advance widths (1/1000 em) for ASCII 32..=126, from its AFM metrics.
const HELVETICA: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556,
    556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278,
    500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469,
    556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500,
    278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];

/// Helvetica-Bold's advance widths for ASCII 32..=126.
const HELVETICA_BOLD: [u16; 95] = [
    278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556,
    556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667, 611, 778, 722, 278,
    556, 722, 611, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584,
    556, 333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611, 611, 611, 389, 556,
    333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
];

/// The width of one WinAnsi byte in 1/1000 em. Above ASCII the widths are bounded from above
/// (capitals as wide as the widest Latin capitals, the rest as a digit or more) so wrapping
/// never overflows a line.
fn glyph_width(font: Font, b: u8) -> u16 {
    let table = match font {
        Font::Regular => &HELVETICA,
        Font::Bold => &HELVETICA_BOLD,
    };
    match b {
        32..=126 => table[usize::from(b - 32)],
        0x8C | 0xC6 => 1000,                             // Œ Æ
        0x85 | 0x89 | 0x97 | 0x99 | 0x9C | 0xE6 => 1000, // … ‰ — ™ œ æ
        0xC0..=0xDE => 778,
        _ => 611,
    }
}

/// Maps one character to WinAnsi (Windows-1252); `None` drops it (control characters).
pub fn win_ansi(c: char) -> Option<u8> {
    let u = c as u32;
    Some(match c {
        '\t' | '\n' | '\r' => b' ',
        _ if u < 0x20 || u == 0x7F || (0x80..0xA0).contains(&u) => return None,
        _ if u < 0x7F => u as u8,
        '\u{A0}'..='\u{FF}' => u as u8,
        '€' => 0x80,
        '‚' => 0x82,
        'ƒ' => 0x83,
        '„' => 0x84,
        '…' => 0x85,
        '†' => 0x86,
        '‡' => 0x87,
        'ˆ' => 0x88,
        '‰' => 0x89,
        'Š' => 0x8A,
        '‹' => 0x8B,
        'Œ' => 0x8C,
        'Ž' => 0x8E,
        '‘' => 0x91,
        '’' => 0x92,
        '“' => 0x93,
        '”' => 0x94,
        '•' => 0x95,
        '–' => 0x96,
        '—' => 0x97,
        '˜' => 0x98,
        '™' => 0x99,
        'š' => 0x9A,
        '›' => 0x9B,
        'œ' => 0x9C,
        'ž' => 0x9E,
        'Ÿ' => 0x9F,
        // Close stand-ins for common typography outside the code page.
        '\u{2010}' | '\u{2011}' | '\u{2212}' => b'-',
        '\u{2002}'..='\u{200A}' | '\u{202F}' => b' ',
        '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{FEFF}' => return None,
        '→' => b'>',
        '≥' => b'>',
        '≤' => b'<',
        _ => b'?',
    })
}

/// `s` in WinAnsi bytes.
pub fn encode(s: &str) -> Vec<u8> {
    s.chars().filter_map(win_ansi).collect()
}

/// The width of `s` in points at `size`.
pub fn text_width(s: &str, font: Font, size: f64) -> f64 {
    encode(s).iter().map(|b| f64::from(glyph_width(font, *b))).sum::<f64>() * size / 1000.0
}

/// Wraps `text` into lines no wider than `width` points: at spaces, and inside a word only
/// when the word alone is too wide.
pub fn wrap(text: &str, font: Font, size: f64, width: f64) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
        if text_width(&candidate, font, size) <= width {
            line = candidate;
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        // A word wider than the line is broken where it has to be.
        let mut part = String::new();
        for c in word.chars() {
            part.push(c);
            if text_width(&part, font, size) > width && part.chars().count() > 1 {
                part.pop();
                lines.push(std::mem::take(&mut part));
                part.push(c);
            }
        }
        line = part;
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// `s` as a PDF literal string: WinAnsi bytes, `(`, `)` and `\` escaped, bytes outside
/// printable ASCII as octal escapes so the file stays 7-bit.
pub fn literal(s: &str) -> String {
    let mut out = String::from("(");
    for b in encode(s) {
        match b {
            b'(' | b')' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7E => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\{b:03o}");
            }
        }
    }
    out.push(')');
    out
}

/// `s` as a PDF text string outside page content (the information dictionary): UTF-16BE with
/// its byte order mark, in hex, so any character survives.
pub fn text_string(s: &str) -> String {
    let mut out = String::from("<FEFF");
    for u in s.chars().filter(|c| !c.is_control()).collect::<String>().encode_utf16() {
        let _ = write!(out, "{u:04X}");
    }
    out.push('>');
    out
}

/// A page's content stream under construction.
#[derive(Debug, Default)]
pub struct Page {
    ops: String,
}

fn n(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl Page {
    /// Draws `s` with its baseline starting at (`x`, `y`) in the colour `rgb`.
    pub fn text(&mut self, x: f64, y: f64, font: Font, size: f64, rgb: (f64, f64, f64), s: &str) {
        let _ = writeln!(
            self.ops,
            "BT {} {} {} rg /{} {} Tf {} {} Td {} Tj ET",
            n(rgb.0),
            n(rgb.1),
            n(rgb.2),
            font.resource(),
            n(size),
            n(x),
            n(y),
            literal(s)
        );
    }

    /// A rectangle from its lower left corner, filled with `fill` and stroked with `stroke`.
    pub fn rect(
        &mut self,
        x: f64,
        y: f64,
        w: f64,
        h: f64,
        fill: Option<(f64, f64, f64)>,
        stroke: Option<(f64, f64, f64)>,
    ) {
        let mut op = String::new();
        if let Some((r, g, b)) = fill {
            let _ = write!(op, "{} {} {} rg ", n(r), n(g), n(b));
        }
        if let Some((r, g, b)) = stroke {
            let _ = write!(op, "0.75 w {} {} {} RG ", n(r), n(g), n(b));
        }
        let paint = match (fill.is_some(), stroke.is_some()) {
            (true, true) => "B",
            (true, false) => "f",
            (false, true) => "S",
            (false, false) => "n",
        };
        let _ = writeln!(self.ops, "{op}{} {} {} {} re {paint}", n(x), n(y), n(w), n(h));
    }
}

/// A one-page document of `page`, `size` points wide and high, with `title` in its
/// information dictionary.
pub fn document(page: &Page, size: (f64, f64), title: &str) -> Vec<u8> {
    let content = page.ops.as_bytes();
    let objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {} {}] /Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>",
            n(size.0),
            n(size.1)
        )
        .into_bytes(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>".to_vec(),
        {
            let mut s = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
            s.extend_from_slice(content);
            s.extend_from_slice(b"\nendstream");
            s
        },
        format!("<< /Title {} /Producer (Keel) >>", text_string(title)).into_bytes(),
    ];
    write_objects(&objects, 1, 7)
}

/// The file: header, objects `1..` in order, the cross-reference table (each entry the byte
/// offset of its `N 0 obj`), and the trailer naming `root` and `info`.
pub fn write_objects(objects: &[Vec<u8>], root: usize, info: usize) -> Vec<u8> {
    // The second line's high bytes mark the file as binary for transfer programs.
    let mut out: Vec<u8> = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    let mut table = format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1);
    for o in offsets {
        let _ = writeln!(table, "{o:010} 00000 n ");
    }
    let _ = write!(
        table,
        "trailer\n<< /Size {} /Root {root} 0 R /Info {info} 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    );
    out.extend_from_slice(table.as_bytes());
    out
}

/// One paragraph or list item of a vision field, with Markdown marks taken out.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    /// A list item (drawn with a bullet).
    pub bullet: bool,
    /// Its text on one line.
    pub text: String,
}

/// Takes the inline Markdown out of `s`: emphasis and code marks, links and images to their text.
fn inline_plain(s: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        // [text](url) and ![alt](url) keep their text.
        if c == '[' || (c == '!' && chars.get(i + 1) == Some(&'[')) {
            let start = if c == '!' { i + 2 } else { i + 1 };
            if let Some(close) = chars[start..].iter().position(|&x| x == ']').map(|p| p + start) {
                if chars.get(close + 1) == Some(&'(') {
                    if let Some(end) =
                        chars[close + 2..].iter().position(|&x| x == ')').map(|p| p + close + 2)
                    {
                        out.extend(&chars[start..close]);
                        i = end + 1;
                        continue;
                    }
                }
            }
        }
        if c == '*' || c == '`' || (c == '_' && chars.get(i + 1) == Some(&'_')) {
            i += if c == '_' { 2 } else { 1 };
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// The paragraphs and list items of a Markdown text, as plain text.
pub fn blocks(md: &str) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    let mut open = false;
    for raw in md.lines() {
        let line = raw.trim();
        if line.is_empty() {
            open = false;
            continue;
        }
        let line = line.trim_start_matches('>').trim_start();
        let item = ["- ", "* ", "+ "].iter().find_map(|m| line.strip_prefix(m)).or_else(|| {
            let digits = line.chars().take_while(|c| c.is_ascii_digit()).count();
            (digits > 0).then(|| line[digits..].strip_prefix(". ")).flatten()
        });
        if let Some(rest) = item {
            out.push(Block { bullet: true, text: inline_plain(rest.trim()) });
            open = true;
        } else if line.starts_with('#') {
            out.push(Block { bullet: false, text: inline_plain(line.trim_start_matches('#').trim()) });
            open = false;
        } else if open {
            // A continuation line of the paragraph or item above.
            if let Some(last) = out.last_mut() {
                last.text.push(' ');
                last.text.push_str(&inline_plain(line));
            }
        } else {
            out.push(Block { bullet: false, text: inline_plain(line) });
            open = true;
        }
    }
    out.retain(|b| !b.text.trim().is_empty());
    out
}

/// A wrapped line of a box: its text and its indent.
struct Line {
    text: String,
    indent: f64,
    gap_before: bool,
}

const BULLET: &str = "• ";

/// The blocks wrapped to `width` at `size`.
fn layout(bs: &[Block], size: f64, width: f64) -> Vec<Line> {
    let mut out = Vec::new();
    let indent = text_width(BULLET, Font::Regular, size);
    for (i, b) in bs.iter().enumerate() {
        let w = if b.bullet { width - indent } else { width };
        for (j, l) in wrap(&b.text, Font::Regular, size, w).into_iter().enumerate() {
            let text = if b.bullet && j == 0 { format!("{BULLET}{l}") } else { l };
            let indent = if b.bullet && j > 0 { indent } else { 0.0 };
            // Paragraphs are set apart; list items follow each other closely.
            out.push(Line { text, indent, gap_before: i > 0 && j == 0 && !b.bullet });
        }
    }
    out
}

/// The height `lines` take at `leading`.
fn height(lines: &[Line], leading: f64) -> f64 {
    lines.iter().map(|l| if l.gap_before { leading * 1.4 } else { leading }).sum()
}

/// A vision card section: heading and Markdown body.
pub struct Section<'a> {
    /// The heading ("Target group").
    pub label: &'a str,
    /// The body, in Markdown.
    pub body: &'a str,
}

const INK: (f64, f64, f64) = (0.12, 0.13, 0.15);
const MUTED: (f64, f64, f64) = (0.42, 0.44, 0.48);
const ACCENT: (f64, f64, f64) = (0.16, 0.32, 0.62);
const RULE: (f64, f64, f64) = (0.78, 0.8, 0.84);
const TINT: (f64, f64, f64) = (0.94, 0.96, 0.99);

/// Where a box's text goes: its left edge, the top of its first line, its width and the most
/// height it may take.
struct Frame {
    x: f64,
    top: f64,
    width: f64,
    max: f64,
}

/// Draws a box's lines from the frame's top down, cut to its height with an ellipsis.
fn draw_lines(p: &mut Page, frame: Frame, lines: &[Line], size: f64, leading: f64) {
    let Frame { x, top, width, max } = frame;
    let mut y = top;
    let mut used = 0.0;
    for (i, l) in lines.iter().enumerate() {
        let step = if l.gap_before { leading * 1.4 } else { leading };
        if used + step > max + 0.01 {
            break;
        }
        let last_fitting = lines
            .get(i + 1)
            .is_some_and(|nx| used + step + if nx.gap_before { leading * 1.4 } else { leading } > max + 0.01);
        used += step;
        y -= step;
        let mut text = l.text.clone();
        if last_fitting {
            // The text goes on past the box: say so rather than cut silently.
            while !text.is_empty() && text_width(&format!("{text} …"), Font::Regular, size) > width - l.indent
            {
                text.pop();
            }
            text = format!("{} …", text.trim_end());
        }
        p.text(x + l.indent, y + leading * 0.25, Font::Regular, size, INK, &text);
    }
}

/// The one-page A4 vision card: the product's name, the version line, the vision statement
/// across the top and target group, needs, product and business goals in a two-by-two grid.
/// The body size shrinks (11 pt down to 7 pt) until everything fits; past that, a box's text is
/// cut with an ellipsis.
pub fn vision_card(
    product: &str,
    version_line: &str,
    statement: &str,
    sections: &[Section<'_>; 4],
) -> Vec<u8> {
    let (w, h) = A4;
    let margin = 40.0;
    let gutter = 12.0;
    let pad = 12.0;
    let inner = w - 2.0 * margin;
    let col = (inner - gutter) / 2.0;
    let mut page = Page::default();

    // Title and version line.
    let title_size = 22.0;
    let mut title_lines = wrap(product, Font::Bold, title_size, inner);
    title_lines.truncate(2);
    let mut y = h - margin;
    for l in &title_lines {
        y -= title_size * 1.15;
        page.text(margin, y, Font::Bold, title_size, INK, l);
    }
    y -= 16.0;
    page.text(margin, y, Font::Regular, 9.5, MUTED, &format!("Vision card · {version_line}"));
    y -= 14.0;
    let top = y;
    let bottom = margin;

    let statement_blocks = blocks(statement);
    let section_blocks: Vec<Vec<Block>> = sections.iter().map(|s| blocks(s.body)).collect();
    let heading = 10.0;
    let head_h = heading + 8.0;

    // The largest body size at which every box holds its text.
    let mut chosen = None;
    for size in [11.0, 10.0, 9.0, 8.0, 7.0] {
        let leading = size * 1.35;
        let s_size = size + 2.0;
        let s_lines = layout(&statement_blocks, s_size, inner - 2.0 * pad);
        let s_h = (pad * 2.0 + head_h + height(&s_lines, s_size * 1.35)).max(80.0);
        let grid_h = top - s_h - gutter - bottom;
        let box_h = (grid_h - gutter) / 2.0;
        let body_max = box_h - pad * 2.0 - head_h;
        let fits =
            section_blocks.iter().all(|b| height(&layout(b, size, col - 2.0 * pad), leading) <= body_max);
        if fits || size <= 7.0 {
            chosen = Some((size, s_size, s_h, box_h));
            break;
        }
    }
    let (size, s_size, s_h, box_h) = chosen.unwrap_or((7.0, 9.0, 80.0, 100.0));
    let leading = size * 1.35;

    // The statement band.
    let s_lines = layout(&statement_blocks, s_size, inner - 2.0 * pad);
    page.rect(margin, top - s_h, inner, s_h, Some(TINT), Some(RULE));
    page.text(margin + pad, top - pad - heading, Font::Bold, heading, ACCENT, "VISION STATEMENT");
    if s_lines.is_empty() {
        page.text(
            margin + pad,
            top - pad - head_h - s_size,
            Font::Regular,
            s_size,
            MUTED,
            "Not written yet.",
        );
    } else {
        let max = s_h - 2.0 * pad - head_h;
        let frame = Frame { x: margin + pad, top: top - pad - head_h, width: inner - 2.0 * pad, max };
        draw_lines(&mut page, frame, &s_lines, s_size, s_size * 1.35);
    }

    // The four boxes.
    let grid_top = top - s_h - gutter;
    for (i, (s, bs)) in sections.iter().zip(&section_blocks).enumerate() {
        let x = margin + if i % 2 == 0 { 0.0 } else { col + gutter };
        let btop = grid_top - if i < 2 { 0.0 } else { box_h + gutter };
        page.rect(x, btop - box_h, col, box_h, None, Some(RULE));
        page.text(x + pad, btop - pad - heading, Font::Bold, heading, ACCENT, &s.label.to_uppercase());
        let lines = layout(bs, size, col - 2.0 * pad);
        if lines.is_empty() {
            page.text(x + pad, btop - pad - head_h - size, Font::Regular, size, MUTED, "Not written yet.");
        } else {
            let max = box_h - 2.0 * pad - head_h;
            let frame = Frame { x: x + pad, top: btop - pad - head_h, width: col - 2.0 * pad, max };
            draw_lines(&mut page, frame, &lines, size, leading);
        }
    }
    document(&page, A4, &format!("{product} — vision card"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `pdf` with bytes above ASCII as `?`: offsets in the text are offsets in the file.
    fn ascii(pdf: &[u8]) -> String {
        pdf.iter().map(|&b| if b < 0x80 { char::from(b) } else { '?' }).collect()
    }

    /// Reads the xref table of `pdf` and checks that each entry points at `N 0 obj`.
    fn check_xref(pdf: &[u8]) -> usize {
        let text = ascii(pdf);
        let start: usize =
            text.rsplit("startxref\n").next().unwrap().lines().next().unwrap().parse().unwrap();
        assert!(text.as_bytes()[start..].starts_with(b"xref\n"), "startxref points at the table");
        let table = &text[start..];
        let mut lines = table.lines().skip(1);
        let count: usize = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
        assert_eq!(lines.next().unwrap(), "0000000000 65535 f ");
        for obj in 1..count {
            let entry = lines.next().unwrap();
            assert_eq!(entry.len(), 19, "entries are 20 bytes with their line end: {entry:?}");
            let off: usize = entry[..10].parse().unwrap();
            let want = format!("{obj} 0 obj\n");
            assert!(pdf[off..].starts_with(want.as_bytes()), "object {obj} at {off}");
        }
        assert!(table.contains(&format!("/Size {count}")));
        count - 1
    }

    #[test]
    fn xref_offsets_point_at_each_object() {
        let objs = vec![b"<< /Type /Catalog >>".to_vec(), b"(\xE9t\xE9)".to_vec(), b"<< >>".to_vec()];
        let pdf = write_objects(&objs, 1, 3);
        assert!(pdf.starts_with(b"%PDF-1.4\n"));
        assert!(pdf.ends_with(b"%%EOF\n"));
        assert_eq!(check_xref(&pdf), 3);
    }

    #[test]
    fn the_card_is_one_a4_page_with_a_correct_table() {
        let sections = [
            Section { label: "Target group", body: "Busy shoppers (mobile first)" },
            Section { label: "Needs", body: "- Pay fast\n- Trust the shop" },
            Section { label: "Product", body: "A shop app with **one-tap** checkout" },
            Section { label: "Business goals", body: "" },
        ];
        let pdf = vision_card("Shop \\ Co", "version 3, saved 2026-02-01", "Checkout in one tap", &sections);
        assert_eq!(check_xref(&pdf), 7);
        let text = ascii(&pdf);
        assert!(text.contains("/MediaBox [0 0 595 842]"));
        assert!(text.contains("/Count 1"));
        assert!(text.contains("(Checkout in one tap) Tj"));
        assert!(text.contains("(Busy shoppers \\(mobile first\\)) Tj"), "parentheses escaped");
        assert!(text.contains("(Shop \\\\ Co) Tj"), "backslash escaped");
        assert!(text.contains("(\\225 Pay fast) Tj"), "list items get a bullet");
        assert!(text.contains("(A shop app with one-tap checkout) Tj"), "Markdown marks go");
        assert!(text.contains("(Not written yet.) Tj"));
        // The content stream's length is what it says.
        let len_at = text.find("/Length ").unwrap() + 8;
        let len: usize = text[len_at..].split(' ').next().unwrap().parse().unwrap();
        let body = text.find("stream\n").unwrap() + 7;
        assert_eq!(&text[body + len..body + len + 10], "\nendstream");
        // Only 7-bit bytes after the binary marker line.
        assert!(pdf[15..].iter().all(|b| *b < 0x80));
    }

    #[test]
    fn literals_escape_and_encode() {
        assert_eq!(literal("a(b)c\\d"), "(a\\(b\\)c\\\\d)");
        assert_eq!(literal("Café – 5 €"), "(Caf\\351 \\226 5 \\200)");
        // Outside WinAnsi: a question mark; control characters dropped; no raw newline.
        assert_eq!(literal("日本\u{7}x\ny"), "(??x y)");
        assert_eq!(text_string("A—日"), "<FEFF0041201465E5>");
    }

    #[test]
    fn wrapping_respects_the_width() {
        let text = "Checkout in one tap for busy shoppers who want to pay fast and safely";
        let lines = wrap(text, Font::Regular, 10.0, 120.0);
        assert!(lines.len() > 2, "{lines:?}");
        assert!(lines.iter().all(|l| text_width(l, Font::Regular, 10.0) <= 120.0));
        assert_eq!(lines.join(" "), text, "no word lost");
        // "Checkout in one tap" is 19 glyphs: C 722, h 556, e 556, c 500, k 500, o 556, u 556,
        // t 278, space 278, i 222, n 556, a 556, p 556: 8 894 / 1000 * 10 pt.
        assert!((text_width("Checkout in one tap", Font::Regular, 10.0) - 88.94).abs() < 1e-9);
        // A word wider than the line is broken inside.
        let long = wrap("Supercalifragilisticexpialidocious", Font::Bold, 12.0, 60.0);
        assert!(long.len() > 1 && long.iter().all(|l| text_width(l, Font::Bold, 12.0) <= 60.0), "{long:?}");
        assert_eq!(long.concat(), "Supercalifragilisticexpialidocious");
        assert!(wrap("   ", Font::Regular, 10.0, 50.0).is_empty());
    }

    #[test]
    fn markdown_turns_into_blocks() {
        let md =
            "# Why\nWe help **busy**\nshoppers.\n\n- one [tap](https://x.test)\n- `safe`\n1. first\n> quoted";
        assert_eq!(
            blocks(md),
            vec![
                Block { bullet: false, text: "Why".into() },
                Block { bullet: false, text: "We help busy shoppers.".into() },
                Block { bullet: true, text: "one tap".into() },
                Block { bullet: true, text: "safe".into() },
                Block { bullet: true, text: "first quoted".into() },
            ]
        );
    }
}
