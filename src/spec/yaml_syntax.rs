//! YAML syntax errors in plain words, at the place to fix: a tab used for
//! indentation is reported on the line that has it, and a quote that is
//! never closed at the quote that opens it, instead of the parser's
//! "invalid indentation in quoted scalar" somewhere further down.

/// A syntax error's line (1-based), column (1-based) and message, from the
/// parser's own (`line`, `col`, `info`) and the text.
pub fn explain(text: &str, line: usize, col: usize, info: &str) -> (usize, usize, String) {
    let lines: Vec<&str> = text.lines().collect();
    let upto = line.min(lines.len());
    // A tab in the indentation of a line up to the error (or the line after
    // it, which the parser may still have been reading) is the cause.
    let indented_by_tab = |(i, l): (usize, &&str)| {
        let indent = &l[..l.len() - l.trim_start().len()];
        indent.find('\t').map(|t| (i, t))
    };
    let near = (line + 1).min(lines.len());
    let tab = lines[..near]
        .iter()
        .enumerate()
        .find_map(indented_by_tab)
        .map(|(i, t)| (i, t, "indents this line; YAML indentation must be spaces"))
        .or_else(|| {
            // The parser names a tab elsewhere (after a key, say).
            info.contains("tab")
                .then(|| {
                    lines
                        .iter()
                        .enumerate()
                        .skip(line.saturating_sub(1))
                        .find_map(|(i, l)| l.find('\t').map(|t| (i, t)))
                })
                .flatten()
                .map(|(i, t)| (i, t, "is here; YAML allows only spaces around values"))
        });
    if let Some((index, at, what)) = tab {
        return (index + 1, at + 1, format!("a tab character {what}"));
    }
    if info.contains("quoted scalar") {
        // The last line at or before the error that opens a quote it
        // does not close.
        for index in (0..upto).rev() {
            if let Some((quote, at)) = unclosed_quote(lines[index]) {
                return (
                    index + 1,
                    at + 1,
                    format!(
                        "the quoted value starting here is never closed: add the closing {quote} at its end"
                    ),
                );
            }
        }
    }
    (line, col, info.to_string())
}

/// The quote character and its byte offset when `line` opens a quoted
/// scalar that it does not close (ignoring quotes inside the other kind,
/// a doubled `''` and an escaped `\"`, and everything after a comment).
fn unclosed_quote(line: &str) -> Option<(char, usize)> {
    let mut open: Option<(char, usize)> = None;
    let mut chars = line.char_indices().peekable();
    let mut previous = ' ';
    while let Some((at, c)) = chars.next() {
        match open {
            None if c == '#' && (previous == ' ' || at == 0) => break,
            None if (c == '"' || c == '\'') && starts_value(&line[..at]) => open = Some((c, at)),
            Some(('"', _)) if c == '\\' => {
                chars.next();
            }
            Some(('\'', _)) if c == '\'' && chars.peek().is_some_and(|(_, n)| *n == '\'') => {
                chars.next();
            }
            Some((q, _)) if c == q => open = None,
            _ => {}
        }
        previous = c;
    }
    open.map(|(q, at)| (if q == '"' { '"' } else { '\'' }, at))
}

/// Whether a quote after `before` starts a value (a quote inside a plain
/// word, as in `don't`, does not).
fn starts_value(before: &str) -> bool {
    let trimmed = before.trim_end();
    trimmed.is_empty()
        || trimmed.ends_with(':')
        || trimmed.ends_with('-')
        || trimmed.ends_with('[')
        || trimmed.ends_with('{')
        || trimmed.ends_with(',')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tab_is_reported_on_its_own_line() {
        let text = "a:\n  b: 1\n\tc: 2\nd: 3\n";
        let (line, col, message) = explain(text, 4, 1, "some parser message");
        assert_eq!((line, col), (3, 1));
        assert!(message.contains("tab"), "{message}");
        // The parser may stop on the line before the tab.
        let (line, col, _) = explain("a:\n  b: 1\n\tc: 2\n", 2, 7, "found a tab");
        assert_eq!((line, col), (3, 1));
    }

    #[test]
    fn an_unclosed_quote_is_reported_where_it_opens() {
        let text = "a:\n  b: \"open\n  c: 2\nd: 3\n";
        let (line, col, message) = explain(text, 3, 3, "invalid indentation in quoted scalar");
        assert_eq!((line, col), (2, 6));
        assert!(message.contains("never closed"), "{message}");
        assert!(message.contains('"'), "{message}");
    }

    #[test]
    fn quotes_inside_words_and_closed_quotes_are_fine() {
        assert_eq!(unclosed_quote("  b: don't"), None);
        assert_eq!(unclosed_quote("  b: 'it''s'"), None);
        assert_eq!(unclosed_quote(r#"  b: "say \"hi\"""#), None);
        assert_eq!(unclosed_quote("  b: 'open"), Some(('\'', 5)));
    }
}
