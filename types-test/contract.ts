// The TypeScript contract of the package, checked with `tsc --noEmit -p types-test` against the
// .d.ts that wasm-pack emitted into pkg/. Every `@ts-expect-error` line must be an error:
// tsc fails if one compiles.
import init, {
  attach,
  download,
  exec,
  getPod,
  openShell,
  record,
  type AsciicastHeader,
  toFile,
  toTar,
  upload,
  type DownloadEntry,
  type TransferProgress,
  type TransferTarget,
  type UploadFile,
  type UploadResult,
  type AttachOptions,
  type ContainerInfo,
  type ExecError,
  type ExecErrorCode,
  type ExecOptions,
  type ExecSession,
  type ExitStatus,
  type PodInfo,
  type PodOptions,
  type Recording,
  type ShellOptions,
  type ShellSession,
} from "../pkg/kube_exec_wasm";
import { ExecAddon, type ExecAddonOptions, type ExecAddonStats, type SessionLike } from "../pkg/xterm";
import { toZip } from "../pkg/zip";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(_: T): void {}

// Exact types of the API.
assertType<Equal<ReturnType<typeof exec>, Promise<ExecSession>>>(true);
assertType<Equal<ReturnType<typeof attach>, Promise<ExecSession>>>(true);
assertType<Equal<Parameters<typeof exec>[0], ExecOptions>>(true);
assertType<Equal<ExecSession["protocol"], string>>(true);
assertType<Equal<ExecSession["stdout"], ReadableStream<Uint8Array>>>(true);
assertType<Equal<ExecSession["stderr"], ReadableStream<Uint8Array>>>(true);
assertType<Equal<ExecSession["stdin"], WritableStream<Uint8Array | string>>>(true);
assertType<Equal<ExecSession["resizes"], WritableStream<{ cols: number; rows: number }>>>(true);
assertType<Equal<ExecSession["exit"], Promise<ExitStatus>>>(true);
assertType<Equal<ReturnType<ExecSession["closeStdin"]>, Promise<void>>>(true);
assertType<Equal<ReturnType<ExecSession["close"]>, void>>(true);
assertType<Equal<Parameters<ExecSession["resize"]>, [cols: number, rows: number]>>(true);
assertType<Equal<Parameters<ExecSession["onStdout"]>, [callback: (chunk: Uint8Array) => void]>>(true);
assertType<Equal<ReturnType<ExecSession["onStderr"]>, Promise<void>>>(true);
assertType<Equal<ExitStatus["exitCode"], number | null>>(true);
assertType<Equal<ExitStatus["success"], boolean>>(true);
assertType<
  Equal<
    ExecErrorCode,
    | "InvalidOptions"
    | "ConnectFailed"
    | "Unauthorized"
    | "Forbidden"
    | "NotFound"
    | "ProtocolNotSupported"
    | "ProtocolError"
    | "ConnectionLost"
    | "Aborted"
    | "HalfCloseUnsupported"
    | "NotOpen"
    | "BufferFull"
    | "Timeout"
    | "NoShell"
    | "ContainerRequired"
    | "NoTar"
    | "TarFailed"
    | "UnsafeEntry"
    | "BadArchive"
    | "Internal"
  >
>(true);
assertType<Equal<ExecError["containers"], string[] | undefined>>(true);
assertType<Equal<ExecError["tried"], string[] | undefined>>(true);

// The console toolkit.
assertType<Equal<ReturnType<typeof openShell>, Promise<ShellSession>>>(true);
assertType<Equal<Parameters<typeof openShell>[0], ShellOptions>>(true);
assertType<Equal<ShellSession["session"], ExecSession>>(true);
assertType<Equal<ShellSession["shell"], string>>(true);
assertType<Equal<ShellOptions["shells"], string[] | undefined>>(true);
assertType<Equal<ReturnType<typeof getPod>, Promise<PodInfo>>>(true);
assertType<Equal<Parameters<typeof getPod>[0], PodOptions>>(true);
assertType<Equal<PodInfo["defaultContainer"], string | null>>(true);
assertType<Equal<PodInfo["containers"], ContainerInfo[]>>(true);
assertType<Equal<ContainerInfo["state"], "running" | "waiting" | "terminated" | "unknown">>(true);
assertType<Equal<ReturnType<typeof record>, Recording>>(true);
assertType<Equal<ReturnType<ExecSession["record"]>, Recording>>(true);
assertType<Equal<Recording["header"], AsciicastHeader>>(true);
assertType<Equal<ReturnType<Recording["stream"]>, ReadableStream<string>>>(true);
assertType<Equal<ReturnType<Recording["blob"]>, Blob>>(true);
assertType<Equal<ExecAddon["stats"], Readonly<ExecAddonStats>>>(true);
assertType<Equal<ExecAddon["drained"], Promise<void>>>(true);
// An ExecSession is what the addon takes.
const asSessionLike = (s: ExecSession): SessionLike => s;
void asSessionLike;

