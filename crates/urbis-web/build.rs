//! Builds the front end in `web/` with npm and generates `$OUT_DIR/assets.rs`, a static table of
//! the bundle's files. Without Node.js 20+ and npm (or without `web/package.json`, or with
//! `URBIS_SKIP_WEB=1`) it embeds a one-page fallback that says so, and the build still succeeds.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

const NEED_NODE: &str =
    "Node.js 20+ and npm are needed to build the web UI; the server will serve a page saying so";

fn main() {
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env("OUT_DIR"));
    let web_dir = manifest_dir.join("../../web");
    println!("cargo:rerun-if-env-changed=URBIS_SKIP_WEB");
    println!("cargo:rerun-if-changed=build.rs");

    let skip = std::env::var("URBIS_SKIP_WEB").is_ok_and(|v| !v.is_empty() && v != "0");
    if skip {
        write_fallback(
            &out_dir,
            "URBIS_SKIP_WEB is set: this build embeds no web UI.",
        );
        return;
    }
    watch_sources(&web_dir);
    if !web_dir.join("package.json").is_file() {
        println!("cargo:warning={NEED_NODE} (web/package.json is missing)");
        write_fallback(&out_dir, NEED_NODE);
        return;
    }
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    let node_ok = node_major().is_some_and(|major| major >= 20);
    let npm_ok = Command::new(npm)
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    if !node_ok || !npm_ok {
        println!("cargo:warning={NEED_NODE}");
        write_fallback(&out_dir, NEED_NODE);
        return;
    }
    if needs_install(&web_dir) {
        run_npm(npm, &web_dir, &["ci", "--no-audit", "--no-fund"], None);
    }
    let dist = out_dir.join("web-dist");
    run_npm(npm, &web_dir, &["run", "build"], Some(&dist));
    if !dist.join("index.html").is_file() {
        panic!(
            "npm run build succeeded but wrote no index.html to {}",
            dist.display()
        );
    }
    let mut files = Vec::new();
    collect(&dist, &dist, &mut files);
    write_table(&out_dir, &files, false);
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("cargo sets {name}"))
}

/// Emits `rerun-if-changed` for the front end's sources that exist (a missing path would make
/// cargo rerun this script on every build). Without `web/package.json` that file is watched
/// anyway, so the UI gets built once it appears.
fn watch_sources(web_dir: &Path) {
    let mut paths: Vec<PathBuf> = [
        "src",
        "index.html",
        "package-lock.json",
        "public",
        "tsconfig.json",
    ]
    .iter()
    .map(|name| web_dir.join(name))
    .filter(|path| path.exists())
    .collect();
    paths.push(web_dir.join("package.json"));
    if let Ok(entries) = std::fs::read_dir(web_dir) {
        for entry in entries.flatten() {
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with("vite.config.")
            {
                paths.push(entry.path());
            }
        }
    }
    for path in paths {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

/// Returns the major version of `node`, if it runs.
fn node_major() -> Option<u32> {
    let out = Command::new("node").arg("--version").output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.trim()
        .trim_start_matches('v')
        .split('.')
        .next()?
        .parse()
        .ok()
}

/// Returns whether `npm ci` must run: `node_modules` is missing or older than the lock file.
fn needs_install(web_dir: &Path) -> bool {
    let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let lock = modified(&web_dir.join("package-lock.json"));
    // npm rewrites node_modules/.package-lock.json on every install; the directory is a fallback.
    let installed = modified(&web_dir.join("node_modules/.package-lock.json"))
        .or_else(|| modified(&web_dir.join("node_modules")));
    match (installed, lock) {
        (None, _) => true,
        (Some(installed), Some(lock)) => installed < lock,
        (Some(_), None) => false,
    }
}

fn run_npm(npm: &str, web_dir: &Path, args: &[&str], out: Option<&Path>) {
    let mut command = Command::new(npm);
    command.args(args).current_dir(web_dir);
    if let Some(out) = out {
        command.env("URBIS_WEB_OUT", out);
    }
    let output = command
        .output()
        .unwrap_or_else(|err| panic!("failed to run npm {}: {err}", args.join(" ")));
    if !output.status.success() {
        panic!(
            "`npm {}` in {} failed ({}):\n{}\n{}",
            args.join(" "),
            web_dir.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// Collects every file under `dir` as (path relative to `root` with `/` separators, absolute path).
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, PathBuf)>) {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("failed to read {}: {err}", dir.display()));
    for entry in entries {
        let entry = entry.unwrap_or_else(|err| panic!("failed to read {}: {err}", dir.display()));
        let path = entry.path();
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let relative = path
                .strip_prefix(root)
                .expect("collected under root")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            files.push((relative, path));
        }
    }
}

fn write_fallback(out_dir: &Path, message: &str) {
    let page = out_dir.join("fallback-index.html");
    let html = format!(
        "<!doctype html>\n<html lang=\"zh-CN\">\n<head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>城治 Urbis</title></head>\n<body>\n<div id=\"app\">\n<h1>城治 Urbis</h1>\n\
         <p>The web UI is not part of this build. {message}.</p>\n\
         <p>The API is available under <a href=\"/api/v1/openapi.json\">/api/v1</a>.</p>\n\
         </div>\n</body>\n</html>\n"
    );
    std::fs::write(&page, html)
        .unwrap_or_else(|err| panic!("failed to write {}: {err}", page.display()));
    write_table(out_dir, &[("index.html".to_owned(), page)], true);
}

/// Writes `assets.rs`: `FALLBACK` and `FILES`, sorted by path for binary search.
fn write_table(out_dir: &Path, files: &[(String, PathBuf)], fallback: bool) {
    let mut files = files.to_vec();
    files.sort();
    let mut code = String::new();
    writeln!(code, "pub(crate) const FALLBACK: bool = {fallback};").expect("write to string");
    writeln!(code, "pub(crate) static FILES: &[(&str, &str, &[u8])] = &[").expect("write");
    for (relative, path) in &files {
        let absolute = path
            .canonicalize()
            .unwrap_or_else(|err| panic!("failed to resolve {}: {err}", path.display()));
        writeln!(
            code,
            "    ({relative:?}, {:?}, include_bytes!({:?})),",
            content_type(relative),
            absolute.display().to_string()
        )
        .expect("write");
    }
    writeln!(code, "];").expect("write");
    let target = out_dir.join("assets.rs");
    std::fs::write(&target, code)
        .unwrap_or_else(|err| panic!("failed to write {}: {err}", target.display()));
}

fn content_type(path: &str) -> &'static str {
    let extension = path.rsplit_once('.').map(|(_, ext)| ext).unwrap_or("");
    match extension.to_ascii_lowercase().as_str() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "geojson" => "application/geo+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "wasm" => "application/wasm",
        "txt" => "text/plain; charset=utf-8",
        "webmanifest" => "application/manifest+json",
        _ => "application/octet-stream",
    }
}
