// The container picker's choices, from getPod(): the default first, then the regular
// containers, the init containers and the ephemeral ones, those not running marked with why.

import type { ContainerInfo, PodInfo } from 'kube-exec-wasm';

export interface ContainerChoice {
  /** The `container` option ('' = the pod's default, as kubectl picks it). */
  value: string;
  label: string;
  state?: ContainerInfo['state'];
  /** The container exists and is not running: a terminal in it will fail. */
  notRunning: boolean;
}

function describe(c: ContainerInfo, kind: string): ContainerChoice {
  const notRunning = c.state !== 'running' && c.state !== 'unknown';
  const why = notRunning ? ` — not running (${c.reason ?? c.state})` : '';
  return { value: c.name, label: `${c.name}${kind}${why}`, state: c.state, notRunning };
}

/**
 * The choices for `pod` (null: not known), always including `keep` (e.g. from a deep link)
 * even if the pod does not list it.
 */
export function containerChoices(pod: PodInfo | null, keep: string): ContainerChoice[] {
  const def = pod?.defaultContainer;
  const choices: ContainerChoice[] = [
    { value: '', label: def ? `default (${def})` : '(the only one)', notRunning: false },
  ];
  if (pod) {
    for (const c of pod.containers) choices.push(describe(c, ''));
    for (const c of pod.initContainers) choices.push(describe(c, ' (init)'));
    for (const c of pod.ephemeralContainers) choices.push(describe(c, ' (ephemeral)'));
  }
  if (keep && !choices.some((c) => c.value === keep)) choices.push({ value: keep, label: keep, notRunning: false });
  return choices;
}
