//! `spin.toml` (manifest version 2): the subset of Spin's schema this host serves, parsed into
//! typed values once. Anything it cannot honour is rejected with the file, the key and the reason,
//! instead of being silently ignored.

use crate::host_errors::HostErrors;
use crate::template::{self, check_variable_name};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use wasmtime::error::Context;
use wasmtime::{Result, bail};

/// A parsed and checked application manifest.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The directory holding `spin.toml`; component sources and build workdirs resolve against it.
    pub dir: PathBuf,
    /// `[application]`.
    pub application: Application,
    /// `[variables]`: the application variables, by name.
    pub variables: BTreeMap<String, VariableDecl>,
    /// `[[trigger.http]]`, in manifest order.
    pub triggers: Vec<HttpTrigger>,
    /// `[component.<id>]`, by id.
    pub components: BTreeMap<String, Component>,
}

/// `[application]`.
#[derive(Debug, Clone)]
pub struct Application {
    /// The app's name.
    pub name: String,
    /// The app's version, as written.
    pub version: Option<String>,
    /// What the app is.
    pub description: Option<String>,
    /// Who wrote it.
    pub authors: Vec<String>,
    /// How this host answers errors of its own (`[application.tool.fn-host] error_template`).
    pub host_errors: HostErrors,
}

/// An application variable from `[variables]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariableDecl {
    /// The value when the environment gives none.
    #[serde(default)]
    pub default: Option<String>,
    /// The environment must give a value (there is no default).
    #[serde(default)]
    pub required: bool,
    /// Not to be shown (Spin keeps secrets out of its logs).
    #[serde(default)]
    pub secret: bool,
}

/// One `[[trigger.http]]` entry.
#[derive(Debug, Clone)]
pub struct HttpTrigger {
    /// Where it listens.
    pub route: Route,
    /// The id of the component it calls.
    pub component: String,
}

/// Where a trigger listens: a public path pattern, or nowhere (reachable only by chaining).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// A path pattern such as `/users/:id` or `/listings/...`.
    Public(String),
    /// `{ private = true }`.
    Private,
}

/// One `[component.<id>]`.
#[derive(Debug, Clone)]
pub struct Component {
    /// What it is.
    pub description: Option<String>,
    /// Absolute path of the component's Wasm file.
    pub source: PathBuf,
    /// Where its outbound requests may go, as written (variables not yet expanded).
    pub allowed_outbound_hosts: Vec<String>,
    /// The SQLite labels it may open.
    pub sqlite_databases: Vec<String>,
    /// The key-value store labels it may open.
    pub key_value_stores: Vec<String>,
    /// Component variables: name → template (`"{{ app_var }}"` or literal text).
    pub variables: BTreeMap<String, String>,
    /// Environment variables its instances get.
    pub environment: BTreeMap<String, String>,
    /// How `fn-host build` builds it.
    pub build: Option<Build>,
}

/// `[component.<id>.build]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Build {
    /// What to run.
    pub command: BuildCommand,
    /// Where to run it, relative to the manifest's directory.
    #[serde(default)]
    pub workdir: Option<PathBuf>,
    /// Globs of the files whose changes rebuild it under `fn-host watch` (and `spin watch`),
    /// relative to `workdir`.
    #[serde(default)]
    pub watch: Vec<String>,
    /// Environment variables of the build command.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
}

impl Build {
    /// Where its command runs and its `watch` globs are rooted: `workdir` under the manifest's
    /// directory.
    pub fn dir(&self, manifest_dir: &Path) -> PathBuf {
        match &self.workdir {
            Some(workdir) => manifest_dir.join(workdir),
            None => manifest_dir.to_path_buf(),
        }
    }
}

/// `command = "a && b"` or `command = ["a", "b"]`, as Spin accepts both.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum BuildCommand {
    /// One shell command.
    One(String),
    /// Shell commands run in order.
    Many(Vec<String>),
}

impl BuildCommand {
    /// The commands, in order.
    pub fn commands(&self) -> &[String] {
        match self {
            BuildCommand::One(command) => std::slice::from_ref(command),
            BuildCommand::Many(commands) => commands,
        }
    }
}

// ---- the raw TOML shape -------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    spin_manifest_version: toml::Value,
    application: RawApplication,
    #[serde(default)]
    variables: BTreeMap<String, VariableDecl>,
    #[serde(default)]
    trigger: RawTriggers,
    #[serde(default)]
    component: BTreeMap<String, RawComponent>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApplication {
    name: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    authors: Vec<String>,
    #[serde(default)]
    tool: RawTools,
}

