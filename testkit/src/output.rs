//! A host's output: every line it prints on stdout and stderr, kept for the test to read.

use std::io::{BufRead, BufReader, Read};
use std::process::Child;
use std::sync::{Arc, Mutex, mpsc};

/// The lines a host printed so far, in the order they arrived.
#[derive(Clone, Default)]
pub(crate) struct Output(Arc<Mutex<Vec<String>>>);

impl Output {
    /// Collects the piped stdout and stderr of `child` on two threads. The receiver gets the
    /// URL of the `Serving <url>` line both hosts print once they listen.
    pub fn capture(child: &mut Child) -> (Output, mpsc::Receiver<String>) {
        let output = Output::default();
        let (serving_tx, serving_rx) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let streams: [Box<dyn Read + Send>; 2] = [Box::new(stdout), Box::new(stderr)];
        for stream in streams {
            let output = output.clone();
            let serving = serving_tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Some(url) = line.strip_prefix("Serving ") {
                        let _ = serving.send(url.to_string());
                    }
                    output.lines().push(line);
                }
            });
        }
        (output, serving_rx)
    }

    pub fn text(&self) -> String {
        self.lines().join("\n")
    }

    /// The last `count` lines.
    pub fn tail(&self, count: usize) -> String {
        let lines = self.lines();
        lines[lines.len().saturating_sub(count)..].join("\n")
    }

    fn lines(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}
