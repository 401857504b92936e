// Connection settings: the form's fields, and deep links that fill them from the URL query.
//
//   ?namespace=NS&pod=POD&container=C&command=…&tty=1&mode=exec|attach
//
// Without `command`, a shell: bash if the container has it, else sh (openShell). `command` may
// be given once — a command line split like a shell would (see command.ts), e.g.
// `command=ls%20-la%20/tmp` — or several times, one argv word each, taken verbatim, e.g.
// `command=sh&command=-c&command=echo%20hi%3B%20id`. `tty` is 1/true/yes or 0/false/no (default
// on). A `pod` in the link connects at once. A `token` is never read from a URL: if a link carries
// one it is removed from the address bar (history.replaceState) and ignored. The API server URL
// is not taken from links either, so that a link cannot send a typed-in token to another host.

import { CommandSyntaxError, joinCommand, splitCommand } from './command';

export type Mode = 'exec' | 'attach';

export interface Settings {
  namespace: string;
  pod: string;
  container: string;
  /** The command as the user wrote it (split with splitCommand at connect time); '' = a shell. */
  command: string;
  tty: boolean;
  mode: Mode;
}

export const DEFAULTS: Settings = {
  namespace: 'default',
  pod: '',
  container: '',
  command: '',
  tty: true,
  mode: 'exec',
};

export interface DeepLink {
  settings: Settings;
  /** A pod was given: connect at once. */
  connect: boolean;
  /** The link carried a token, which was removed and ignored. */
  tokenStripped: boolean;
  /** Problems with the link, in words for the user (the rest of the link still applies). */
  warnings: string[];
}

function parseBool(v: string | null): boolean | undefined {
  if (v === null) return undefined;
  const s = v.trim().toLowerCase();
  if (['', '1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'false', 'no', 'off'].includes(s)) return false;
  return undefined;
}

export function parseDeepLink(search: string): DeepLink {
  const q = new URLSearchParams(search);
  const settings: Settings = { ...DEFAULTS };
  const warnings: string[] = [];
  const str = (k: string) => q.get(k)?.trim() || undefined;

  settings.namespace = str('namespace') ?? DEFAULTS.namespace;
  settings.pod = str('pod') ?? '';
  settings.container = str('container') ?? '';
  const commands = q.getAll('command');
  if (commands.length === 1) {
    settings.command = commands[0];
  } else if (commands.length > 1) {
    settings.command = joinCommand(commands);
  }
  const tty = parseBool(q.get('tty'));
  if (tty !== undefined) settings.tty = tty;
  else if (q.has('tty')) warnings.push(`tty=${q.get('tty')} is not 1/0/true/false; kept tty on`);
  const mode = q.get('mode');
  if (mode === 'attach' || mode === 'exec') settings.mode = mode;
  else if (mode !== null) warnings.push(`mode=${mode} is neither exec nor attach; using exec`);

  try {
    splitCommand(settings.command);
  } catch (e) {
    if (e instanceof CommandSyntaxError) warnings.push(`command in the link: ${e.message}`);
    else throw e;
  }
  return {
    settings,
    connect: settings.pod !== '',
    tokenStripped: q.has('token') || q.has('access_token'),
    warnings,
  };
}

/** The current URL without `token`/`access_token`, or null when there is nothing to remove. */
export function urlWithoutToken(href: string): string | null {
  const url = new URL(href);
  if (!url.searchParams.has('token') && !url.searchParams.has('access_token')) return null;
  url.searchParams.delete('token');
  url.searchParams.delete('access_token');
  return url.toString();
}

/** A deep link to these settings (never with a token or server), relative to `base`. */
export function deepLink(base: string, s: Settings): string {
  const url = new URL(base);
  url.search = '';
  url.hash = '';
  const q = url.searchParams;
  if (s.namespace && s.namespace !== DEFAULTS.namespace) q.set('namespace', s.namespace);
  q.set('pod', s.pod);
  if (s.container) q.set('container', s.container);
  if (s.mode === 'attach') q.set('mode', 'attach');
  else if (s.command) q.set('command', s.command);
  if (!s.tty) q.set('tty', '0');
  return url.toString();
}
