//! The pods this server pretends to run: a TOML file (`--pods`) or the built-in default, plus the
//! fault pods (`--faults`) and the bench pod (`--bench`).

use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The TOML file: `[[pods]]` tables.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodsFile {
    #[serde(default)]
    pub pods: Vec<PodConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodConfig {
    pub name: String,
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// Working directory of every process in the pod (default: a fresh directory under the
    /// system temp dir, one per pod).
    #[serde(default)]
    pub workdir: Option<PathBuf>,
    /// Extra environment for every process in the pod.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The `kubectl.kubernetes.io/default-container` annotation (default: the first container).
    #[serde(default)]
    pub default_container: Option<String>,
    /// A minimal image: only these commands are on the pod's PATH (links to this machine's, in
    /// `<workdir>/.bin`); absent = this machine's PATH.
    #[serde(default)]
    pub commands: Option<Vec<String>>,
    pub containers: Vec<ContainerConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerConfig {
    pub name: String,
    /// The main process, joined by attach (default `["sleep", "infinity"]`).
    #[serde(default)]
    pub command: Vec<String>,
    /// The main process runs on a PTY.
    #[serde(default)]
    pub tty: bool,
    /// The main process reads stdin (attach -i).
    #[serde(default)]
    pub stdin: bool,
    /// `false`: the container is not running (CrashLoopBackOff); exec and attach fail as on a
    /// cluster.
    #[serde(default = "yes")]
    pub running: bool,
    #[serde(default)]
    pub image: Option<String>,
}

fn default_namespace() -> String {
    "default".into()
}

fn yes() -> bool {
    true
}

/// What answers exec/attach in a pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behavior {
    /// Real processes on this machine.
    Process,
    /// A scripted fault session.
    Fault(Fault),
    /// Output produced in-server (the bench pod).
    Bench,
}

/// The fault pods (README.md, CONTRACTS.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Drop,
    CloseAbnormal,
    Malformed,
    BadBase64,
    BadStatus,
    SplitUtf8,
    Stall,
    Large,
    Redirect,
}

impl Fault {
    pub const ALL: [Fault; 9] = [
        Fault::Drop,
        Fault::CloseAbnormal,
        Fault::Malformed,
        Fault::BadBase64,
        Fault::BadStatus,
        Fault::SplitUtf8,
        Fault::Stall,
        Fault::Large,
        Fault::Redirect,
    ];

    pub fn pod_name(self) -> &'static str {
        match self {
            Fault::Drop => "fault-drop",
            Fault::CloseAbnormal => "fault-close-abnormal",
            Fault::Malformed => "fault-malformed",
            Fault::BadBase64 => "fault-bad-base64",
            Fault::BadStatus => "fault-bad-status",
            Fault::SplitUtf8 => "fault-split-utf8",
            Fault::Stall => "fault-stall",
            Fault::Large => "fault-large",
            Fault::Redirect => "fault-redirect",
        }
    }
}

/// A pod as served.
#[derive(Debug)]
pub struct Pod {
    pub config: PodConfig,
    pub behavior: Behavior,
    pub workdir: PathBuf,
    pub uid: String,
    pub created: String,
}

impl Pod {
    pub fn container(&self, name: &str) -> Option<&ContainerConfig> {
        self.config.containers.iter().find(|c| c.name == name)
    }
}

/// Every pod, by (namespace, name).
#[derive(Debug, Default)]
pub struct Pods {
    by_key: HashMap<(String, String), Arc<Pod>>,
    order: Vec<(String, String)>,
}

impl Pods {
    pub fn get(&self, namespace: &str, name: &str) -> Option<Arc<Pod>> {
        self.by_key
            .get(&(namespace.to_string(), name.to_string()))
            .cloned()
    }

    pub fn has_namespace(&self, namespace: &str) -> bool {
        self.order.iter().any(|(ns, _)| ns == namespace)
    }

    pub fn in_namespace<'a>(&'a self, namespace: &'a str) -> impl Iterator<Item = Arc<Pod>> + 'a {
        self.order
            .iter()
            .filter(move |(ns, _)| ns == namespace)
            .filter_map(|k| self.by_key.get(k).cloned())
    }

