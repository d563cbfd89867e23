//! A store's URL: telling it from a path, naming it without its password,
//! and wording the client's errors with it.

use crate::AuditError;

/// Whether `location` names a store rather than a log file.
pub fn is_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// `url` without its password, to name the store in messages.
pub fn redacted(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((user, host)) => {
            let user = user.split_once(':').map_or(user, |(name, _)| name);
            format!("{scheme}://{user}@{host}")
        }
        None => url.to_owned(),
    }
}

/// A failure of the store at `url`, worded from the client's error.
pub(crate) fn failure(url: &str) -> impl Fn(postgres::Error) -> AuditError + '_ {
    move |error| AuditError::Store {
        store: redacted(url),
        detail: detail(&error),
    }
}

/// The server's message when there is one (the client's own `db error` says
/// nothing), else the client's.
pub(crate) fn detail(error: &postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => error.to_string(),
    }
}
