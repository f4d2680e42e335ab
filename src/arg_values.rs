//! The values flags take, each checked by its own parser, so that clap refuses a bad value
//! with its usage error (exit 2) before anything runs.

use std::fmt;
use std::time::Duration;

use log::LevelFilter;

use crate::process::logging;
use crate::signify::passcode::PASSCODE_LENGTH;

/// A number of seconds, shown in `--help` as the number given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seconds(pub Duration);

impl Seconds {
    /// Whole seconds.
    pub const fn from_secs(seconds: u64) -> Self {
        Self(Duration::from_secs(seconds))
    }

    /// Microseconds.
    pub const fn from_micros(micros: u64) -> Self {
        Self(Duration::from_micros(micros))
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.as_secs_f64())
    }
}

/// A number of seconds greater than zero (fractions allowed).
pub fn positive_seconds(text: &str) -> Result<Seconds, String> {
    match seconds_or_zero(text)? {
        Seconds(duration) if duration.is_zero() => {
            Err(format!("{text:?} must be more than 0 seconds"))
        }
        seconds => Ok(seconds),
    }
}

/// A number of seconds, zero or more (fractions allowed).
pub fn seconds_or_zero(text: &str) -> Result<Seconds, String> {
    text.trim()
        .parse::<f64>()
        .ok()
        .and_then(|value| Duration::try_from_secs_f64(value).ok())
        .map(Seconds)
        .ok_or_else(|| format!("{text:?} is not a number of seconds"))
}

/// A whole number greater than zero (a size in bytes, a count).
pub fn positive_count(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("must be more than 0".to_owned()),
        Ok(count) => Ok(count),
        Err(err) => Err(format!("{text:?} is not a whole number: {err}")),
    }
}

/// A log level: KERIA's names (DEBUG INFO WARNING ERROR CRITICAL) or Rust's.
pub fn log_level(text: &str) -> Result<LevelFilter, String> {
    logging::parse_level(text).map_err(|err| err.to_string())
}

/// A plain name that becomes a path segment: no separators, not `.` or `..`.
pub fn plain_name(text: &str) -> Result<String, String> {
    if text.is_empty() || text == "." || text == ".." || text.contains(['/', '\0']) {
        return Err(format!(
            "{text:?} must be a plain name (no '/', not '.' or '..')"
        ));
    }
    Ok(text.to_owned())
}

/// A backup's file name: a plain name in the backup folder, never a path.
pub fn backup_name(text: &str) -> Result<String, String> {
    crate::store::copy::check_backup_name(text)?;
    Ok(text.to_owned())
}

/// A passcode long enough for Signify.
pub fn passcode(text: &str) -> Result<String, String> {
    if text.chars().count() < PASSCODE_LENGTH {
        return Err(format!(
            "the passcode must be at least {PASSCODE_LENGTH} characters"
        ));
    }
    Ok(text.to_owned())
}

/// A `;`-separated list of http(s) URLs (OOBIs), each with a host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UrlList(pub Vec<String>);

/// Splits a `;`-separated list and checks each entry.
pub fn url_list(text: &str) -> Result<UrlList, String> {
    text.split(';')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            web_url(entry)?;
            Ok(entry.to_owned())
        })
        .collect::<Result<_, String>>()
        .map(UrlList)
}

/// The base URL of an agency's boot port, as `status` and `boot` take it:
/// `http(s)://host[:port][/prefix]`, no query or fragment; kept without a trailing `/`.
pub fn agency_url(text: &str) -> Result<url::Url, String> {
    let url = web_url(text)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{text:?} must not have a query or a fragment"));
    }
    Ok(url)
}

fn web_url(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text).map_err(|err| format!("{text:?} is not a URL: {err}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("{text:?} must be an http or https URL with a host"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{
        agency_url, passcode, plain_name, positive_count, positive_seconds, seconds_or_zero,
        url_list, Seconds,
    };

    #[test]
    fn seconds_are_positive_finite_numbers_and_show_as_given() {
        assert_eq!(
            positive_seconds("0.03125").unwrap().0,
            Duration::from_micros(31_250)
        );
        assert_eq!(Seconds::from_micros(31_250).to_string(), "0.03125");
        assert_eq!(Seconds::from_secs(86_400).to_string(), "86400");
        for bad in ["0", "-1", "nan", "inf", "x", ""] {
            assert!(positive_seconds(bad).is_err(), "{bad}");
        }
        assert!(seconds_or_zero("0").unwrap().0.is_zero());
    }

    #[test]
    fn counts_names_and_passcodes() {
        assert_eq!(positive_count("1024"), Ok(1024));
        assert!(positive_count("0").is_err() && positive_count("-3").is_err());
        assert!(plain_name("../x").is_err() && plain_name("..").is_err());
        assert!(passcode("short").unwrap_err().contains("at least 21"));
    }

    #[test]
    fn url_lists_are_split_and_checked() {
        assert_eq!(
            url_list("http://a:1;https://b/x").unwrap().0,
            vec!["http://a:1", "https://b/x"]
        );
        assert!(url_list("http://a;nope").unwrap_err().contains("\"nope\""));
        assert!(url_list("ftp://a").is_err());
        assert!(url_list("").unwrap().0.is_empty());
    }

    #[test]
    fn agency_urls_are_http_or_https_without_query() {
        assert_eq!(
            agency_url("https://h:1/p").unwrap().as_str(),
            "https://h:1/p"
        );
        assert!(agency_url("http://h/?q=1").is_err());
        assert!(agency_url("unix:/x").is_err());
    }
}
