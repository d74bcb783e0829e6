//! Where a store lives and which backend it is: `--db` parsed once.

use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The two stores Urbis runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Where a store lives: a SQLite file (a path or a `sqlite:` URL) or a PostgreSQL database
/// (a `postgres://` or `postgresql://` URL).
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Location {
    /// Reads `--db`: `postgres://…` and `postgresql://…` are PostgreSQL; `sqlite:PATH`,
    /// `sqlite://PATH` and anything else is a SQLite file path.
    pub fn parse(text: &str) -> Location {
        let text = text.trim();
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Location::Postgres(text.to_owned());
        }
        let path = text
            .strip_prefix("sqlite://")
            .or_else(|| text.strip_prefix("sqlite:"))
            .unwrap_or(text);
        Location::Sqlite(PathBuf::from(path))
    }

    pub fn backend(&self) -> Backend {
        match self {
            Location::Sqlite(_) => Backend::Sqlite,
            Location::Postgres(_) => Backend::Postgres,
        }
    }

    /// The location as `--db` takes it, password included: for handing to a child process,
    /// never for logs (`Display` hides the password).
    pub fn to_arg(&self) -> String {
        match self {
            Location::Sqlite(path) => path.display().to_string(),
            Location::Postgres(url) => url.clone(),
        }
    }

    /// The SQLite file, when the store is one.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Location::Sqlite(path) => Some(path),
            Location::Postgres(_) => None,
        }
    }
}

/// Shown without a password, so it can go into logs.
impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Sqlite(path) => write!(f, "{}", path.display()),
            Location::Postgres(url) => match (url.find("://"), url.rfind('@')) {
                (Some(scheme), Some(at)) if at > scheme => {
                    let creds = &url[scheme + 3..at];
                    match creds.split_once(':') {
                        Some((user, _)) => {
                            write!(f, "{}{user}:***{}", &url[..scheme + 3], &url[at..])
                        }
                        None => f.write_str(url),
                    }
                }
                _ => f.write_str(url),
            },
        }
    }
}

impl std::fmt::Debug for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Location({self})")
    }
}

impl FromStr for Location {
    type Err = std::convert::Infallible;
    fn from_str(text: &str) -> std::result::Result<Location, Self::Err> {
        Ok(Location::parse(text))
    }
}

impl From<&str> for Location {
    fn from(text: &str) -> Location {
        Location::parse(text)
    }
}

impl From<String> for Location {
    fn from(text: String) -> Location {
        Location::parse(&text)
    }
}

impl From<PathBuf> for Location {
    fn from(path: PathBuf) -> Location {
        Location::Sqlite(path)
    }
}

impl From<&Path> for Location {
    fn from(path: &Path) -> Location {
        Location::Sqlite(path.to_owned())
    }
}

impl From<&PathBuf> for Location {
    fn from(path: &PathBuf) -> Location {
        Location::Sqlite(path.clone())
    }
}

impl From<&Location> for Location {
    fn from(location: &Location) -> Location {
        location.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_paths_are_told_apart_and_passwords_never_shown() {
        assert_eq!(
            Location::parse("postgres://u:secret@db:5432/city"),
            Location::Postgres("postgres://u:secret@db:5432/city".into())
        );
        assert_eq!(
            Location::parse("postgres://u:secret@db:5432/city").to_string(),
            "postgres://u:***@db:5432/city"
        );
        assert_eq!(
            Location::parse("postgres://u:secret@db:5432/city").to_arg(),
            "postgres://u:secret@db:5432/city"
        );
        assert_eq!(
            Location::parse("postgresql://db/city").backend(),
            Backend::Postgres
        );
        assert_eq!(
            Location::parse("sqlite:///var/lib/urbis/city.sqlite"),
            Location::Sqlite(PathBuf::from("/var/lib/urbis/city.sqlite"))
        );
        assert_eq!(
            Location::parse("sqlite:city.sqlite"),
            Location::Sqlite(PathBuf::from("city.sqlite"))
        );
        assert_eq!(
            Location::parse("data/city.sqlite").file(),
            Some(Path::new("data/city.sqlite"))
        );
    }
}