export async function console_(term: import("@xterm/xterm").Terminal): Promise<string> {
  const where = { server: "https://k8s.example:6443", namespace: "shop", pod: "web-0", token: "t" };
  const pod = await getPod(where);
  const { session, shell } = await openShell({ ...where, container: pod.defaultContainer ?? undefined, shells: ["bash", "ash", "sh"], startGrace: 1000 });
  const rec = record(session, { input: true, title: "t", env: { SHELL: shell } });
  const options: ExecAddonOptions = { lineMode: false, highWatermark: 1 << 20 };
  term.loadAddon(new ExecAddon(session, options));
  await rec.done;
  return rec.text();
}
assertType<Equal<ExecError["code"], ExecErrorCode>>(true);
assertType<Equal<ReturnType<typeof upload>, Promise<UploadResult>>>(true);
assertType<Equal<ReturnType<typeof download>, Promise<ReadableStream<DownloadEntry>>>>(true);
assertType<Equal<ReturnType<typeof toFile>, Promise<File>>>(true);
assertType<Equal<ReturnType<typeof toTar>, Promise<Blob>>>(true);
assertType<Equal<Parameters<typeof upload>[1], UploadFile[]>>(true);
assertType<Equal<DownloadEntry["type"], "file" | "directory" | "symlink" | "link">>(true);
assertType<Equal<DownloadEntry["body"], ReadableStream<Uint8Array>>>(true);
assertType<Equal<UploadResult, { files: number; bytes: number }>>(true);
assertType<Equal<ReturnType<typeof toZip>, Promise<Blob>>>(true);
assertType<Equal<Parameters<typeof toZip>[0], ReadableStream<DownloadEntry>>>(true);
assertType<Equal<ExecError["status"], ExitStatus | undefined>>(true);
assertType<Equal<ExecError["httpStatus"], number | undefined>>(true);

function isExecError(e: unknown): e is ExecError {
  return e instanceof Error && typeof (e as { code?: unknown }).code === "string";
}

// Typical use: a terminal.
export async function typical(term: { write(data: Uint8Array): void }): Promise<number | null> {
  await init();
  const controller = new AbortController();
  const options: ExecOptions = {
    server: "https://cluster.example:6443",
    namespace: "default",
    pod: "web-0",
    container: "app",
    command: ["sh", "-c", "echo hi"],
    stdin: true,
    tty: true,
    token: "secret",
    protocols: ["v5.channel.k8s.io", "v4.channel.k8s.io"],
    terminalSize: { cols: 80, rows: 24 },
    signal: controller.signal,
    preflight: true,
    allowInsecureToken: false,
    readyTimeout: 10000,
    connectTimeout: 5000,
    keepalive: 30000,
  };
  try {
    const session = await exec(options);
    const reader = session.stdout.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      term.write(value);
    }
    const writer = session.stdin.getWriter();
    await writer.write("ls\n");
    await writer.write(new Uint8Array([4]));
    session.resize(100, 40);
    await session.resizes.getWriter().write({ cols: 120, rows: 50 });
    await session.closeStdin();
    const status = await session.exit;
    session.close();
    const text = new TextDecoder().decode(new Uint8Array(0), { stream: true });
    void text;
    return status.success ? 0 : status.exitCode;
  } catch (e) {
    if (isExecError(e)) {
      const code: ExecErrorCode = e.code;
      const hint: string = e.hint;
      void hint;
      switch (code) {
        case "Unauthorized":
        case "Forbidden":
          return e.httpStatus ?? null;
        // @ts-expect-error: not a code of the union
        case "Unauthorised":
          return null;
        default:
          return null;
      }
    }
    throw e;
  }
}

