//! `spin:variables@3.0.0` and `fermyon:spin/variables@2.0.0`: application variables (manifest defaults, `SPIN_VARIABLE_<NAME>` from the
//! environment over them) expanded into each component's own variables, which are all a guest
//! can see. Everything is resolved once at start, so a missing value fails the start, not a
//! request.

use crate::bindings::fermyon::spin::variables as variables_v2;
use crate::bindings::spin::variables::variables::{self, Error};
use crate::manifest::Manifest;
use crate::template;
use std::collections::BTreeMap;
use std::sync::Arc;
use wasmtime::component::{Accessor, HasData};
use wasmtime::{Result, bail};

/// A component's variables, resolved: name → value.
#[derive(Debug, Clone, Default)]
pub struct ComponentVariables(Arc<BTreeMap<String, String>>);

/// The prefix Spin's environment provider reads (`SPIN_VARIABLE_API_KEY` sets `api_key`).
const ENV_PREFIX: &str = "SPIN_VARIABLE_";

/// The application's variables with their values: `SPIN_VARIABLE_<NAME>` from the environment
/// over the manifest default; `None` for a required variable nobody set.
pub struct AppVariables(BTreeMap<String, Option<String>>);

impl AppVariables {
    /// `env` is the process environment as name → value pairs.
    pub fn new(manifest: &Manifest, env: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut overrides: BTreeMap<String, String> = env
            .into_iter()
            .filter_map(|(key, value)| {
                let name = key.strip_prefix(ENV_PREFIX)?.to_ascii_lowercase();
                Some((name, value))
            })
            .collect();
        let values = manifest
            .variables
            .iter()
            .map(|(name, decl)| {
                let value = overrides.remove(name).or_else(|| decl.default.clone());
                (name.clone(), value)
            })
            .collect();
        AppVariables(values)
    }

    /// Expands `template` with application variables; `what` names its use in the error.
    pub fn expand(&self, template: &str, what: &str) -> Result<String> {
        template::expand(template, |reference| match self.0.get(reference) {
            Some(Some(value)) => Ok(value.as_str()),
            Some(None) => bail!(
                "{what} needs application variable `{reference}`, which has no value: \
                     set {ENV_PREFIX}{} or give it a default",
                reference.to_ascii_uppercase()
            ),
            None => bail!("{what} refers to `{reference}`, which is not in [variables]"),
        })
    }

    /// A component's own variables, resolved.
    pub fn for_component(&self, manifest: &Manifest, id: &str) -> Result<ComponentVariables> {
        let mut values = BTreeMap::new();
        if let Some(component) = manifest.components.get(id) {
            for (name, template) in &component.variables {
                let what = format!("component `{id}` variable `{name}`");
                values.insert(name.clone(), self.expand(template, &what)?);
            }
        }
        Ok(ComponentVariables(Arc::new(values)))
    }
}

/// [`HasData`] marker for the `spin:variables` implementation.
pub struct Variables;

impl HasData for Variables {
    type Data<'a> = &'a ComponentVariables;
}

impl ComponentVariables {
    /// The value of `name`, as both versions of the interface answer it.
    fn get(&self, name: String) -> Result<String, Error> {
        if template::check_variable_name(&name).is_err() {
            return Err(Error::InvalidName(name));
        }
        self.0.get(&name).cloned().ok_or(Error::Undefined(name))
    }
}

impl variables::Host for &ComponentVariables {}

impl<T> variables::HostWithStore<T> for Variables {
    async fn get(store: &Accessor<T, Self>, name: String) -> Result<Result<String, Error>> {
        Ok(store.with(|mut access| access.get().get(name)))
    }
}

impl variables_v2::Host for &ComponentVariables {
    fn get(&mut self, name: String) -> Result<Result<String, variables_v2::Error>> {
        Ok(ComponentVariables::get(self, name).map_err(|error| match error {
            Error::InvalidName(name) => variables_v2::Error::InvalidName(name),
            Error::Undefined(name) => variables_v2::Error::Undefined(name),
            Error::Provider(message) => variables_v2::Error::Provider(message),
            Error::Other(message) => variables_v2::Error::Other(message),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn manifest(variables: &str, component_variables: &str) -> Manifest {
        let text = format!(
            "spin_manifest_version = 2\n[application]\nname = \"t\"\n[variables]\n{variables}\n\
             [[trigger.http]]\nroute = \"/...\"\ncomponent = \"web\"\n\
             [component.web]\nsource = \"web.wasm\"\n[component.web.variables]\n{component_variables}\n"
        );
        Manifest::parse(&text, PathBuf::from("/app")).unwrap()
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_expand_into_templates() {
        let manifest = manifest(
            "host = { default = \"db.local\" }\nport = { default = \"5432\" }",
            "url = \"postgres://{{ host }}:{{port}}/app\"\nplain = \"text\"",
        );
        let web = AppVariables::new(&manifest, env(&[])).for_component(&manifest, "web").unwrap();
        assert_eq!(web.0["url"], "postgres://db.local:5432/app");
        assert_eq!(web.0["plain"], "text");
    }

    #[test]
    fn environment_overrides_defaults_and_fills_required() {
        let manifest = manifest(
            "host = { default = \"db.local\" }\ntoken = { required = true, secret = true }",
            "url = \"{{ host }}\"\nauth = \"Bearer {{ token }}\"",
        );
        let variables = AppVariables::new(
            &manifest,
            env(&[
                ("SPIN_VARIABLE_HOST", "db.prod"),
                ("SPIN_VARIABLE_TOKEN", "s3cret"),
                ("HOST", "ignored"),
            ]),
        );
        let web = variables.for_component(&manifest, "web").unwrap();
        assert_eq!(web.0["url"], "db.prod");
        assert_eq!(web.0["auth"], "Bearer s3cret");
    }

    #[test]
    fn missing_required_value_names_component_variable_and_env_key() {
        let manifest = manifest("token = { required = true }", "auth = \"{{ token }}\"");
        let message = AppVariables::new(&manifest, env(&[]))
            .for_component(&manifest, "web")
            .unwrap_err()
            .to_string();
        assert!(message.contains("`web`"), "{message}");
        assert!(message.contains("SPIN_VARIABLE_TOKEN"), "{message}");
    }
}
