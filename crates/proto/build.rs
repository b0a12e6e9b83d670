use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let out = PathBuf::from(env::var("OUT_DIR")?);
    let mut config = tonic_prost_build::Config::new();
    // protoc comes from a crate so a fresh machine builds with cargo alone.
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    let files = [
        "directory.proto",
        "admin.proto",
        "changes.proto",
        "licenses.proto",
        "schemas.proto",
        "settings.proto",
        "portal.proto",
    ]
    .map(|f| root.join("dirsync/v1").join(f));
    tonic_prost_build::configure()
        .file_descriptor_set_path(out.join("dirsync_descriptor.bin"))
        .compile_with_config(config, &files, &[root.clone(), protoc_bin_vendored::include_path()?])?;
    println!("cargo:rerun-if-changed={}", root.display());
    Ok(())
}
