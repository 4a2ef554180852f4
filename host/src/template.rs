//! Spin's variable templates, as `spin.toml` writes them (`"http://{{ host }}:{{ port }}"`), and
//! its rule for variable names. The manifest checks templates with these; [`crate::variables`]
//! fills them in.

use wasmtime::{Result, bail};

/// Spin's rule for variable names: lowercase letters, digits and '_', starting with a letter.
pub fn check_variable_name(name: &str) -> Result<()> {
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        bail!(
            "variable name {name:?} must be lowercase letters, digits and '_', starting with a letter"
        );
    }
    Ok(())
}

/// Expands a template (`"http://{{ host }}:{{ port }}"`), looking references up with `lookup`.
pub fn expand<'a, 'b>(
    template: &'a str,
    mut lookup: impl FnMut(&'a str) -> Result<&'b str>,
) -> Result<String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find("}}") else {
            bail!("unclosed `{{{{` in {template:?}");
        };
        let reference = rest[start + 2..start + len].trim();
        check_variable_name(reference)?;
        out.push_str(lookup(reference)?);
        rest = &rest[start + len + 2..];
    }
    if rest.contains("}}") {
        bail!("unopened `}}}}` in {template:?}");
    }
    out.push_str(rest);
    Ok(out)
}

/// The application variables a template refers to.
pub fn references(template: &str) -> Result<Vec<&str>> {
    let mut references = Vec::new();
    expand(template, |reference| {
        references.push(reference);
        Ok("")
    })?;
    Ok(references)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_templates_are_errors() {
        assert!(references("{{ open").is_err());
        assert!(references("close }}").is_err());
        assert!(references("{{ Bad-Name }}").is_err());
        assert_eq!(references("a{{x}}b{{ y }}").unwrap(), vec!["x", "y"]);
    }

    #[test]
    fn variable_names_are_lower_snake_case() {
        for good in ["a", "api_key", "v2"] {
            assert!(check_variable_name(good).is_ok(), "{good}");
        }
        for bad in ["", "Api", "2a", "api-key", "_a"] {
            assert!(check_variable_name(bad).is_err(), "{bad}");
        }
    }
}
