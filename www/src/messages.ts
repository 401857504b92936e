// What the user reads when a session ends: exit codes and the SDK's typed errors, in words.

export interface Target {
  namespace: string;
  pod: string;
  container: string;
  server: string; // '' = this page's origin
}

export interface Explained {
  /** One line: what happened. */
  title: string;
  /** What the server or SDK said, if anything beyond the title. */
  detail?: string;
  /** What to check (from the SDK's `hint`, or ours). */
  hint?: string;
  /** The SDK's error code, e.g. "Unauthorized". */
  code?: string;
}

interface ExitStatusLike {
  success: boolean;
  exitCode: number | null;
  reason?: string;
  message?: string;
}

interface SdkErrorLike {
  code?: unknown;
  message?: unknown;
  hint?: unknown;
  status?: unknown;
  httpStatus?: unknown;
  containers?: unknown;
  tried?: unknown;
}

const names = (v: unknown): string =>
  Array.isArray(v) && v.length > 0 ? v.map((x) => `"${String(x)}"`).join(', ') : '';

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export function describeExit(status: ExitStatusLike): Explained {
  if (status.success) return { title: 'Process exited with code 0' };
  if (status.exitCode !== null && status.exitCode !== undefined) {
    return { title: `Process exited with code ${status.exitCode}`, detail: str(status.message) };
  }
  const reason = str(status.reason);
  const message = str(status.message) ?? '';
  const program = /exec: "([^"]*)"/.exec(message)?.[1];
  let title: string;
  let hint: string | undefined;
  if (/executable file not found|no such file or directory/i.test(message)) {
    title = `Command not found in the container${program ? `: "${program}"` : ''}`;
    hint = 'The image may not have it (minimal images often have no shell): try another command, e.g. sh, bash or /bin/sh.';
  } else if (/permission denied/i.test(message)) {
    title = `The command could not be started: permission denied${program ? ` ("${program}")` : ''}`;
  } else if (/container not found|not running|completed pod|CrashLoopBackOff/i.test(message)) {
    title = 'The container is not running';
    hint = 'A terminal needs a running container: see `kubectl describe pod` and the container\'s logs.';
  } else {
    title = `The cluster could not run the command${reason ? ` (${reason})` : ''}`;
  }
  return { title, detail: message || undefined, hint };
}

function where(t: Target): string {
  return `pod "${t.pod}" in namespace "${t.namespace}"${t.container ? `, container "${t.container}"` : ''}`;
}

export function describeError(err: unknown, t: Target): Explained {
  const e = (typeof err === 'object' && err !== null ? err : {}) as SdkErrorLike;
  const code = str(e.code);
  const message = str(e.message) ?? (typeof err === 'string' ? err : undefined);
  const hint = str(e.hint);
  const status = (typeof e.status === 'object' && e.status !== null ? e.status : {}) as {
    message?: unknown;
    reason?: unknown;
  };
  const serverSaid = str(status.message);
  const server = t.server || 'the API server';
  const http = typeof e.httpStatus === 'number' ? ` (HTTP ${e.httpStatus})` : '';
  let title: string;
  switch (code) {
    case 'Unauthorized':
      title = `Unauthorized${http || ' (HTTP 401)'}: ${server} did not accept the token. Check the token, or get a fresh one.`;
      break;
    case 'Forbidden':
      title = `Forbidden${http || ' (HTTP 403)'}: your account may not open a terminal in ${where(t)}.`;
      break;
    case 'NotFound':
      title = names(e.containers)
        ? `Pod "${t.pod}" has no container "${t.container}". Its containers: ${names(e.containers)}.`
        : `Pod not found${http || ' (HTTP 404)'}: there is no ${where(t)}.`;
      break;
    case 'ContainerRequired':
      title = `Pod "${t.pod}" has several containers: choose one of ${names(e.containers) || 'them'} in Container.`;
      break;
    case 'NoShell':
      title = `No shell in the container: tried ${names(e.tried) || 'bash and sh'}.`;
      break;
    case 'ConnectFailed':
      title = `Could not connect to ${server}${http}.`;
      break;
    case 'ConnectionLost':
      title = 'Connection lost: the connection closed before the command finished.';
      break;
    case 'ProtocolNotSupported':
      title = `${server} speaks none of the exec protocols this console offers.`;
      break;
    case 'ProtocolError':
      title = `${server} sent data this console does not understand.`;
      break;
    case 'Aborted':
      title = 'Session closed.';
      break;
    case 'InvalidOptions':
      title = 'These settings cannot be used.';
      break;
    case 'HalfCloseUnsupported':
      title = "This server's protocol cannot signal the end of input (Ctrl-D).";
      break;
    case 'Timeout':
      title = `${server} did not answer in time.`;
      break;
    case 'BufferFull':
      title = 'Too much input is waiting to be sent.';
      break;
    case 'NotOpen':
      title = 'The session is not open.';
      break;
    case 'NoTar':
      title = `The container has no tar, so files cannot be copied to or from ${where(t)}.`;
      break;
    case 'TarFailed':
      title = "The container's tar failed.";
      break;
    case 'UnsafeEntry':
      title = 'The container sent a file that would land outside the chosen folder: the download was stopped.';
      break;
    case 'BadArchive':
      title = "The container's tar sent something that is not a tar archive.";
      break;
    case 'Internal':
      title = 'kube-exec-wasm hit a bug and ended every session: reload the page.';
      break;
    default:
      title = message ? `Error: ${message}` : 'The session ended with an unknown error.';
      return { title, code };
  }
  // The SDK's message starts with its code ("NotFound: http status 404: …"), shown as a badge.
  const said = message && code && message.startsWith(`${code}: `) ? message.slice(code.length + 2) : message;
  const detail = serverSaid && said?.includes(serverSaid) ? said : [serverSaid, said].filter(Boolean).join(' — ') || undefined;
  return { title, detail, hint, code };
}
