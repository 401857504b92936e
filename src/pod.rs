//! What a console needs to know about a pod before it opens a terminal in it: its phase and its
//! containers (regular, init, ephemeral) with their state, read from the API server's Pod JSON;
//! the container kubectl would pick; and the API server's rule for a request's container.
//!
//! The rules, from the Kubernetes sources:
//! - **Default container** (kubectl, `staging/src/k8s.io/kubectl/pkg/cmd/util/podcmd/podcmd.go`
//!   `FindOrDefaultContainerByName`): the container named by the annotation
//!   `kubectl.kubernetes.io/default-container` if the pod has a container of that name (regular,
//!   init or ephemeral), else the first regular container.
//! - **Container of a request** (the API server, `pkg/registry/core/pod/strategy.go`
//!   `ExecLocation` → `streamLocation`): none given → the only regular container, or HTTP 400
//!   "a container name must be specified for pod …, choose one of: […]" when there are several;
//!   one given → it must be a container of the pod (any of the three kinds), else 400
//!   "container … is not valid for pod …". A browser sees neither 400 (the handshake fails with
//!   1006), so the SDK reads the pod and says it with [`PodInfo::check_container`].

use crate::error::{Error, ErrorCode};
use crate::json::{self, Value};

/// The annotation that names a pod's default container for kubectl.
pub const DEFAULT_CONTAINER_ANNOTATION: &str = "kubectl.kubernetes.io/default-container";

/// A container's state, from its `ContainerStatus.state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ContainerState {
    /// `state.running`.
    Running,
    /// `state.waiting` (e.g. `ContainerCreating`, `CrashLoopBackOff`).
    Waiting,
    /// `state.terminated` (e.g. `Completed`, `Error`).
    Terminated,
    /// No status for the container yet.
    Unknown,
}

impl ContainerState {
    /// The state's name: `"running"`, `"waiting"`, `"terminated"` or `"unknown"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ContainerState::Running => "running",
            ContainerState::Waiting => "waiting",
            ContainerState::Terminated => "terminated",
            ContainerState::Unknown => "unknown",
        }
    }
}

/// One container of a pod: its spec and its status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerInfo {
    /// The container's name.
    pub name: String,
    /// The image of its spec.
    pub image: String,
    /// Its state.
    pub state: ContainerState,
    /// Why it waits or ended (`CrashLoopBackOff`, `Completed`…), if the status says.
    pub reason: Option<String>,
    /// Its status says ready.
    pub ready: bool,
    /// Its spec keeps stdin open (`stdin: true`): `attach` can write to it.
    pub stdin: bool,
    /// Its spec allocates a TTY: `attach` must ask for one too.
    pub tty: bool,
}

/// A pod as `getPod()` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodInfo {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `status.phase` (`Pending`, `Running`, `Succeeded`, `Failed`, `Unknown`); empty if absent.
    pub phase: String,
    /// `spec.containers`, in order.
    pub containers: Vec<ContainerInfo>,
    /// `spec.initContainers`, in order.
    pub init_containers: Vec<ContainerInfo>,
    /// `spec.ephemeralContainers`, in order.
    pub ephemeral_containers: Vec<ContainerInfo>,
    /// The value of the default-container annotation, if any.
    pub default_annotation: Option<String>,
}

fn protocol_error(message: impl Into<String>) -> Error {
    Error::new(ErrorCode::ProtocolError, message)
}

fn text(v: Option<&Value>) -> &str {
    match v {
        Some(Value::String(s)) => s,
        _ => "",
    }
}

fn field<'a>(v: Option<&'a Value>, key: &str) -> Option<&'a Value> {
    v.and_then(|v| v.get(key))
}

fn items(v: Option<&Value>) -> &[Value] {
    match v {
        Some(Value::Array(a)) => a,
        _ => &[],
    }
}

