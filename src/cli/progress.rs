//! Drawing engine events: progress bars on a terminal, plain lines in a
//! log, JSON lines with `--output json`.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use super::Output;
use crate::plan::events::{Event, Events};

/// The event sink for this output mode and terminal.
pub fn for_output(output: Output, title: &str) -> Box<dyn Events> {
    match output {
        Output::Json => Box::new(JsonLines),
        Output::Text if std::io::stderr().is_terminal() => Box::new(Bars::new(title)),
        Output::Text => Box::new(Lines),
    }
}

/// One JSON object per line on stderr: with `--output json`, stdout
/// carries only the command's one document (the plan, the result).
pub struct JsonLines;

impl Events for JsonLines {
    fn emit(&self, event: Event) {
        eprintln!(
            "{}",
            serde_json::to_string(&event).expect("event serializes")
        );
    }
}

/// Plain lines on stderr, for logs and pipes.
pub struct Lines;

impl Events for Lines {
    fn emit(&self, event: Event) {
        if let Some(line) = describe(&event) {
            eprintln!("{line}");
        }
    }
}

/// The line a human reads for an event (None: nothing worth a line).
pub fn describe(event: &Event) -> Option<String> {
    Some(match event {
        Event::Observing { resources } => format!("reading {resources} resource(s)"),
        Event::Applying { changes } => format!("applying {changes} change(s)"),
        Event::Started { address, action } => format!("{address}: {}...", action.verb()),
        Event::Progress { address, message } => format!("{address}: {message}"),
        Event::Finished {
            address,
            action,
            elapsed_ms,
        } => {
            format!(
                "{address}: {} done ({})",
                action.verb(),
                human(Duration::from_millis(*elapsed_ms))
            )
        }
        Event::Failed {
            address,
            action,
            error,
            hint,
        } => {
            let hint = hint
                .as_ref()
                .map(|h| format!("\n    hint: {h}"))
                .unwrap_or_default();
            format!("{address}: {} FAILED: {error}{hint}", action.verb())
        }
        Event::Skipped { address, because } => {
            format!("{address}: skipped because {because} failed")
        }
        Event::Summary(s) => {
            format!(
                "done: {}, failed: {}, skipped: {}, unchanged: {}",
                s.done, s.failed, s.skipped, s.unchanged
            )
        }
    })
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}.{}s", s, d.subsec_millis() / 100)
    }
}

/// A spinner per resource in flight (with elapsed time) under a totals bar.
pub struct Bars {
    multi: MultiProgress,
    total: ProgressBar,
    lines: Mutex<HashMap<String, ProgressBar>>,
}

impl Bars {
    fn new(title: &str) -> Self {
        let multi = MultiProgress::new();
        let total = multi.add(ProgressBar::new(0));
        total.set_style(total_style());
        total.set_prefix(title.to_string());
        Bars {
            multi,
            total,
            lines: Mutex::new(HashMap::new()),
        }
    }
}

fn total_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix:.bold} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
        .expect("template")
        .progress_chars("=> ")
}

impl Events for Bars {
    fn emit(&self, event: Event) {
        let mut lines = self.lines.lock().expect("bars lock");
        match &event {
            Event::Observing { resources } => {
                // Reads report nothing one by one: a spinner, not a bar.
                self.total.set_style(
                    ProgressStyle::with_template("{spinner} {prefix:.bold} {msg} ({elapsed})")
                        .expect("template"),
                );
                self.total
                    .set_message(format!("reading {resources} resource(s)"));
                self.total.enable_steady_tick(Duration::from_millis(120));
            }
            Event::Applying { changes } => {
                self.total.set_style(total_style());
                self.total.set_length(*changes as u64);
                self.total.set_position(0);
                self.total.set_message("");
            }
            Event::Started { address, action } => {
                let bar = self.multi.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("  {spinner} {prefix} {msg} [{elapsed}]")
                        .expect("template"),
                );
                bar.set_prefix(format!("{} {address}", action.symbol()));
                bar.set_message(format!("{}...", action.verb()));
                bar.enable_steady_tick(Duration::from_millis(120));
                lines.insert(address.to_string(), bar);
            }
            Event::Progress { address, message } => {
                if let Some(bar) = lines.get(address.as_str()) {
                    bar.set_message(message.clone());
                }
            }
            Event::Finished { address, .. } | Event::Failed { address, .. } => {
                self.total.inc(1);
                if let Some(bar) = lines.remove(address.as_str()) {
                    bar.finish_and_clear();
                }
                let _ = self.multi.println(describe(&event).unwrap_or_default());
            }
            Event::Skipped { .. } => {
                self.total.inc(1);
                let _ = self.multi.println(describe(&event).unwrap_or_default());
            }
            Event::Summary(_) => {
                self.total.finish_and_clear();
                let _ = self.multi.println(describe(&event).unwrap_or_default());
            }
        }
    }
}

impl Drop for Bars {
    fn drop(&mut self) {
        self.total.finish_and_clear();
        let _ = self.multi.clear();
    }
}
