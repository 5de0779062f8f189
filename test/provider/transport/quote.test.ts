import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { batchWordProblem, heredocMarker, ipBatchLine, shellCommand, shellQuote } from "../../../provider/transport/quote";

/** What a real POSIX shell prints for `printf %s <quoted word>`. */
function throughShell(word: string): string {
  return execFileSync("sh", ["-c", `printf %s ${shellQuote(word)}`], { encoding: "utf8" });
}

const HOSTILE = [
  "",
  " ",
  "plain",
  "two words",
  "it's",
  "''",
  "'",
  '"double"',
  "'\"'\"'",
  "$(id)",
  "${HOME}",
  "$HOME",
  "$((1+1))",
  "`id`",
  "a\nb",
  "line1\nline2\n",
  "\n",
  "a;b",
  "a && b",
  "a || b",
  "a | b",
  "a > /tmp/x",
  "< /etc/passwd",
  "*",
  "/etc/*",
  "?",
  "[a-z]",
  "{a,b}",
  "~",
  "~root",
  "#comment",
  "a # b",
  "\\",
  "back\\slash\\n",
  "!",
  "!!",
  "-n",
  "--",
  "%s%d",
  "\t tab",
  "é ü ñ",
  "日本語",
  "🚀 emoji",
  "mixed 'single' \"double\" $(cmd) `tick` \\ ; & | * ? \n end",
];

describe("shellQuote", () => {
  it.each(HOSTILE.map((w) => [JSON.stringify(w), w]))("round-trips %s through a real sh", (_label, word) => {
    expect(throughShell(word)).toBe(word);
  });

  it("keeps safe words readable", () => {
    expect(shellQuote("net.ipv4.tcp_rmem=4096")).toBe("net.ipv4.tcp_rmem=4096");
  });

  it("quotes the empty word as ''", () => {
    expect(shellQuote("")).toBe("''");
  });

  it("single-quotes a word with a space", () => {
    expect(shellQuote("a b")).toBe("'a b'");
  });
});

describe("shellCommand", () => {
  it("quotes each word and joins with spaces", () => {
    expect(shellCommand(["rm", "-f", "/tmp/a b"])).toBe("rm -f '/tmp/a b'");
  });

  it("passes every hostile word as exactly one argument to a real sh", () => {
    const args = HOSTILE.filter((w) => w !== "");
    const script = shellCommand(["printf", "%s\\0", ...args]);
    const out = execFileSync("sh", ["-c", script], { encoding: "utf8" });
    expect(out.split("\0").slice(0, -1)).toEqual(args);
  });

  it("refuses an empty argument list", () => {
    expect(() => shellCommand([])).toThrow(/empty argument list/);
  });
});

describe("ipBatchLine", () => {
  it("joins safe words with single spaces", () => {
    expect(ipBatchLine(["mptcp", "endpoint", "add", "192.168.0.2", "dev", "eno2", "subflow"])).toBe(
      "mptcp endpoint add 192.168.0.2 dev eno2 subflow",
    );
  });

  it.each([
    ["a space", "eno 2"],
    ["a tab", "eno\t2"],
    ["a newline", "eno2\nlink set lo down"],
    ["a carriage return", "eno2\r"],
    ["a single quote", "eno'2"],
    ["a double quote", 'eno"2'],
    ["a '#'", "#eno2"],
    ["a backslash", "eno\\2"],
  ])("refuses a word with %s", (_what, word) => {
    expect(() => ipBatchLine(["link", "set", "dev", word, "up"])).toThrow(/refusing ip -batch word/);
  });

  it("refuses an empty word", () => {
    expect(() => ipBatchLine(["link", "set", "dev", "", "up"])).toThrow(/is empty/);
  });

  it("names the refused word in the error", () => {
    expect(() => ipBatchLine(["a b"])).toThrow('"a b"');
  });

  it("reports no problem for a safe word", () => {
    expect(batchWordProblem("2001:db8::1/64")).toBeUndefined();
  });
});

describe("heredocMarker", () => {
  it("uses the default marker when no line collides", () => {
    expect(heredocMarker(["mptcp limits set subflows 2"])).toBe("MPTCP_PULUMI_EOF");
  });

  it("changes the marker when a line equals it", () => {
    const marker = heredocMarker(["MPTCP_PULUMI_EOF"]);
    expect(marker).not.toBe("MPTCP_PULUMI_EOF");
  });

  it("avoids every colliding line, however many", () => {
    const lines = ["MPTCP_PULUMI_EOF", "MPTCP_PULUMI_EOF_", "MPTCP_PULUMI_EOF__", "x"];
    const marker = heredocMarker(lines);
    expect(lines).not.toContain(marker);
  });

  it("ignores lines that merely contain the marker", () => {
    expect(heredocMarker(["echo MPTCP_PULUMI_EOF", " MPTCP_PULUMI_EOF"])).toBe("MPTCP_PULUMI_EOF");
  });

  it("keeps a here-document body intact in a real sh when a line equals the default marker", () => {
    const lines = ["first", "MPTCP_PULUMI_EOF", "$(id) `id` $HOME", "last"];
    const marker = heredocMarker(lines);
    const out = execFileSync("sh", ["-c", `cat <<'${marker}'\n${lines.join("\n")}\n${marker}\n`], { encoding: "utf8" });
    expect(out).toBe(`${lines.join("\n")}\n`);
  });
});