export async function attaching(): Promise<void> {
  const a: AttachOptions = { namespace: "default", pod: "echo", container: "echo", stdin: true };
  const s = await attach(a);
  s.close();
}

// Wrong uses the types must refuse.
export async function wrong(): Promise<void> {
  // @ts-expect-error: command is required for exec
  await exec({ namespace: "default", pod: "p" });
  // @ts-expect-error: command is an argv array, not a string
  await exec({ namespace: "default", pod: "p", command: "ls -l" });
  // @ts-expect-error: tty is a boolean
  await exec({ namespace: "default", pod: "p", command: ["ls"], tty: "yes" });
  // @ts-expect-error: terminalSize needs cols and rows
  await exec({ namespace: "default", pod: "p", command: ["ls"], terminalSize: { cols: 80 } });
  // @ts-expect-error: unknown option
  await exec({ namespace: "default", pod: "p", command: ["ls"], colour: true });
  // @ts-expect-error: timeouts are milliseconds (numbers)
  await exec({ namespace: "default", pod: "p", command: ["ls"], connectTimeout: "5s" });
  // @ts-expect-error: attach has no command
  await attach({ namespace: "default", pod: "p", command: ["ls"] });
  // @ts-expect-error: signal must be an AbortSignal
  await exec({ namespace: "default", pod: "p", command: ["ls"], signal: new AbortController() });
  const s = await exec({ namespace: "default", pod: "p", command: ["ls"] });
  // @ts-expect-error: protocol is read-only
  s.protocol = "v4.channel.k8s.io";
  // @ts-expect-error: stdout chunks are bytes, not strings
  const chunk: string | undefined = (await s.stdout.getReader().read()).value;
  void chunk;
  // @ts-expect-error: stdin takes bytes or strings, not numbers
  await s.stdin.getWriter().write(42);
  // @ts-expect-error: resize takes two numbers
  s.resize({ cols: 1, rows: 2 });
  const st = await s.exit;
  // @ts-expect-error: exitCode may be null
  const n: number = st.exitCode;
  void n;
  // @ts-expect-error: not an error code
  const c: ExecErrorCode = "Timedout";
  void c;
  // @ts-expect-error: openShell takes shells, not a command
  await openShell({ namespace: "default", pod: "p", command: ["sh"] });
  // @ts-expect-error: getPod takes no command
  await getPod({ namespace: "default", pod: "p", command: ["sh"] });
  // @ts-expect-error: record takes a session
  record({ stdout: new ReadableStream() });
  // @ts-expect-error: input is a boolean
  record(s, { input: "yes" });
  // @ts-expect-error: the addon takes a session, not options first
  new ExecAddon({ lineMode: true });
}

// File transfer.
export async function transfers(files: FileList, progress: (p: TransferProgress) => void): Promise<File> {
  const target: TransferTarget = { server: "https://cluster.example:6443", namespace: "default", pod: "web-0", token: "t" };
  const up = await upload(target, [...files, { path: "a/b.txt", data: "text", mode: 0o600 }, { path: "d", type: "directory" }], {
    destDir: "/tmp",
    signal: new AbortController().signal,
    onProgress: progress,
  });
  void up.bytes;
  const entries = await download(target, "/var/log");
  for (const r = entries.getReader(); ; ) {
    const { done, value } = await r.read();
    if (done) break;
    const e: DownloadEntry = value;
    if (e.type === "symlink") void e.linkTarget?.length;
    await e.body.cancel();
  }
  const tar: Blob = await toTar(await download(target, "/etc"));
  void tar;
  return toFile(await download(target, "/etc/hostname"));
}

export async function wrongTransfers(): Promise<void> {
  const target: TransferTarget = { namespace: "default", pod: "p" };
  // @ts-expect-error: a transfer target has no command
  await upload({ namespace: "default", pod: "p", command: ["ls"] }, []);
  // @ts-expect-error: files is an array
  await upload(target, new Blob(["x"]));
  // @ts-expect-error: mode is a number
  await upload(target, [{ path: "x", data: "x", mode: "644" }]);
  // @ts-expect-error: destDir is a string
  await upload(target, [], { destDir: 1 });
  // @ts-expect-error: download takes a path
  await download(target);
}
