//! The HTML report in a real browser: headless Chromium loads the page from disk, takes a
//! screenshot, and the test fails on a blank page or on any console error. Skipped (with a
//! message) when no Chromium is on PATH; CI installs Debian's `chromium` (scripts/test.sh).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use stegosim_reports::{LoadRun, SimRun, html, load_report};

/// Seconds one browser run may take.
const BROWSER_SECONDS_MAX: u64 = 120;

/// Browsers tried, in order.
const BROWSERS: [&str; 4] = [
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];

fn find_browser() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for name in BROWSERS {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Fraction of pixels that are not (nearly) white, and the image size.
fn ink(png_path: &Path) -> (f64, u32, u32) {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png_path).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let bytes = &buf[..info.buffer_size()];
    let pixels = bytes.chunks(channels * (info.bit_depth as usize / 8).max(1));
    let total = (info.width * info.height) as f64;
    let inked = pixels
        .filter(|p| p.iter().take(3.min(channels)).any(|v| *v < 235))
        .count() as f64;
    (inked / total, info.width, info.height)
}

/// Loads `page` in headless Chromium; returns the screenshot's ink fraction and the console
/// lines Chromium logged.
fn screenshot(browser: &Path, page: &Path, png_path: &Path) -> (f64, String) {
    let profile = tempfile::tempdir().unwrap();
    let log_path = profile.path().join("stderr.log");
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", png_path.display()))
        .arg("--window-size=1280,2000")
        .arg(format!("file://{}", page.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(&log_path).unwrap()))
        .spawn()
        .expect("the browser starts");
    // A hung browser fails the test instead of hanging the suite.
    let deadline = std::time::Duration::from_secs(BROWSER_SECONDS_MAX);
    let mut waited = std::time::Duration::ZERO;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if waited >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the browser did not finish within {BROWSER_SECONDS_MAX} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        waited += std::time::Duration::from_millis(100);
    };
    let stderr = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(
        png_path.is_file(),
        "no screenshot; browser exit {:?}, stderr:\n{stderr}",
        status
    );
    (ink(png_path).0, stderr)
}

/// Console messages of the page (Chromium logs them as `CONSOLE(...)` or
/// `Uncaught ...` lines with `--enable-logging=stderr`).
fn console_errors(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught") || l.contains(":CONSOLE"))
        .collect()
}

#[test]
fn the_report_renders_in_headless_chromium() {
    let Some(browser) = find_browser() else {
        println!("skipped: no chromium on PATH (CI installs Debian's chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut pages: Vec<(String, String)> = ["partition-fork-revert", "failing", "snowball"]
        .iter()
        .map(|name| {
            let run = SimRun::load(&data(name)).unwrap();
            (name.to_string(), html::render(&[run]).unwrap())
        })
        .collect();
    // Load reports: one run, and three results merged.
    let load = |f: &str| data("load").join(f);
    let one = LoadRun::load(&[load("payments.json")]).unwrap();
    pages.push(("load-payments".into(), load_report::html(&one).unwrap()));
    let merged = LoadRun::load(&[load("a.json"), load("b.json"), load("payments.json")]).unwrap();
    pages.push(("load-merged".into(), load_report::html(&merged).unwrap()));
    for (name, text) in pages {
        let page = dir.path().join(format!("{name}.html"));
        std::fs::write(&page, text).unwrap();
        let png_path = dir.path().join(format!("{name}.png"));
        let (ink, stderr) = screenshot(&browser, &page, &png_path);
        let errors = console_errors(&stderr);
        assert!(
            errors.is_empty(),
            "{name}: console errors:\n{}",
            errors.join("\n")
        );
        // A page with a banner, tables and plots inks well over a tenth of its pixels; a
        // blank or failed page (white, or Chromium's error page) far less.
        assert!(
            ink > 0.10,
            "{name}: the screenshot is nearly blank ({ink:.3} inked)"
        );
        if let Some(keep) = std::env::var_os("STEGOSIM_KEEP_SCREENSHOTS") {
            std::fs::create_dir_all(&keep).unwrap();
            std::fs::copy(&png_path, Path::new(&keep).join(format!("{name}.png"))).unwrap();
        }
    }
}

#[test]
fn a_blank_page_is_detected() {
    let Some(browser) = find_browser() else {
        println!("skipped: no chromium on PATH (CI installs Debian's chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("blank.html");
    std::fs::write(&page, "<!DOCTYPE html><html><body></body></html>").unwrap();
    let (ink, _) = screenshot(&browser, &page, &dir.path().join("blank.png"));
    assert!(ink < 0.01, "a blank page inks almost nothing ({ink:.3})");
    // And a script error reaches the console lines the report test checks.
    let page = dir.path().join("error.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><body><p>x</p><script>undefinedFunction();</script></body></html>",
    )
    .unwrap();
    let (_, stderr) = screenshot(&browser, &page, &dir.path().join("error.png"));
    assert!(
        !console_errors(&stderr).is_empty(),
        "a script error is seen on the console:\n{stderr}"
    );
}
