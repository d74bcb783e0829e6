//! The web UI, embedded. `build.rs` builds `web/` with npm into `$OUT_DIR/web-dist` and generates
//! a static table of its files; [`get`] looks a request path up in it. Files under `assets/` carry
//! a content hash in their name (Vite's output), so they may be cached for good; everything else,
//! `index.html` above all, must be revalidated.
//!
//! Without Node.js (or with `URBIS_SKIP_WEB=1`) the table holds one fallback `index.html` that
//! says how to get the UI; [`is_fallback`] tells which one this build has.

mod generated {
    include!(concat!(env!("OUT_DIR"), "/assets.rs"));
}

/// One embedded file.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// The file's bytes.
    pub bytes: &'static [u8],
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Whether its name carries a content hash, so that it never changes (long-lived caching).
    pub immutable: bool,
}

/// Returns the embedded file at a URL path (`/` and the empty path are `index.html`), or `None`.
pub fn get(path: &str) -> Option<Asset> {
    let path = path.trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    let idx = generated::FILES
        .binary_search_by(|(name, _, _)| (*name).cmp(path))
        .ok()?;
    let (name, content_type, bytes) = generated::FILES[idx];
    Some(Asset {
        bytes,
        content_type,
        immutable: name.starts_with("assets/"),
    })
}

/// Returns `index.html`, the page every UI route is served by.
pub fn index() -> Asset {
    get("index.html").expect("build.rs always embeds index.html")
}

/// Returns whether this build embeds only the fallback page (no Node.js at build time, or
/// `URBIS_SKIP_WEB=1`).
pub fn is_fallback() -> bool {
    generated::FALLBACK
}

/// Returns the paths of every embedded file, sorted.
pub fn paths() -> impl Iterator<Item = &'static str> {
    generated::FILES.iter().map(|(name, _, _)| *name)
}

#[cfg(test)]
mod tests;
