import type { DownloadEntry } from "./kube_exec_wasm.js";

/**
 * Collects a whole download into a `.zip` `Blob` (entries stored, Unix modes and times kept,
 * symlinks as zip symlinks, hard links as copies). Entries over 4 GiB are refused with
 * `InvalidOptions` (no Zip64); use `toTar` for those.
 */
export function toZip(entries: ReadableStream<DownloadEntry>): Promise<Blob>;
