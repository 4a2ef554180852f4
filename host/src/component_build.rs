//! `fn-host build`: runs each component's `[component.<id>.build] command` in its `workdir`,
//! as `spin build` does. The commands' output (the compiler's errors) goes to this process's
//! stdout and stderr.

use crate::manifest::Manifest;
use std::process::Command;
use wasmtime::error::Context;
use wasmtime::{Result, bail};

/// Builds every component that declares a build command, in manifest order; stops at the
/// first failure, naming the component and the command.
pub fn build_all(manifest: &Manifest) -> Result<()> {
    for id in manifest.components.keys() {
        build(manifest, id)?;
    }
    println!("Finished building all components");
    Ok(())
}

/// Builds component `id` with its build command, if it has one.
pub fn build(manifest: &Manifest, id: &str) -> Result<()> {
    let Some(build) = manifest.components.get(id).and_then(|component| component.build.as_ref())
    else {
        println!("Component `{id}` has no build command: skipping");
        return Ok(());
    };
    let workdir = build.dir(&manifest.dir);
    for command in build.command.commands() {
        println!("Building component `{id}` with `{command}`");
        let status =
            shell(command).current_dir(&workdir).envs(&build.environment).status().with_context(
                || format!("cannot run the build of component `{id}` in {}", workdir.display()),
            )?;
        if !status.success() {
            bail!("build of component `{id}` failed: `{command}` exited with {status}");
        }
    }
    Ok(())
}

#[cfg(unix)]
fn shell(command: &str) -> Command {
    let mut shell = Command::new("sh");
    shell.arg("-c").arg(command);
    shell
}

#[cfg(windows)]
fn shell(command: &str) -> Command {
    let mut shell = Command::new("cmd");
    shell.arg("/C").arg(command);
    shell
}
