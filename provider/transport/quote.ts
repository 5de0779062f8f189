/**
 * The one place where words become text for a remote shell or for `ip -batch`.
 *
 * Every command we send is built as an argument array and turned into text here, exactly once,
 * so no input can reach a shell unquoted however hostile it is.
 */

/** Quotes one word for a POSIX shell: safe words stay readable, anything else is single-quoted. */
export function shellQuote(word: string): string {
  if (word === "") return "''";
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'"'"'`)}'`;
}

/** Joins an argument array into one shell command line, quoting each word. */
export function shellCommand(args: readonly string[]): string {
  if (args.length === 0) throw new Error("shellCommand: empty argument list");
  // A first word like A=1 would be an assignment, not a command: always quote it.
  return args.map((word, i) => (i === 0 && word.includes("=") ? `'${word.replace(/'/g, `'"'"'`)}'` : shellQuote(word))).join(" ");
}

/** Why a word cannot stand in an `ip -batch` line, or undefined when it can. */
export function batchWordProblem(word: string): string | undefined {
  if (word === "") return "is empty";
  // ip's batch reader splits on blanks and treats quotes and '#' specially; newlines end a command.
  if (/[\s"'#\\]/.test(word)) return "contains whitespace, a quote, '#' or a backslash";
  return undefined;
}

/** Builds one `ip -batch` line from ip arguments (without the leading `ip`), refusing unsafe words. */
export function ipBatchLine(args: readonly string[]): string {
  for (const word of args) {
    const problem = batchWordProblem(word);
    if (problem) throw new Error(`refusing ip -batch word ${JSON.stringify(word)}: it ${problem}`);
  }
  return args.join(" ");
}

/** A here-document body terminator that cannot occur inside the given lines. */
export function heredocMarker(lines: readonly string[]): string {
  let marker = "MPTCP_PULUMI_EOF";
  while (lines.some((line) => line === marker)) marker += "_";
  return marker;
}
