//! Printing an error with its source chain, each cause once: one renderer
//! for every command's failure and for one-line reports (progress events,
//! check results). A leaf module, so every part of liftoff can use it
//! without depending on the top-level error type.

/// The texts of an error's causes (its `source()` chain), each once: a
/// cause whose text the line before it already says (a wrapper that prints
/// its source in its own message, say) is left out.
pub fn causes(error: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut previous = error.to_string();
    let mut out = Vec::new();
    let mut cause = error.source();
    while let Some(c) = cause {
        let text = c.to_string();
        if !text.is_empty() && !previous.contains(&text) {
            out.push(text.clone());
            previous = text;
        }
        cause = c.source();
    }
    out
}

/// The error and its distinct causes on one line, `: `-joined (progress
/// events, check results, logs).
pub fn one_line(error: &(dyn std::error::Error + 'static)) -> String {
    let mut line = error.to_string();
    for cause in causes(error) {
        line.push_str(": ");
        line.push_str(&cause);
    }
    line
}

/// `error: …`, then `  caused by: …` for each distinct cause, then
/// `hint: …`: how every command's failure is printed.
pub fn render_chain(error: &(dyn std::error::Error + 'static), hint: Option<&str>) -> String {
    let mut out = format!("error: {error}");
    for cause in causes(error) {
        out.push_str("\n  caused by: ");
        out.push_str(&cause);
    }
    if let Some(h) = hint {
        out.push_str("\nhint: ");
        out.push_str(h);
    }
    out
}
