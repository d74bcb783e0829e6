//! The configuration file of `urbis serve` (`--config FILE`, `URBIS_CONFIG`): TOML with the same
//! names as the flags. Flags win over environment variables, environment variables over the
//! file, the file over the defaults — clap tells where each value came from, and the file fills
//! only what came from a default.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::ArgMatches;
use clap::parser::ValueSource;
use serde::Deserialize;

use crate::serve::ServeArgs;

/// What a configuration file may set.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub db: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    pub relaxed: Option<bool>,
    pub sla_interval_secs: Option<u64>,
    pub model: Option<PathBuf>,
    pub public_url: Option<String>,
    pub time_zone: Option<String>,
    pub skip_integrity_check: Option<bool>,
    pub sms_webhook: Option<String>,
    pub email_webhook: Option<String>,
    pub wechat_webhook: Option<String>,
}

/// Largest configuration file read.
const MAX_BYTES: u64 = 64 * 1024;

/// Reads and checks a configuration file.
pub fn load(path: &Path) -> anyhow::Result<FileConfig> {
    let size = std::fs::metadata(path)
        .with_context(|| format!("cannot read the configuration file {}", path.display()))?
        .len();
    if size > MAX_BYTES {
        anyhow::bail!("{} is larger than 64 KiB", path.display());
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
    toml::from_str(&text).map_err(|err| anyhow::format_err!("{}: {err}", path.display()))
}

/// Fills every option of `serve` that came from its default with the file's value.
pub fn apply(args: &mut ServeArgs, matches: &ArgMatches) -> anyhow::Result<()> {
    let Some(path) = args.config.clone() else {
        return Ok(());
    };
    let file = load(&path)?;
    let unset = |id: &str| {
        matches!(
            matches.value_source(id),
            None | Some(ValueSource::DefaultValue)
        )
    };
    if let (true, Some(db)) = (unset("db"), file.db) {
        // A relative file path in the file is relative to the file; a URL is taken as it is.
        args.db.db = match urbis_service::store::Location::parse(&db.to_string_lossy()) {
            urbis_service::store::Location::Sqlite(file) => urbis_service::store::Location::Sqlite(
                path.parent().map(|dir| dir.join(&file)).unwrap_or(file),
            ),
            url => url,
        };
    }
    if let (true, Some(listen)) = (unset("listen"), file.listen) {
        args.listen = listen;
    }
    if let (true, Some(relaxed)) = (unset("relaxed"), file.relaxed) {
        args.relaxed = relaxed;
    }
    if let (true, Some(secs)) = (unset("sla_interval_secs"), file.sla_interval_secs) {
        args.sla_interval_secs = secs;
    }
    if let (true, Some(model)) = (unset("model"), file.model) {
        args.model = Some(path.parent().map(|dir| dir.join(&model)).unwrap_or(model));
    }
    if let (true, Some(url)) = (unset("public_url"), file.public_url) {
        args.public_url = Some(url);
    }
    if let (true, Some(zone)) = (unset("time_zone"), file.time_zone) {
        args.time_zone = zone;
    }
    if let (true, Some(skip)) = (unset("skip_integrity_check"), file.skip_integrity_check) {
        args.skip_integrity_check = skip;
    }
    if let (true, Some(url)) = (unset("sms_webhook"), file.sms_webhook) {
        args.sms_webhook = Some(url);
    }
    if let (true, Some(url)) = (unset("email_webhook"), file.email_webhook) {
        args.email_webhook = Some(url);
    }
    if let (true, Some(url)) = (unset("wechat_webhook"), file.wechat_webhook) {
        args.wechat_webhook = Some(url);
    }
    Ok(())
}

/// Parses an IANA time zone name (`Asia/Shanghai`, `Asia/Urumqi`, `Europe/Berlin`, …).
pub fn time_zone(name: &str) -> anyhow::Result<chrono_tz::Tz> {
    name.trim().parse::<chrono_tz::Tz>().map_err(|_| {
        anyhow::format_err!("unknown time zone {name:?}: use an IANA name such as Asia/Shanghai")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_zones_are_iana_names() {
        assert_eq!(
            time_zone("Asia/Shanghai").expect("known"),
            chrono_tz::Tz::Asia__Shanghai
        );
        assert!(time_zone("UTC+8").is_err());
        assert!(time_zone("Mars/Olympus").is_err());
    }

    #[test]
    fn unknown_keys_are_refused() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("urbis.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:9000\"\nlisten_port = 1\n").expect("write");
        let err = load(&path).expect_err("unknown key");
        assert!(err.to_string().contains("listen_port"), "{err}");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\ntime_zone = \"Asia/Urumqi\"\n",
        )
        .expect("write");
        let file = load(&path).expect("valid");
        assert_eq!(file.listen, Some("127.0.0.1:9000".parse().expect("addr")));
        assert_eq!(file.time_zone.as_deref(), Some("Asia/Urumqi"));
    }
}