/// The containers of one spec list, each with its status from `statuses` (matched by name).
fn containers(specs: Option<&Value>, statuses: Option<&Value>) -> Vec<ContainerInfo> {
    let statuses = items(statuses);
    let mut out = Vec::new();
    for spec in items(specs) {
        let name = text(spec.get("name"));
        let status = statuses.iter().find(|s| text(s.get("name")) == name);
        let state = field(status, "state");
        let mut kind = ContainerState::Unknown;
        let mut reason = None;
        for (key, k) in [
            ("running", ContainerState::Running),
            ("waiting", ContainerState::Waiting),
            ("terminated", ContainerState::Terminated),
        ] {
            if let Some(detail @ Value::Object(_)) = field(state, key) {
                kind = k;
                let r = text(detail.get("reason"));
                reason = (!r.is_empty()).then(|| r.to_string());
                break;
            }
        }
        let flag = |v: Option<&Value>, key| matches!(field(v, key), Some(Value::Bool(true)));
        out.push(ContainerInfo {
            name: name.to_string(),
            image: text(spec.get("image")).to_string(),
            state: kind,
            reason,
            ready: flag(status, "ready"),
            stdin: flag(Some(spec), "stdin"),
            tty: flag(Some(spec), "tty"),
        });
    }
    out
}

/// The names, comma-separated; appended to `out`.
fn names_into(out: &mut String, list: &[String]) {
    for (i, name) in list.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(name);
    }
}

impl PodInfo {
    /// Reads a Pod from the API server's JSON (`GET /api/v1/namespaces/{ns}/pods/{name}`).
    /// Keys are matched exactly, as the API machinery's decoder does; absent fields are empty.
    /// Not JSON, not an object, or a `kind` other than `Pod` is `ProtocolError`.
    pub fn parse_json(body: &[u8]) -> Result<PodInfo, Error> {
        let pod = json::parse(body)
            .map_err(|e| protocol_error(format!("the pod is not valid JSON: {e}")))?;
        if !matches!(pod, Value::Object(_)) {
            return Err(protocol_error("the pod is not a JSON object"));
        }
        let kind = text(pod.get("kind"));
        if !kind.is_empty() && kind != "Pod" {
            return Err(protocol_error(format!("expected a Pod, got a {kind}")));
        }
        let meta = pod.get("metadata");
        let spec = pod.get("spec");
        let status = pod.get("status");
        let annotation = text(field(
            field(meta, "annotations"),
            DEFAULT_CONTAINER_ANNOTATION,
        ));
        Ok(PodInfo {
            name: text(field(meta, "name")).to_string(),
            namespace: text(field(meta, "namespace")).to_string(),
            phase: text(field(status, "phase")).to_string(),
            containers: containers(
                field(spec, "containers"),
                field(status, "containerStatuses"),
            ),
            init_containers: containers(
                field(spec, "initContainers"),
                field(status, "initContainerStatuses"),
            ),
            ephemeral_containers: containers(
                field(spec, "ephemeralContainers"),
                field(status, "ephemeralContainerStatuses"),
            ),
            default_annotation: (!annotation.is_empty()).then(|| annotation.to_string()),
        })
    }

    /// Every container: regular, then init, then ephemeral.
    pub fn all_containers(&self) -> impl Iterator<Item = &ContainerInfo> {
        [
            &self.containers,
            &self.init_containers,
            &self.ephemeral_containers,
        ]
        .into_iter()
        .flatten()
    }

    /// The container of this name, of any kind.
    pub fn container(&self, name: &str) -> Option<&ContainerInfo> {
        for list in [
            &self.containers,
            &self.init_containers,
            &self.ephemeral_containers,
        ] {
            if let Some(c) = list.iter().find(|c| c.name == name) {
                return Some(c);
            }
        }
        None
    }

    /// The container kubectl picks when none is named: the annotation's, if the pod has a
    /// container of that name, else the first regular one (`None` only for a pod without
    /// containers).
    pub fn default_container(&self) -> Option<&str> {
        self.default_annotation
            .as_deref()
            .and_then(|name| self.container(name))
            .or(self.containers.first())
            .map(|c| c.name.as_str())
    }

