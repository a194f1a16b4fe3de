//! The demo's HTML report in a real browser: headless Chromium renders it
//! with no console error, each chart has one point per period in the DOM
//! the browser built, and a screenshot is not blank.
//!
//! Without Chromium the test prints why it skipped and passes, unless
//! `CASELEDGER_REQUIRE_BROWSER=1` (CI sets it, so CI never skips). With
//! `CASELEDGER_UPDATE_SCREENSHOT=1` it also writes the screenshot to
//! docs/report-screenshot.png, the README's picture: the README shows what
//! this test saw.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// Longest a Chromium run may take, in seconds: a page this size renders
/// in about one; a hung browser must fail the test, not hang CI.
const CHROMIUM_TIMEOUT_S: u64 = 120;

/// The browser window: wide enough for three charts a row, tall enough
/// for the header, the tiles and every chart (the README's picture).
const WINDOW: &str = "1280,1700";

/// The environment variable that makes a missing browser a failure.
const REQUIRE_ENV: &str = "CASELEDGER_REQUIRE_BROWSER";
/// The environment variable that makes the test write the README's
/// screenshot.
const UPDATE_ENV: &str = "CASELEDGER_UPDATE_SCREENSHOT";

/// The Chromium binary: `CASELEDGER_CHROMIUM`, or `chromium` or
/// `chromium-browser` on the PATH.
fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("CASELEDGER_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|n| dir.join(n)))
        .find(|p| p.is_file())
}

/// Runs Chromium headless on `page` with `args`; returns (stdout, stderr).
fn run_chromium(browser: &Path, page: &Path, args: &[String]) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (out_dir.path().join("out"), out_dir.path().join("err"));
    let mut child = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let err = std::fs::read_to_string(&err_path).unwrap();
            assert!(status.success(), "chromium failed ({status}): {err}");
            return (std::fs::read_to_string(&out_path).unwrap(), err);
        }
        if started.elapsed() > Duration::from_secs(CHROMIUM_TIMEOUT_S) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within {CHROMIUM_TIMEOUT_S} s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The console messages and failed loads in Chromium's log.
fn console_problems(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("net::ERR_"))
        .collect()
}

/// The DOM Chromium built, as HTML.
fn dump_dom(browser: &Path, page: &Path) -> (String, String) {
    run_chromium(browser, page, &["--dump-dom".to_owned()])
}

/// A screenshot of the top of the page, decoded: (width, height, RGBA).
fn screenshot(browser: &Path, page: &Path, png_path: &Path) -> (u32, u32, Vec<u8>) {
    run_chromium(
        browser,
        page,
        &[
            format!("--screenshot={}", png_path.display()),
            format!("--window-size={WINDOW}"),
        ],
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png_path).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    let rgba = match info.color_type {
        png::ColorType::Rgba => buf,
        png::ColorType::Rgb => buf
            .chunks(3)
            .flat_map(|p| [p[0], p[1], p[2], 255])
            .collect(),
        other => panic!("unexpected PNG colour type {other:?}"),
    };
    (info.width, info.height, rgba)
}

/// How varied a picture is: (distinct colours, share of pixels that are
/// not near-white).
fn variety(rgba: &[u8]) -> (usize, f64) {
    let mut colours = std::collections::HashSet::new();
    let mut inked = 0usize;
    for p in rgba.chunks(4) {
        colours.insert([p[0], p[1], p[2]]);
        if p[..3].iter().any(|c| *c < 200) {
            inked += 1;
        }
    }
    (colours.len(), inked as f64 / (rgba.len() / 4) as f64)
}

/// At least this many distinct colours: text, lines, markers and their
/// anti-aliasing; a blank or single-colour page has one or two.
const MIN_COLOURS: usize = 50;
/// At least this share of pixels inked: a page of tiles and charts is well
/// above it; a blank one is at zero.
const MIN_INKED: f64 = 0.02;

/// The charts of a DOM dump, and how many points each has.
fn points_per_chart(dom: &str) -> Vec<usize> {
    dom.split(r#"<svg class="chart""#)
        .skip(1)
        .map(|chart| {
            let chart = &chart[..chart.find("</svg>").unwrap()];
            chart.matches(r#"class="point"#).count()
        })
        .collect()
}

#[test]
fn the_demo_page_renders_in_chromium() {
    let Some(browser) = chromium() else {
        if std::env::var(REQUIRE_ENV).is_ok_and(|v| v == "1") {
            panic!("{REQUIRE_ENV}=1 but no chromium on the PATH (Debian package `chromium`)");
        }
        eprintln!(
            "SKIPPED the_demo_page_renders_in_chromium: no `chromium` on the PATH (install \
             Debian's `chromium`; set {REQUIRE_ENV}=1 to make this a failure)"
        );
        return;
    };
    // `demo` as a new user runs it: in an empty directory, which gets the
    // store and the page beside it.
    let work = tempfile::tempdir().unwrap();
    let out = caseledger()
        .current_dir(work.path())
        .arg("demo")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("caseledger-demo-report.html"),
        "demo says where the page is: {stdout}"
    );
    let page = work.path().join("caseledger-demo-report.html");
    assert!(page.is_file());

    // The periods the charts must show, from the JSON report.
    let store = work.path().join("caseledger-demo-store");
    let (code, json, err) = run(
        &store,
        &["report", "--format", "json", "--group-by", "month"],
    );
    assert_eq!(code, 0, "{err}");
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let months = json["groups"].as_array().unwrap().len();
    assert!(months >= 4, "{months}");

    let (dom, log) = dump_dom(&browser, &page);
    assert_eq!(console_problems(&log), Vec::<&str>::new(), "console: {log}");
    // One chart per headline figure (seven), one point per month each.
    assert_eq!(
        points_per_chart(&dom),
        vec![months; 7],
        "one point per month"
    );

    let shots = tempfile::tempdir().unwrap();
    let png_path = shots.path().join("page.png");
    let (width, height, rgba) = screenshot(&browser, &page, &png_path);
    assert!(width >= 1000 && height >= 1000, "{width}x{height}");
    let (colours, inked) = variety(&rgba);
    assert!(
        colours >= MIN_COLOURS && inked >= MIN_INKED,
        "the screenshot looks blank: {colours} colours, {:.1}% inked",
        inked * 100.0
    );

    if std::env::var(UPDATE_ENV).is_ok_and(|v| v == "1") {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/report-screenshot.png");
        std::fs::copy(&png_path, &docs).unwrap();
        eprintln!("wrote {}", docs.display());
    }

    // The checks can fail: a page with a script error is caught, a blank
    // page is blank, and a chart short of a point is counted short.
    let bad = work.path().join("bad.html");
    std::fs::write(
        &bad,
        "<!DOCTYPE html><html><body><p>x</p><script>console.error('broken')</script></body></html>",
    )
    .unwrap();
    let (_, log) = dump_dom(&browser, &bad);
    assert_eq!(console_problems(&log).len(), 1, "{log}");
    std::fs::write(&bad, "<!DOCTYPE html><html><body></body></html>").unwrap();
    let (_, _, rgba) = screenshot(&browser, &bad, &png_path);
    let (colours, inked) = variety(&rgba);
    assert!(
        colours < MIN_COLOURS && inked < MIN_INKED,
        "{colours} {inked}"
    );
    let short = dom.replacen(r#"class="point"#, r#"class="gone"#, 1);
    assert_ne!(points_per_chart(&short), vec![months; 7]);
}
