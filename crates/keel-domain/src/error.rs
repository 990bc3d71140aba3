//! Validation errors: what was wrong with an input, and which field it was.

use std::fmt;

/// One input that failed validation: the field it came from and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError {
    /// The field's name as the user gave it (`title`, `criteria[2].text`, `key`).
    pub field: String,
    /// What is wrong, for a person to read.
    pub message: String,
}

impl ValidationError {
    /// A validation error on `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }

    /// The same error, reported under a parent field (`criteria` + `[2].text`).
    pub fn within(mut self, parent: &str) -> Self {
        self.field = if self.field.starts_with('[') {
            format!("{parent}{}", self.field)
        } else {
            format!("{parent}.{}", self.field)
        };
        self
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Shorthand for results of parsing outside input.
pub type Invalid<T> = Result<T, ValidationError>;

/// Checks a free-text field: trimmed length within `min..=max` characters, no control
/// characters other than newlines and tabs when `multiline`.
pub fn text(field: &str, value: &str, min: usize, max: usize, multiline: bool) -> Invalid<String> {
    let v = if multiline { value.trim_end().to_string() } else { value.trim().to_string() };
    let n = v.chars().count();
    if n < min {
        return Err(ValidationError::new(
            field,
            if min == 1 {
                "must not be empty".to_string()
            } else {
                format!("must be at least {min} characters")
            },
        ));
    }
    if n > max {
        return Err(ValidationError::new(field, format!("must be at most {max} characters")));
    }
    if v.chars().any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t' || c == '\r'))) {
        return Err(ValidationError::new(field, "must not contain control characters"));
    }
    Ok(v)
}
