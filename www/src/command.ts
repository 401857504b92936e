// Turning the command field (one line of text) into an argv, the way a POSIX shell splits words:
//   sh                          → ["sh"]
//   ls -la /tmp                 → ["ls", "-la", "/tmp"]
//   sh -c 'echo $HOME; id'      → ["sh", "-c", "echo $HOME; id"]
//   printf "a\"b"  x\ y         → ["printf", 'a"b', "x y"]
// Whitespace separates words; '…' is literal; "…" is literal except \" \\ \$ \` (backslash
// escapes them); a backslash outside quotes escapes the next character. No variables, globs or
// operators are interpreted: the argv goes to the container as is (wrap in `sh -c '…'` for that).

export class CommandSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandSyntaxError';
  }
}

export function splitCommand(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new CommandSyntaxError('unterminated single quote in the command');
      word += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      let closed = false;
      while (i < line.length) {
        const d = line[i];
        if (d === '"') {
          closed = true;
          i++;
          break;
        }
        if (d === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1])) {
          word += line[i + 1];
          i += 2;
          continue;
        }
        word += d;
        i++;
      }
      if (!closed) throw new CommandSyntaxError('unterminated double quote in the command');
      inWord = true;
    } else if (c === '\\') {
      if (i + 1 >= line.length) throw new CommandSyntaxError('the command ends with a lone backslash');
      word += line[i + 1];
      inWord = true;
      i += 2;
    } else if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
    } else {
      word += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/** The inverse, for showing an argv in the command field (and in tab titles). */
export function joinCommand(argv: readonly string[]): string {
  return argv
    .map((a) => (a !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`))
    .join(' ');
}
