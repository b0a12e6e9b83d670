use std::{env, path::PathBuf};

use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, FileDescriptorSet};

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
    let includes = [root.clone(), protoc_bin_vendored::include_path()?];

    // Serialize on every generated type, for the admin CLI's JSON (`src/json.rs`). prost keeps
    // times as `prost_types::Timestamp` and enum fields as `i32`, so those fields get a
    // `serialize_with`; the descriptors say which fields they are.
    let mut builder = tonic_prost_build::configure()
        .file_descriptor_set_path(out.join("dirsync_descriptor.bin"))
        .type_attribute(".dirsync.v1", "#[derive(serde::Serialize)]")
        .enum_attribute(".dirsync.v1", "#[serde(rename_all = \"snake_case\")]");
    for (path, with) in serialize_with(&config.load_fds(&files, &includes)?)? {
        builder = builder.field_attribute(path, format!("#[serde(serialize_with = \"{with}\")]"));
    }
    builder.compile_with_config(config, &files, &includes)?;
    println!("cargo:rerun-if-changed={}", root.display());
    Ok(())
}

/// (prost field path, serializer) for every time and enum field of the dirsync messages.
fn serialize_with(set: &FileDescriptorSet) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for file in set.file.iter().filter(|f| f.package() == "dirsync.v1") {
        for message in &file.message_type {
            fields(&format!(".dirsync.v1.{}", message.name()), message, &mut out)?;
        }
    }
    Ok(out)
}

fn fields(path: &str, message: &DescriptorProto, out: &mut Vec<(String, String)>) -> Result<(), String> {
    for field in &message.field {
        // A oneof member (not a proto3 `optional`, which prost makes an `Option` field) is a
        // variant holding the bare value.
        let oneof = field.oneof_index.filter(|_| !field.proto3_optional());
        let at = match oneof {
            Some(i) => format!("{path}.{}.{}", message.oneof_decl[i as usize].name(), field.name()),
            None => format!("{path}.{}", field.name()),
        };
        let repeated = field.label() == Label::Repeated;
        let with = match field.r#type() {
            Type::Message if field.type_name() == ".google.protobuf.Timestamp" => match (repeated, oneof) {
                (false, Some(_)) => "crate::json::timestamp".to_owned(),
                (false, None) => "crate::json::optional_timestamp".to_owned(),
                (true, _) => return Err(format!("{at}: repeated times have no JSON form in src/json.rs")),
            },
            Type::Enum if repeated => return Err(format!("{at}: repeated enums have no JSON form in src/json.rs")),
            Type::Enum if field.proto3_optional() => {
                format!(
                    "crate::json::optional_enumeration::<{}, _>",
                    rust_type(field.type_name())?
                )
            }
            Type::Enum => format!("crate::json::enumeration::<{}, _>", rust_type(field.type_name())?),
            _ => continue,
        };
        out.push((at, with));
    }
    for nested in &message.nested_type {
        fields(&format!("{path}.{}", nested.name()), nested, out)?;
    }
    Ok(())
}

/// The Rust path prost gives a `.dirsync.v1.Outer.Inner` enum: `crate::v1::outer::Inner`.
fn rust_type(proto: &str) -> Result<String, String> {
    let Some(rest) = proto.strip_prefix(".dirsync.v1.") else {
        return Err(format!("{proto}: only dirsync.v1 enums are expected"));
    };
    let mut parts: Vec<&str> = rest.split('.').collect();
    let name = parts.pop().unwrap_or_default();
    let modules: String = parts.iter().map(|p| format!("::{}", snake(p))).collect();
    Ok(format!("crate::v1{modules}::{name}"))
}

/// `UserSpec` -> `user_spec`, as prost names the module of a message's nested types.
fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}