    pub fn namespaces(&self) -> Vec<String> {
        let mut v: Vec<String> = self.order.iter().map(|(ns, _)| ns.clone()).collect();
        v.sort();
        v.dedup();
        if !v.iter().any(|n| n == "default") {
            v.insert(0, "default".into());
        }
        v
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    fn insert(&mut self, pod: Pod) -> Result<(), String> {
        let key = (pod.config.namespace.clone(), pod.config.name.clone());
        if self.by_key.contains_key(&key) {
            return Err(format!("pod {}/{} defined twice", key.0, key.1));
        }
        self.order.push(key.clone());
        self.by_key.insert(key, Arc::new(pod));
        Ok(())
    }
}

/// The default pods: `demo`, `echo`, `two`, `sidecar`, `nobash`, `stopped`, `notar`,
/// `evil-tar` in namespace `default`.
pub fn builtin() -> Vec<PodConfig> {
    let c = |name: &str, command: &[&str], tty: bool, stdin: bool, running: bool| ContainerConfig {
        name: name.into(),
        command: command.iter().map(|s| s.to_string()).collect(),
        tty,
        stdin,
        running,
        image: None,
    };
    let pod = |name: &str, containers: Vec<ContainerConfig>| PodConfig {
        name: name.into(),
        namespace: default_namespace(),
        workdir: None,
        env: BTreeMap::new(),
        labels: BTreeMap::from([("app".to_string(), name.to_string())]),
        default_container: None,
        commands: None,
        containers,
    };
    let image = |mut c: ContainerConfig, image: &str| {
        c.image = Some(image.into());
        c
    };
    vec![
        pod("demo", vec![c("shell", &["/bin/sh"], true, true, true)]),
        pod("echo", vec![c("echo", &["cat"], false, true, true)]),
        pod(
            "two",
            vec![
                c("a", &["cat"], false, true, true),
                c("b", &["cat"], false, true, true),
            ],
        ),
        // Three containers, the annotation naming the second, the third not running.
        PodConfig {
            default_container: Some("app".into()),
            ..pod(
                "sidecar",
                vec![
                    image(
                        c("proxy", &["cat"], false, true, true),
                        "envoyproxy/envoy:v1.30",
                    ),
                    image(c("app", &["cat"], false, true, true), "example/shop:7"),
                    image(
                        c("metrics", &["sh", "-c", "exit 1"], false, false, false),
                        "example/exporter:1",
                    ),
                ],
            )
        },
        // An image without bash: sh and a few tools only.
        PodConfig {
            commands: Some(
                [
                    "sh", "ls", "cat", "id", "env", "stty", "sleep", "head", "tr",
                ]
                .map(String::from)
                .to_vec(),
            ),
            ..pod(
                "nobash",
                vec![c("main", &["sleep", "infinity"], false, false, true)],
            )
        },
        pod(
            "stopped",
            vec![c("main", &["sh", "-c", "exit 1"], false, false, false)],
        ),
        // File transfer: an image without tar (PATH has sh, head, cat … but no tar), and one
        // whose `tar cf - … NAME` writes a crafted archive images/evil-tar/archives/NAME.tar.
        image_pod("notar", "notar/bin"),
        image_pod("evil-tar", "evil-tar/bin:/usr/bin:/bin"),
    ]
}

/// A pod whose processes see only `path` (directories under devserver/images/) on PATH.
fn image_pod(name: &str, path: &str) -> PodConfig {
    let images = concat!(env!("CARGO_MANIFEST_DIR"), "/images/");
    let path = path
        .split(':')
        .map(|d| match d.starts_with('/') {
            true => d.to_string(),
            false => format!("{images}{d}"),
        })
        .collect::<Vec<_>>()
        .join(":");
    PodConfig {
        name: name.into(),
        namespace: default_namespace(),
        workdir: None,
        env: BTreeMap::from([("PATH".to_string(), path)]),
        labels: BTreeMap::from([("app".to_string(), name.to_string())]),
        default_container: None,
        commands: None,
        containers: vec![ContainerConfig {
            name: "main".into(),
            command: vec!["sleep".into(), "infinity".into()],
            tty: false,
            stdin: false,
            running: true,
            image: None,
        }],
    }
}

/// Reads a pods file.
pub fn load(path: &Path) -> Result<Vec<PodConfig>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let file: PodsFile = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(file.pods)
}

fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// Builds the served set from configs plus the optional fault and bench pods.
pub fn build(configs: Vec<PodConfig>, faults: bool, bench: bool) -> Result<Pods, String> {
    let base = std::env::temp_dir().join(format!("kube-exec-devserver-{}", std::process::id()));
    let created = now_rfc3339();
    let mut pods = Pods::default();
    let mut add = |mut config: PodConfig, behavior: Behavior| -> Result<(), String> {
        for n in [&config.name, &config.namespace] {
            if !is_dns_label(n) {
                return Err(format!(
                    "{n:?} is not a valid name (a DNS label: a-z, 0-9, '-')"
                ));
            }
        }
        if config.containers.is_empty() {
            return Err(format!("pod {} has no containers", config.name));
        }
        for c in &config.containers {
            if !is_dns_label(&c.name) {
                return Err(format!("container name {:?} is not a DNS label", c.name));
            }
        }
        let workdir = match &config.workdir {
            Some(w) => w.clone(),
            None => base.join(&config.namespace).join(&config.name),
        };
        if behavior == Behavior::Process {
            std::fs::create_dir_all(&workdir)
                .map_err(|e| format!("cannot create {}: {e}", workdir.display()))?;
            if let Some(commands) = &config.commands {
                let bin = minimal_path(&workdir, commands)?;
                config.env.insert("PATH".into(), bin.display().to_string());
            }
        }
        let uid = pseudo_uid(&config.namespace, &config.name);
        pods.insert(Pod {
            config,
            behavior,
            workdir,
            uid,
            created: created.clone(),
        })
    };
    for config in configs {
        add(config, Behavior::Process)?;
    }
    let single = |name: &str, container: &str| PodConfig {
        name: name.into(),
        namespace: default_namespace(),
        workdir: None,
        env: BTreeMap::new(),
        labels: BTreeMap::new(),
        default_container: None,
        commands: None,
        containers: vec![ContainerConfig {
            name: container.into(),
            command: vec![],
            tty: false,
            stdin: true,
            running: true,
            image: None,
        }],
    };
    if faults {
        for f in Fault::ALL {
            add(single(f.pod_name(), "fault"), Behavior::Fault(f))?;
        }
    }
    if bench {
        add(single("bench", "bench"), Behavior::Bench)?;
    }
    Ok(pods)
}

/// `<workdir>/.bin` with a link to this machine's executable for each of `commands`: the PATH
/// of a pod with a minimal image.
fn minimal_path(workdir: &Path, commands: &[String]) -> Result<PathBuf, String> {
    let bin = workdir.join(".bin");
    std::fs::create_dir_all(&bin).map_err(|e| format!("cannot create {}: {e}", bin.display()))?;
    let host_path = std::env::var_os("PATH").unwrap_or_default();
    for name in commands {
        let found = std::env::split_paths(&host_path)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
            .ok_or_else(|| format!("command {name:?} of a minimal image is not on this machine"))?;
        let link = bin.join(name);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&found, &link)
            .map_err(|e| format!("cannot link {}: {e}", link.display()))?;
    }
    Ok(bin)
}

fn pseudo_uid(ns: &str, name: &str) -> String {
    // A stable, UUID-shaped id (FNV-1a of the key; not random, so restarts keep it).
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    for b in ns.bytes().chain([b'/']).chain(name.bytes()) {
        h ^= u128::from(b);
        h = h.wrapping_mul(0x0000000001000000000000000000013B);
    }
    let x = format!("{h:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &x[0..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..32]
    )
}

/// Current UTC time as RFC 3339 (seconds), without a date crate.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_and_faults() {
        let pods = build(builtin(), true, true).unwrap();
        assert!(pods.get("default", "demo").is_some());
        assert_eq!(
            pods.get("default", "fault-drop").unwrap().behavior,
            Behavior::Fault(Fault::Drop)
        );
        assert_eq!(
            pods.get("default", "bench").unwrap().behavior,
            Behavior::Bench
        );
        assert!(pods.get("other", "demo").is_none());
        let notar = pods.get("default", "notar").unwrap();
        let path = &notar.config.env["PATH"];
        assert!(path.ends_with("/images/notar/bin"), "{path}");
        let bin = std::path::Path::new(path);
        assert!(bin.join("sh").exists() && bin.join("head").exists());
        assert!(!bin.join("tar").exists());
        let evil = pods.get("default", "evil-tar").unwrap();
        assert!(
            std::path::Path::new(&evil.config.env["PATH"].split(':').next().unwrap())
                .join("tar")
                .exists()
        );
        let plain = build(builtin(), false, false).unwrap();
        assert!(plain.get("default", "fault-drop").is_none());
    }

    #[test]
    fn toml_file_format() {
        let f: PodsFile = toml::from_str(
            r#"
            [[pods]]
            name = "web"
            namespace = "apps"
            env = { GREETING = "hi" }
            default_container = "main"
            commands = ["cat"]
            [[pods.containers]]
            name = "main"
            command = ["cat"]
            stdin = true
            "#,
        )
        .unwrap();
        assert_eq!(f.pods[0].namespace, "apps");
        assert_eq!(f.pods[0].default_container.as_deref(), Some("main"));
        assert_eq!(
            f.pods[0].commands.as_deref(),
            Some(&["cat".to_string()][..])
        );
        assert!(f.pods[0].containers[0].running);
        assert!(toml::from_str::<PodsFile>("[[pods]]\nname='x'\nbogus=1\ncontainers=[]").is_err());
    }

    #[test]
    fn rfc3339_shape() {
        let t = now_rfc3339();
        assert_eq!(t.len(), 20);
        assert!(t.ends_with('Z'));
    }
}