    /// The API server's check of a request's container (see the module docs): `Ok` when it
    /// would accept it; `ContainerRequired` listing the regular containers when none is named
    /// and the pod has several; `NotFound` listing every container when the named one is not
    /// in the pod.
    pub fn check_container(&self, container: Option<&str>) -> Result<(), Error> {
        let (code, mut message, lists) = match container {
            None if self.containers.len() == 1 => return Ok(()),
            None => (
                ErrorCode::ContainerRequired,
                format!(
                    "pod {} has {} containers and none was named: choose one of ",
                    self.name,
                    self.containers.len()
                ),
                1,
            ),
            Some(name) if self.container(name).is_some() => return Ok(()),
            Some(name) => (
                ErrorCode::NotFound,
                format!(
                    "pod {} has no container {name}; its containers: ",
                    self.name
                ),
                3,
            ),
        };
        let mut names = Vec::new();
        for list in [
            &self.containers,
            &self.init_containers,
            &self.ephemeral_containers,
        ]
        .into_iter()
        .take(lists)
        {
            names.extend(list.iter().map(|c| c.name.clone()));
        }
        names_into(&mut message, &names);
        Err(Error::new(code, message).with_names(names))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// A pod as a 1.35 API server writes it (trimmed of fields the reader does not look at):
    /// two containers, an init container that completed, an ephemeral debug container, and
    /// the default-container annotation naming the second container.
    const POD: &str = r#"{
      "kind": "Pod", "apiVersion": "v1",
      "metadata": {"name": "web-0", "namespace": "shop", "uid": "u",
        "annotations": {"kubectl.kubernetes.io/default-container": "app"}},
      "spec": {
        "initContainers": [{"name": "migrate", "image": "shop/migrate:7"}],
        "containers": [
          {"name": "proxy", "image": "envoy:1.30", "ports": [{"containerPort": 8080}]},
          {"name": "app", "image": "shop/web:7", "stdin": true, "tty": true}
        ],
        "ephemeralContainers": [{"name": "debugger-x1", "image": "busybox", "targetContainerName": "app"}]
      },
      "status": {
        "phase": "Running",
        "initContainerStatuses": [{"name": "migrate", "ready": true,
          "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}],
        "containerStatuses": [
          {"name": "app", "ready": false, "restartCount": 7,
           "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}}},
          {"name": "proxy", "ready": true, "state": {"running": {"startedAt": "2025-01-01T00:00:00Z"}}}
        ],
        "ephemeralContainerStatuses": [{"name": "debugger-x1", "ready": false,
          "state": {"running": {}}}]
      }
    }"#;

    fn container(
        name: &str,
        image: &str,
        state: ContainerState,
        reason: Option<&str>,
        ready: bool,
    ) -> ContainerInfo {
        ContainerInfo {
            name: name.into(),
            image: image.into(),
            state,
            reason: reason.map(Into::into),
            ready,
            stdin: false,
            tty: false,
        }
    }

    #[test]
    fn reads_a_pod() {
        let pod = PodInfo::parse_json(POD.as_bytes()).unwrap();
        assert_eq!(pod.name, "web-0");
        assert_eq!(pod.namespace, "shop");
        assert_eq!(pod.phase, "Running");
        let mut app = container(
            "app",
            "shop/web:7",
            ContainerState::Waiting,
            Some("CrashLoopBackOff"),
            false,
        );
        app.stdin = true;
        app.tty = true;
        assert_eq!(
            pod.containers,
            vec![
                container("proxy", "envoy:1.30", ContainerState::Running, None, true),
                app
            ]
        );
        assert_eq!(
            pod.init_containers,
            vec![container(
                "migrate",
                "shop/migrate:7",
                ContainerState::Terminated,
                Some("Completed"),
                true
            )]
        );
        assert_eq!(
            pod.ephemeral_containers,
            vec![container(
                "debugger-x1",
                "busybox",
                ContainerState::Running,
                None,
                false
            )]
        );
        assert_eq!(pod.default_container(), Some("app"));
    }

    #[test]
    fn default_container_by_kubectls_rules() {
        let with = |annotation: Option<&str>| {
            let mut pod = PodInfo::parse_json(POD.as_bytes()).unwrap();
            pod.default_annotation = annotation.map(Into::into);
            pod.default_container().map(String::from)
        };
        // The annotation wins, whatever kind of container it names.
        assert_eq!(with(Some("app")).as_deref(), Some("app"));
        assert_eq!(with(Some("migrate")).as_deref(), Some("migrate"));
        assert_eq!(with(Some("debugger-x1")).as_deref(), Some("debugger-x1"));
        // No annotation, or one naming no container: the first regular container.
        assert_eq!(with(None).as_deref(), Some("proxy"));
        assert_eq!(with(Some("gone")).as_deref(), Some("proxy"));
        // An empty annotation is no annotation.
        let pod = PodInfo::parse_json(
            br#"{"metadata":{"annotations":{"kubectl.kubernetes.io/default-container":""}},"spec":{"containers":[{"name":"a"},{"name":"b"}]}}"#,
        )
        .unwrap();
        assert_eq!(pod.default_annotation, None);
        assert_eq!(pod.default_container(), Some("a"));
        let empty = PodInfo::parse_json(b"{}").unwrap();
        assert_eq!(empty.default_container(), None);
    }

    #[test]
    fn the_api_servers_container_check() {
        let pod = PodInfo::parse_json(POD.as_bytes()).unwrap();
        let e = pod.check_container(None).unwrap_err();
        assert_eq!(e.code(), ErrorCode::ContainerRequired);
        assert_eq!(e.names(), ["proxy", "app"]);
        assert_eq!(
            e.message(),
            "pod web-0 has 2 containers and none was named: choose one of proxy, app"
        );
        for ok in ["proxy", "app", "migrate", "debugger-x1"] {
            assert_eq!(pod.check_container(Some(ok)), Ok(()), "{ok}");
        }
        let e = pod.check_container(Some("zzz")).unwrap_err();
        assert_eq!(e.code(), ErrorCode::NotFound);
        assert_eq!(e.names(), ["proxy", "app", "migrate", "debugger-x1"]);
        assert_eq!(
            e.message(),
            "pod web-0 has no container zzz; its containers: proxy, app, migrate, debugger-x1"
        );
        // One regular container: no name needed, even with init containers.
        let one = PodInfo::parse_json(
            br#"{"metadata":{"name":"p"},"spec":{"initContainers":[{"name":"i"}],"containers":[{"name":"c"}]}}"#,
        )
        .unwrap();
        assert_eq!(one.check_container(None), Ok(()));
    }

    #[test]
    fn odd_and_bad_pods() {
        // Missing statuses and odd types read as unknown / empty, never as an error.
        let pod = PodInfo::parse_json(
            br#"{"metadata":{"name":7},"spec":{"containers":[{"name":"a","stdin":"yes"}]},"status":{"containerStatuses":[{"name":"a","state":{"running":null,"waiting":{}}}]}}"#,
        )
        .unwrap();
        assert_eq!(pod.name, "");
        assert_eq!(pod.phase, "");
        assert_eq!(pod.containers[0].state, ContainerState::Waiting);
        assert_eq!(pod.containers[0].reason, None);
        assert!(!pod.containers[0].stdin);
        // Keys are case-sensitive, as the API machinery decodes them.
        let pod = PodInfo::parse_json(br#"{"Spec":{"containers":[{"name":"a"}]}}"#).unwrap();
        assert!(pod.containers.is_empty());
        for bad in [
            &b"[]"[..],
            b"",
            b"{\"kind\":\"Status\"}",
            b"{\"spec\":",
            b"\xff",
        ] {
            let e = PodInfo::parse_json(bad).unwrap_err();
            assert_eq!(
                e.code(),
                ErrorCode::ProtocolError,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn state_names() {
        let names: Vec<_> = [
            ContainerState::Running,
            ContainerState::Waiting,
            ContainerState::Terminated,
            ContainerState::Unknown,
        ]
        .map(ContainerState::as_str)
        .to_vec();
        assert_eq!(names, ["running", "waiting", "terminated", "unknown"]);
    }
}
