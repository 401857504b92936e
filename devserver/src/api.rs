//! The Kubernetes objects kubectl reads before exec/attach: discovery, namespaces, pods.

use crate::pods::{Behavior, ContainerConfig, Pod};
use serde_json::{json, Value};
use std::sync::Arc;

fn bytes(v: Value) -> Vec<u8> {
    serde_json::to_vec(&v).unwrap_or_default()
}

pub fn version() -> Vec<u8> {
    bytes(json!({
        "major": "1",
        "minor": "33",
        "gitVersion": "v1.33.0+kube-exec-devserver",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": "linux/amd64"
    }))
}

pub fn api_versions(port: u16) -> Vec<u8> {
    bytes(json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": format!("127.0.0.1:{port}")}
        ]
    }))
}

pub fn api_group_list() -> Vec<u8> {
    bytes(json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": []}))
}

pub fn api_resources() -> Vec<u8> {
    bytes(json!({
        "kind": "APIResourceList",
        "groupVersion": "v1",
        "resources": [
            {"name": "namespaces", "singularName": "namespace", "namespaced": false,
             "kind": "Namespace", "verbs": ["get", "list"], "shortNames": ["ns"]},
            {"name": "pods", "singularName": "pod", "namespaced": true, "kind": "Pod",
             "verbs": ["get", "list"], "shortNames": ["po"], "categories": ["all"]},
            {"name": "pods/attach", "singularName": "", "namespaced": true,
             "kind": "PodAttachOptions", "verbs": ["create", "get"]},
            {"name": "pods/exec", "singularName": "", "namespaced": true,
             "kind": "PodExecOptions", "verbs": ["create", "get"]}
        ]
    }))
}

fn namespace_value(name: &str) -> Value {
    json!({
        "metadata": {
            "name": name,
            "labels": {"kubernetes.io/metadata.name": name}
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"}
    })
}

pub fn namespace(name: &str) -> Vec<u8> {
    let mut v = namespace_value(name);
    v["kind"] = json!("Namespace");
    v["apiVersion"] = json!("v1");
    bytes(v)
}

pub fn namespace_list(names: &[String]) -> Vec<u8> {
    bytes(json!({
        "kind": "NamespaceList",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": "1"},
        "items": names.iter().map(|n| namespace_value(n)).collect::<Vec<_>>()
    }))
}

fn container_id(pod: &Pod, c: &ContainerConfig) -> String {
    // 64 hex digits derived from the pod uid and the container name.
    let mut h: u64 = 0xcbf29ce484222325;
    let mut out = String::with_capacity(64);
    for round in 0..4u8 {
        for b in pod.uid.bytes().chain(c.name.bytes()).chain([round]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100000001b3);
        }
        out.push_str(&format!("{h:016x}"));
    }
    format!("containerd://{out}")
}

fn image(c: &ContainerConfig, pod: &Pod) -> String {
    c.image.clone().unwrap_or_else(|| match pod.behavior {
        Behavior::Process => "localhost/kube-exec-devserver/host:latest".into(),
        Behavior::Fault(_) => "localhost/kube-exec-devserver/fault:latest".into(),
        Behavior::Bench => "localhost/kube-exec-devserver/bench:latest".into(),
    })
}

fn pod_value(pod: &Pod) -> Value {
    let cfg = &pod.config;
    let all_running = cfg.containers.iter().all(|c| c.running);
    let ready = if all_running { "True" } else { "False" };
    let t = &pod.created;
    let containers: Vec<Value> = cfg
        .containers
        .iter()
        .map(|c| {
            let mut v = json!({
                "name": c.name,
                "image": image(c, pod),
                "workingDir": pod.workdir.display().to_string(),
                "resources": {},
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
                "imagePullPolicy": "IfNotPresent"
            });
            if !c.command.is_empty() {
                v["command"] = json!(c.command);
            }
            if c.stdin {
                v["stdin"] = json!(true);
            }
            if c.tty {
                v["tty"] = json!(true);
            }
            v
        })
        .collect();
    let statuses: Vec<Value> = cfg
        .containers
        .iter()
        .map(|c| {
            let mut v = json!({
                "name": c.name,
                "image": image(c, pod),
                "imageID": format!("{}@sha256:{}", image(c, pod), "0".repeat(64)),
                "containerID": container_id(pod, c),
                "ready": c.running,
                "started": c.running,
                "restartCount": if c.running { 0 } else { 7 },
            });
            if c.running {
                v["state"] = json!({"running": {"startedAt": t}});
                v["lastState"] = json!({});
            } else {
                v["state"] = json!({"waiting": {
                    "reason": "CrashLoopBackOff",
                    "message": format!(
                        "back-off 5m0s restarting failed container={} pod={}_{}({})",
                        c.name, cfg.name, cfg.namespace, pod.uid
                    )
                }});
                v["lastState"] = json!({"terminated": {
                    "exitCode": 1, "reason": "Error", "startedAt": t, "finishedAt": t,
                    "containerID": container_id(pod, c)
                }});
            }
            v
        })
        .collect();
    let mut annotations = serde_json::Map::new();
    let default = cfg
        .default_container
        .as_ref()
        .unwrap_or(&cfg.containers[0].name);
    annotations.insert(
        "kubectl.kubernetes.io/default-container".into(),
        json!(default),
    );
    json!({
        "metadata": {
            "name": cfg.name,
            "namespace": cfg.namespace,
            "uid": pod.uid,
            "resourceVersion": "1",
            "creationTimestamp": t,
            "labels": cfg.labels,
            "annotations": annotations
        },
        "spec": {
            "containers": containers,
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "serviceAccountName": "default",
            "nodeName": "kube-exec-devserver",
            "schedulerName": "default-scheduler",
            "enableServiceLinks": true,
            "preemptionPolicy": "PreemptLowerPriority",
            "priority": 0
        },
        "status": {
            "phase": "Running",
            "conditions": [
                {"type": "PodReadyToStartContainers", "status": "True", "lastProbeTime": null, "lastTransitionTime": t},
                {"type": "Initialized", "status": "True", "lastProbeTime": null, "lastTransitionTime": t},
                {"type": "Ready", "status": ready, "lastProbeTime": null, "lastTransitionTime": t},
                {"type": "ContainersReady", "status": ready, "lastProbeTime": null, "lastTransitionTime": t},
                {"type": "PodScheduled", "status": "True", "lastProbeTime": null, "lastTransitionTime": t}
            ],
            "hostIP": "127.0.0.1",
            "hostIPs": [{"ip": "127.0.0.1"}],
            "podIP": "127.0.0.1",
            "podIPs": [{"ip": "127.0.0.1"}],
            "startTime": t,
            "containerStatuses": statuses,
            "qosClass": "BestEffort"
        }
    })
}

pub fn pod(pod: &Pod) -> Vec<u8> {
    let mut v = pod_value(pod);
    if let Value::Object(m) = &mut v {
        // kind and apiVersion first, as the API server writes them.
        let mut out = serde_json::Map::new();
        out.insert("kind".into(), json!("Pod"));
        out.insert("apiVersion".into(), json!("v1"));
        out.append(m);
        return bytes(Value::Object(out));
    }
    bytes(v)
}

pub fn pod_list(pods: &[Arc<Pod>]) -> Vec<u8> {
    bytes(json!({
        "kind": "PodList",
        "apiVersion": "v1",
        "metadata": {"resourceVersion": "1"},
        "items": pods.iter().map(|p| pod_value(p)).collect::<Vec<_>>()
    }))
}
