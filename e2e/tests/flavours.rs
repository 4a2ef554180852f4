//! The two manifests describe one app: `spin.wasip2.toml` differs from `spin.toml` only in
//! where each component's file is and how it is built (the `p2` feature, in a profile of its
//! own). Routes, labels, variables, grants and the rest are the same, so the flavours cannot
//! drift apart.

mod support;

use support::Flavour;

fn manifest(flavour: Flavour) -> toml::Table {
    let path = flavour.manifest();
    let text = std::fs::read_to_string(&path).expect("read the manifest");
    text.parse().expect("the manifest is TOML")
}

/// Each component's `source` and build command, taken out of `manifest`.
fn take_builds(manifest: &mut toml::Table) -> Vec<(String, String, String)> {
    let components = manifest["component"].as_table_mut().expect("components");
    components
        .iter_mut()
        .map(|(id, component)| {
            let component = component.as_table_mut().expect("a component table");
            let source = component.remove("source").expect("a source");
            let mut build = component.remove("build").expect("a build");
            let command = build
                .as_table_mut()
                .and_then(|build| build.remove("command"))
                .expect("a build command");
            component.insert("build".into(), build);
            (
                id.clone(),
                source.as_str().expect("a path").to_owned(),
                command.as_str().expect("one command").to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_two_manifests_differ_only_in_how_components_are_built() {
    let mut p3 = manifest(Flavour::P3);
    let mut p2 = manifest(Flavour::P2);
    let p3_builds = take_builds(&mut p3);
    let p2_builds = take_builds(&mut p2);
    assert_eq!(p3, p2, "the manifests differ in more than the components' builds");
    for ((id, p3_source, p3_command), (_, p2_source, p2_command)) in
        p3_builds.iter().zip(&p2_builds)
    {
        let file = p3_source
            .strip_prefix("target/wasm32-wasip2/release/")
            .unwrap_or_else(|| panic!("{id}: {p3_source}"));
        assert_eq!(p2_source, &format!("target/wasm32-wasip2/wasip2/{file}"), "{id}");
        assert_eq!(
            p2_command,
            &p3_command
                .replace("--release", "--profile wasip2 --no-default-features --features p2"),
            "{id}"
        );
    }
}
