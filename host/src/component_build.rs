//! `fn-host build`: runs each component's `[component.<id>.build] command` in its `workdir`,
//! as `spin build` does.

use crate::manifest::Manifest;
use std::process::Command;
use wasmtime::error::Context;
use wasmtime::{Result, bail};

/// Builds every component that declares a build command, in manifest order; stops at the
/// first failure, naming the component and the command.
pub fn build_all(manifest: &Manifest) -> Result<()> {
    for (id, component) in &manifest.components {
        let Some(build) = &component.build else {
            println!("Component `{id}` has no build command: skipping");
            continue;
        };
        let workdir = match &build.workdir {
            Some(workdir) => manifest.dir.join(workdir),
            None => manifest.dir.clone(),
        };
        for command in build.command.commands() {
            println!("Building component `{id}` with `{command}`");
            let status = shell(command)
                .current_dir(&workdir)
                .envs(&build.environment)
                .status()
                .with_context(|| {
                    format!(
                        "cannot run the build of component `{id}` in {}",
                        workdir.display()
                    )
                })?;
            if !status.success() {
                bail!("build of component `{id}` failed: `{command}` exited with {status}");
            }
        }
    }
    println!("Finished building all components");
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
