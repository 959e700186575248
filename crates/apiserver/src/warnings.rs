//! What one write request asked of field validation (`fieldValidation=Ignore|Warn|Strict`) and
//! the warnings it collects, kept for the duration of the request as upstream keeps them in its
//! request context: the code that finds an unknown field (deep in admission) asks how to treat
//! it and records a warning without every signature in between carrying them. The handler
//! turns the warnings into `Warning: 299 - "<text>"` headers, which kubectl prints.

use crate::status::ApiError;
use gantry_api::catalogue::Resource;
use std::future::Future;
use std::sync::Mutex;

/// How unknown fields in a request body are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValidation {
    /// Dropped silently.
    Ignore,
    /// Dropped, with a warning (upstream's default).
    Warn,
    /// Refused.
    Strict,
}

impl FieldValidation {
    /// The query parameter's value (absent: `Warn`).
    pub fn parse(value: Option<&str>) -> Result<Self, ApiError> {
        match value.unwrap_or("Warn") {
            "Ignore" => Ok(Self::Ignore),
            "Warn" | "" => Ok(Self::Warn),
            "Strict" => Ok(Self::Strict),
            other => Err(ApiError::bad_request(format!(
                "fieldValidation parameter unsupported: {other}"
            ))),
        }
    }
}

struct Scope {
    validation: FieldValidation,
    warnings: Mutex<Vec<String>>,
    /// Fields the request body repeated, reported with the unknown ones.
    duplicates: Mutex<Vec<String>>,
}

tokio::task_local! {
    static SCOPE: Scope;
}

/// Empties one of the current request's lists (nothing outside a request).
fn take(list: impl Fn(&Scope) -> &Mutex<Vec<String>>) -> Vec<String> {
    SCOPE
        .try_with(|s| {
            std::mem::take(
                &mut *list(s)
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner),
            )
        })
        .unwrap_or_default()
}

/// Runs one request's work with its field validation; returns its result and its warnings.
pub async fn scoped<T>(
    validation: FieldValidation,
    work: impl Future<Output = T>,
) -> (T, Vec<String>) {
    let scope = Scope {
        validation,
        warnings: Mutex::new(Vec::new()),
        duplicates: Mutex::new(Vec::new()),
    };
    SCOPE
        .scope(scope, async {
            let result = work.await;
            (result, take(|s| &s.warnings))
        })
        .await
}

/// The current request's field validation (`Ignore` outside a request: the API server's own
/// writes).
pub fn validation() -> FieldValidation {
    SCOPE
        .try_with(|s| s.validation)
        .unwrap_or(FieldValidation::Ignore)
}

/// Records a warning for the current request (nothing outside one).
pub fn warn(text: String) {
    let _ = SCOPE.try_with(|s| {
        s.warnings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(text);
    });
}

/// Notes the fields the current request's body repeated (`duplicates::find`).
pub fn note_duplicates(paths: Vec<String>) {
    let _ = SCOPE.try_with(|s| {
        *s.duplicates
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = paths;
    });
}

/// Reports the fields a write dropped because its kind does not have them, and the fields its
/// body repeated (once per request), as the request's field validation asks: refused (400,
/// upstream's strict decoding message), warned, or not.
pub fn unknown_fields(resource: &Resource, dropped: &[String]) -> Result<(), ApiError> {
    let duplicates = take(|s| &s.duplicates);
    if dropped.is_empty() && duplicates.is_empty() {
        return Ok(());
    }
    let unknown = duplicates
        .iter()
        .map(|path| format!("duplicate field {path:?}"))
        .chain(dropped.iter().map(|path| format!("unknown field {path:?}")));
    match validation() {
        FieldValidation::Strict => {
            let kind = resource.kind;
            let listed: Vec<String> = unknown.collect();
            Err(ApiError::bad_request(format!(
                "{kind} in version {:?} cannot be handled as a {kind}: strict decoding error: {}",
                resource.version,
                listed.join(", ")
            )))
        }
        FieldValidation::Warn => {
            unknown.for_each(warn);
            Ok(())
        }
        FieldValidation::Ignore => Ok(()),
    }
}

/// A warning as an HTTP `Warning` header value (code 299, quoted text).
pub fn header_value(text: &str) -> String {
    format!("299 - {:?}", text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_sees_its_validation_and_gets_its_warnings() {
        assert_eq!(validation(), FieldValidation::Ignore);
        let (seen, warnings) = scoped(FieldValidation::Strict, async {
            warn("unknown field \"spec.x\"".into());
            validation()
        })
        .await;
        assert_eq!(seen, FieldValidation::Strict);
        assert_eq!(warnings, ["unknown field \"spec.x\""]);
        assert_eq!(
            header_value(&warnings[0]),
            "299 - \"unknown field \\\"spec.x\\\"\""
        );
        assert!(FieldValidation::parse(Some("Loose")).is_err());

        // Repeated and unknown fields, in one strict decoding error, reported once.
        let deployments = gantry_api::catalogue::find("apps", "v1", "deployments").unwrap();
        let (results, _) = scoped(FieldValidation::Strict, async {
            note_duplicates(vec!["spec.replicas".into()]);
            let first = unknown_fields(deployments, &["spec.bogus".into()]);
            let second = unknown_fields(deployments, &[]);
            (first, second)
        })
        .await;
        assert_eq!(
            results.0.unwrap_err().message,
            "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: duplicate field \"spec.replicas\", unknown field \"spec.bogus\""
        );
        assert!(results.1.is_ok());
        let (_, warned) = scoped(FieldValidation::Warn, async {
            note_duplicates(vec!["kind".into()]);
            unknown_fields(deployments, &[])
        })
        .await;
        assert_eq!(warned, ["duplicate field \"kind\""]);
        assert_eq!(FieldValidation::parse(None).unwrap(), FieldValidation::Warn);
    }
}