/// `[application.tool.<name>]`: settings for tools, which Spin ignores; this host reads its own.
#[derive(Default, Deserialize)]
struct RawTools {
    #[serde(default, rename = "fn-host")]
    fn_host: RawHostSettings,
    #[serde(flatten)]
    _other_tools: BTreeMap<String, toml::Value>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHostSettings {
    #[serde(default)]
    error_template: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTriggers {
    #[serde(default)]
    http: Vec<RawHttpTrigger>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttpTrigger {
    /// Spin accepts a trigger id; nothing here refers to it.
    #[serde(default, rename = "id")]
    _id: Option<String>,
    route: RawRoute,
    component: String,
    #[serde(default)]
    executor: Option<RawExecutor>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawRoute {
    Path(String),
    Private { private: bool },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExecutor {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawComponent {
    #[serde(default)]
    description: Option<String>,
    source: RawSource,
    #[serde(default)]
    allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    sqlite_databases: Vec<String>,
    #[serde(default)]
    key_value_stores: Vec<String>,
    #[serde(default)]
    variables: BTreeMap<String, String>,
    #[serde(default)]
    environment: BTreeMap<String, String>,
    #[serde(default)]
    build: Option<Build>,
    /// `[component.<id>.tool.<name>]`: settings for other tools, ignored as Spin ignores them.
    #[serde(default, rename = "tool")]
    _tool: BTreeMap<String, toml::Value>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawSource {
    Path(PathBuf),
    Remote { url: String },
}

impl Manifest {
    /// Reads and checks `path`; every error names the file, the key and what is wrong.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read manifest {}", path.display()))?;
        let dir = path
            .canonicalize()
            .with_context(|| format!("cannot resolve {}", path.display()))?
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        Self::parse(&text, dir).with_context(|| format!("invalid manifest {}", path.display()))
    }

    /// Parses manifest text; relative paths resolve against `dir`.
    pub fn parse(text: &str, dir: PathBuf) -> Result<Self> {
        let raw: RawManifest = toml::from_str(text)?;
        if raw.spin_manifest_version.as_integer() != Some(2) {
            bail!(
                "spin_manifest_version: this host reads manifest version 2, found {}",
                raw.spin_manifest_version
            );
        }
        for (name, decl) in &raw.variables {
            check_variable_name(name).with_context(|| format!("variables.{name}"))?;
            match (&decl.default, decl.required) {
                (Some(_), true) => {
                    bail!("variables.{name}: `default` and `required = true` exclude each other")
                }
                (None, false) => bail!("variables.{name}: give a `default` or `required = true`"),
                _ => {}
            }
        }
        let mut components = BTreeMap::new();
        for (id, raw_component) in raw.component {
            let key = format!("component.{id}");
            check_component_id(&id).with_context(|| key.clone())?;
            let component = Component::from_raw(raw_component, &dir, &raw.variables)
                .with_context(|| key.clone())?;
            components.insert(id, component);
        }
        let mut triggers = Vec::new();
        for (index, trigger) in raw.trigger.http.into_iter().enumerate() {
            let key = format!("trigger.http[{index}]");
            triggers.push(HttpTrigger::from_raw(trigger, &components).with_context(|| key)?);
        }
        if triggers.is_empty() {
            bail!("trigger.http: the application has no HTTP trigger");
        }
        Ok(Manifest {
            dir,
            application: Application::from_raw(raw.application)?,
            variables: raw.variables,
            triggers,
            components,
        })
    }
}

impl Application {
    fn from_raw(raw: RawApplication) -> Result<Self> {
        let host_errors = match &raw.tool.fn_host.error_template {
            Some(template) => {
                HostErrors::json(template).context("application.tool.fn-host.error_template")?
            }
            None => HostErrors::PlainText,
        };
        Ok(Application {
            name: raw.name,
            version: raw.version,
            description: raw.description,
            authors: raw.authors,
            host_errors,
        })
    }
}

impl Component {
    fn from_raw(
        raw: RawComponent,
        dir: &Path,
        app_variables: &BTreeMap<String, VariableDecl>,
    ) -> Result<Self> {
        let source = match raw.source {
            RawSource::Path(path) => dir.join(path),
            RawSource::Remote { url } => {
                bail!(
                    "source: {url} is remote; this host runs only local files (download it first)"
                )
            }
        };
        for label in &raw.sqlite_databases {
            check_label(label).with_context(|| format!("sqlite_databases: {label:?}"))?;
        }
        for label in &raw.key_value_stores {
            check_label(label).with_context(|| format!("key_value_stores: {label:?}"))?;
        }
        for (name, template) in &raw.variables {
            check_variable_name(name).with_context(|| format!("variables.{name}"))?;
            for reference in
                template::references(template).with_context(|| format!("variables.{name}"))?
            {
                if !app_variables.contains_key(reference) {
                    bail!(
                        "variables.{name}: refers to `{{{{ {reference} }}}}`, \
                         which is not declared in [variables]"
                    );
                }
            }
        }
        Ok(Component {
            description: raw.description,
            source,
            allowed_outbound_hosts: raw.allowed_outbound_hosts,
            sqlite_databases: raw.sqlite_databases,
            key_value_stores: raw.key_value_stores,
            variables: raw.variables,
            environment: raw.environment,
            build: raw.build,
        })
    }
}

impl HttpTrigger {
    fn from_raw(raw: RawHttpTrigger, components: &BTreeMap<String, Component>) -> Result<Self> {
        if let Some(executor) = raw.executor
            && executor.kind != "spin"
        {
            bail!("executor: only the `spin` executor is supported, found `{}`", executor.kind);
        }
        if !components.contains_key(&raw.component) {
            bail!(
                "component: `{}` is not defined (no [component.{}])",
                raw.component,
                raw.component
            );
        }
        let route = match raw.route {
            RawRoute::Path(path) => {
                check_route(&path).with_context(|| format!("route {path:?}"))?;
                Route::Public(path)
            }
            RawRoute::Private { private: true } => Route::Private,
            RawRoute::Private { private: false } => {
                bail!("route: `{{ private = false }}` is not a route; give a path")
            }
        };
        Ok(HttpTrigger { route, component: raw.component })
    }
}

/// Spin's rule for component ids: kebab-case words of lowercase letters and digits.
fn check_component_id(id: &str) -> Result<()> {
    let valid = !id.is_empty()
        && id.split('-').all(|word| {
            !word.is_empty() && word.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
        && id.starts_with(|c: char| c.is_ascii_lowercase());
    if !valid {
        bail!("component id {id:?} must be kebab-case (lowercase letters, digits and single '-')");
    }
    Ok(())
}

fn check_label(label: &str) -> Result<()> {
    let valid = !label.is_empty()
        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid {
        bail!("a label is letters, digits, '_' and '-'");
    }
    Ok(())
}

/// Routes are `/`-rooted paths; `/...` may end one, and `:name` may stand for a segment.
fn check_route(route: &str) -> Result<()> {
    if !route.starts_with('/') {
        bail!("a route starts with '/'");
    }
    let segments: Vec<&str> = route.split('/').skip(1).collect();
    for (index, segment) in segments.iter().enumerate() {
        let last = index + 1 == segments.len();
        if *segment == "..." && !last {
            bail!("`...` may only end a route");
        }
        if segment.contains('*') {
            bail!("use `/...` for a wildcard, not `*`");
        }
        if let Some(name) = segment.strip_prefix(':')
            && (name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        {
            bail!("`:{name}`: a parameter name is letters, digits and '_'");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
spin_manifest_version = 2
[application]
name = "demo"
[variables]
greeting = { default = "hi" }
token = { required = true, secret = true }
[[trigger.http]]
route = "/hello/..."
component = "hello"
[[trigger.http]]
route = { private = true }
component = "hidden"
[component.hello]
source = "hello.wasm"
sqlite_databases = ["default"]
key_value_stores = ["default", "cache"]
[component.hello.variables]
message = "{{ greeting }}, world"
[component.hidden]
source = "/abs/hidden.wasm"
"#;

    fn parse(text: &str) -> Result<Manifest> {
        Manifest::parse(text, PathBuf::from("/app"))
    }

    #[test]
    fn parses_triggers_components_and_variables() {
        let manifest = parse(MINIMAL).unwrap();
        assert_eq!(manifest.application.name, "demo");
        assert_eq!(manifest.triggers.len(), 2);
        assert_eq!(manifest.triggers[0].route, Route::Public("/hello/...".into()));
        assert_eq!(manifest.triggers[1].route, Route::Private);
        let hello = &manifest.components["hello"];
        assert_eq!(hello.source, PathBuf::from("/app/hello.wasm"));
        assert_eq!(hello.variables["message"], "{{ greeting }}, world");
        assert_eq!(hello.key_value_stores, ["default", "cache"]);
        assert_eq!(manifest.components["hidden"].source, PathBuf::from("/abs/hidden.wasm"));
        assert!(manifest.variables["token"].secret);
    }

    #[test]
    fn reads_its_own_tool_settings_and_ignores_other_tools() {
        let text = MINIMAL
            .replace(
                "name = \"demo\"",
                "name = \"demo\"\n[application.tool.fn-host]\n\
                 error_template = '{\"error\": \"{message}\"}'\n\
                 [application.tool.other]\nanything = 1",
            )
            .replace(
                "[component.hidden]",
                "[component.hello.tool.other]\nanything = 2\n[component.hidden]",
            );
        let manifest = parse(&text).unwrap();
        assert_eq!(
            manifest.application.host_errors,
            HostErrors::Json(r#"{"error": "{message}"}"#.into())
        );
        assert_eq!(parse(MINIMAL).unwrap().application.host_errors, HostErrors::PlainText);
    }
}
