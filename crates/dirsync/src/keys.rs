//! The service-keys file: one `name=key` line per calling service, readable by its owner only.
//! `serve` and `core` create it on first start with a key for the edge and one for
//! `dirsync admin`; operators add a line per product service.
//!
//! A line may name its scopes after the key: `crm=dsk_… scopes=directory.read,changes`.
//! Without them a key keeps the default scopes of its name (`admin`, `edge`, `portal`), and
//! any other name gets the least a product service needs (`product`: directory reads,
//! entitlements, the change feed). See `dirsync_core::service_auth` for the table.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use dirsync_core::Scopes;

/// The services a fresh key file has keys for.
pub const DEFAULT_SERVICES: &[&str] = &["edge", "admin", "portal"];

/// One line of the file: a calling service, its key and what the key may do.
#[derive(Clone)]
pub struct KeyEntry {
    pub name: String,
    pub key: String,
    pub scopes: Scopes,
}

#[derive(Clone, Default)]
pub struct KeyFile {
    pub entries: Vec<KeyEntry>,
}

impl std::fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self
            .entries
            .iter()
            .map(|e| format!("{}[{}]", e.name, e.scopes))
            .collect();
        f.debug_struct("KeyFile").field("services", &names).finish()
    }
}

impl KeyFile {
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let mut entries = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((name, rest)) = line.split_once('=') else {
                bail!("line {}: expected name=key [scopes=a,b]", n + 1);
            };
            let name = name.trim();
            let mut words = rest.split_whitespace();
            let key = words.next().unwrap_or("");
            if name.is_empty() || key.len() < 32 {
                bail!(
                    "line {}: a service name and a key of at least 32 characters are needed",
                    n + 1
                );
            }
            let mut scopes = Scopes::default_for(name);
            for word in words {
                let Some(list) = word.strip_prefix("scopes=") else {
                    bail!(
                        "line {}: after the key only scopes=a,b may follow, found {word:?}",
                        n + 1
                    );
                };
                scopes = Scopes::parse(list).with_context(|| format!("line {}", n + 1))?;
                if scopes.is_empty() {
                    bail!("line {}: scopes= names no scope", n + 1);
                }
            }
            entries.push(KeyEntry {
                name: name.to_owned(),
                key: key.to_owned(),
                scopes,
            });
        }
        Ok(KeyFile { entries })
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries.iter().find(|e| e.name == name).map(|e| e.key.as_str())
    }

    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading service keys {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    /// Reads the file, or creates it with fresh keys (mode 0600); says whether it created it.
    pub fn load_or_create(path: &Path) -> anyhow::Result<(Self, bool)> {
        if path.exists() {
            return Ok((Self::read(path)?, false));
        }
        let mut entries = Vec::new();
        for name in DEFAULT_SERVICES {
            let key = dirsync_store::tokens::generate_with_prefix(dirsync_store::tokens::SERVICE_KEY_PREFIX)
                .map_err(|e| anyhow::anyhow!("no randomness available: {e}"))?;
            entries.push(KeyEntry {
                name: (*name).to_owned(),
                key,
                scopes: Scopes::default_for(name),
            });
        }
        let mut text = String::from(concat!(
            "# dirsync service keys: one name=key line per service calling the gRPC API.\n",
            "# A line may end in scopes=a,b (admin, edge, portal, directory.read, entitlements,\n",
            "# changes, product); without it admin, edge and portal keep their own scope and any\n",
            "# other name gets product (directory reads, entitlements, the change feed).\n",
        ));
        for e in &entries {
            text.push_str(&format!("{}={}\n", e.name, e.key));
        }
        write_private(path, &text)?;
        Ok((KeyFile { entries }, true))
    }

    pub fn auth(&self) -> dirsync_core::ServiceAuth {
        dirsync_core::ServiceAuth::with_scopes(
            self.entries
                .iter()
                .map(|e| (e.name.clone(), e.key.clone(), e.scopes.clone())),
        )
    }
}

/// Creates a file only its owner can read (mode 0600); fails if it exists.
pub fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut file = opts
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

/// The server key that seals connection secrets: given, or read from (or created in) a file.
pub fn server_key(direct: Option<&str>, path: &Path) -> anyhow::Result<(dirsync_store::sealing::SecretBox, bool)> {
    let seal = |k: &str| dirsync_store::sealing::SecretBox::from_base64(k).map_err(anyhow::Error::from);
    if let Some(k) = direct {
        return Ok((seal(k)?, false));
    }
    if path.exists() {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        return Ok((seal(&text).with_context(|| format!("in {}", path.display()))?, false));
    }
    let key = dirsync_store::sealing::SecretBox::generate_key()?;
    write_private(path, &format!("{key}\n"))?;
    Ok((seal(&key)?, true))
}

/// Where the key file is when no flag names it: in the data directory.
pub fn default_path(data_dir: Option<&str>) -> PathBuf {
    let dir = data_dir
        .map(str::to_owned)
        .or_else(|| std::env::var("DIRSYNC_DATA_DIR").ok())
        .unwrap_or_else(|| "./data".to_owned());
    Path::new(&dir).join("service-keys")
}

/// A client's key: given directly, or the named entry of the key file.
pub fn client_key(direct: Option<&str>, file: Option<&str>, name: &str) -> anyhow::Result<String> {
    if let Some(k) = direct {
        return Ok(k.to_owned());
    }
    let path = file.map(PathBuf::from).unwrap_or_else(|| default_path(None));
    let keys = KeyFile::read(&path)
        .with_context(|| format!("no --service-key given and no key file at {}", path.display()))?;
    keys.get(name)
        .map(str::to_owned)
        .with_context(|| format!("{} has no key for {name:?}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files() {
        let dir = std::env::temp_dir().join(format!("dirsync-keys-{}", uuid::Uuid::new_v4().simple()));
        let path = dir.join("service-keys");
        let (created, new) = KeyFile::load_or_create(&path).unwrap();
        assert!(new);
        assert_eq!(created.entries.len(), DEFAULT_SERVICES.len());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let (again, new) = KeyFile::load_or_create(&path).unwrap();
        assert!(!new);
        assert_eq!(again.get("edge"), created.get("edge"));
        assert!(!format!("{again:?}").contains(created.get("edge").unwrap()));
        assert!(KeyFile::parse("edge=short").is_err());
        assert!(KeyFile::parse("# comment\n\nnoequals").is_err());
        let long = "k".repeat(32);
        let scoped = |line: &str| KeyFile::parse(line).map(|f| f.entries[0].scopes.to_string());
        for (line, want) in [
            (format!("edge={long}"), Some("edge")),
            (format!("admin = {long}"), Some("admin")),
            (format!("crm={long}"), Some("directory.read,entitlements,changes")),
            (format!("crm={long} scopes=changes"), Some("changes")),
            (
                format!("edge={long} scopes=directory.read,entitlements"),
                Some("directory.read,entitlements"),
            ),
            (format!("crm={long} scopes=root"), None),
            (format!("crm={long} scopes="), None),
            (format!("crm={long} tenants=x"), None),
        ] {
            assert_eq!(scoped(&line).ok().as_deref(), want, "{line}");
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
