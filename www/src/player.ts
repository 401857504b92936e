// Playing a recording back (asciicast v2, from record() or a downloaded .cast file) with
// asciinema-player, loaded only when first used, in a dialog over the console.

import type { Settings } from './settings';

/** A file name for a recording of `s` started at `timestamp` (Unix seconds). */
export function castFileName(s: Pick<Settings, 'namespace' | 'pod'>, timestamp: number): string {
  const when = new Date(timestamp * 1000).toISOString().replace(/[:.]/g, '-').replace(/-\d\d\dZ$/, 'Z');
  return `${s.namespace}_${s.pod}_${when}.cast`.replace(/[^A-Za-z0-9._-]/g, '_');
}

let dialog: HTMLDialogElement | null = null;
let player: { dispose(): void } | null = null;

function close() {
  player?.dispose();
  player = null;
  dialog?.close();
}

/** Opens the player on `cast` (the text of an asciicast file). */
export async function playCast(cast: string, title: string): Promise<void> {
  const [AsciinemaPlayer] = await Promise.all([
    import('asciinema-player'),
    import('asciinema-player/dist/bundle/asciinema-player.css'),
  ]);
  if (!dialog) {
    dialog = document.createElement('dialog');
    dialog.id = 'player';
    dialog.addEventListener('close', () => {
      player?.dispose();
      player = null;
    });
    document.body.append(dialog);
  }
  close();
  const head = document.createElement('div');
  head.className = 'player-head';
  const name = document.createElement('span');
  name.textContent = `Replay · ${title}`;
  const x = document.createElement('button');
  x.type = 'button';
  x.textContent = 'Close';
  x.addEventListener('click', close);
  head.append(name, x);
  const screen = document.createElement('div');
  screen.className = 'player-screen';
  dialog.replaceChildren(head, screen);
  dialog.showModal();
  player = AsciinemaPlayer.create({ data: cast }, screen, { autoPlay: true, fit: 'width', idleTimeLimit: 2 });
}
