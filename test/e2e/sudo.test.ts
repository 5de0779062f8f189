/**
 * A non-root login with passwordless sudo for exactly the commands the README lists, with the
 * real CLI on the lab: up, refresh and destroy work, and the user really is not root.
 *
 * Why the netns tier is safe for this: each lab server's /etc is its own overlay over the host's
 * (lab.sh mounts it in the server's mount namespace), so the user and the sudoers file exist
 * only there and vanish with `lab down`; the user has no home directory, so nothing is written
 * to the filesystem the servers share with this machine.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freshLab, onHost } from "../lab/harness";
import { documentedSudoers } from "../lab/users";
import { NETPLAN_FILE_PREFIX } from "../../provider/hostpaths";
import { MARK } from "../../provider/protocol";
import { hostProgram } from "../support/hostRun";
import { TempProject } from "./project";

const STACK = "e2esudo";
const USER = "mptcpdeploy";
const SERVERS = ["server1", "server2"];
let project: TempProject;

beforeAll(() => {
  freshLab();
  for (const server of SERVERS) {
    // "*": no password, yet not locked (sshd without PAM refuses a locked account even for keys).
    onHost(server, "useradd", "-M", "-d", "/nonexistent", "-s", "/bin/sh", "-p", "*", USER);
    onHost(server, "sh", "-c", 'printf "%s" "$1" > /etc/sudoers.d/mptcp-pulumi && chmod 0440 /etc/sudoers.d/mptcp-pulumi && visudo -cq', "sh", documentedSudoers(USER));
  }
  project = new TempProject(STACK, (hosts) => hosts.forEach((host) => (host.connection.user = USER)));
});

afterAll(() => project?.remove());

describe("a non-root user with the documented sudoers lines", () => {
  it("0. is not root, and sudo refuses it anything else (a shell)", () => {
    expect(onHost("server1", "setpriv", `--reuid=${USER}`, `--regid=${USER}`, "--clear-groups", "id", "-u").trim()).not.toBe("0");
    const shell = onHost("server1", "setpriv", `--reuid=${USER}`, `--regid=${USER}`, "--clear-groups", "sh", "-c", "sudo -n sh -c id 2>&1; echo rc=$?");
    expect(shell).toMatch(/rc=1/);
  });

  it("0. reads our root-only files (netplan's 0600) through the documented sudo, the readable ones beside them", () => {
    const locked = `${NETPLAN_FILE_PREFIX}sudo-test.yaml`;
    const open = "/etc/iproute2/rt_tables.d/mptcp-sudo-test.conf";
    onHost("server1", "sh", "-c", 'mkdir -p "${1%/*}" "${2%/*}" && printf "a: 1\nb: 2" > "$1" && chmod 0600 "$1" && printf "7 t\n" > "$2"', "sh", locked, open);
    try {
      const read = hostProgram(["lib"], ['file_sections file "$@"'], true);
      const out = onHost("server1", "setpriv", `--reuid=${USER}`, `--regid=${USER}`, "--clear-groups", "sh", "-c", read, "read", locked, open);
      const mark = `${MARK} section file`;
      expect(out).toBe(`${mark} ${locked}\na: 1\nb: 2\n${mark} ${open}\n7 t\n`);
    } finally {
      onHost("server1", "rm", "-f", locked, open);
    }
  });

  it("1. up configures both servers", () => {
    project.ok("up", "--yes", "--skip-preview");
    expect(onHost("server1", "ip", "mptcp", "endpoint", "show").trim()).toBe("192.168.0.1 id 1 signal dev eno2");
    expect(onHost("server2", "ip", "mptcp", "endpoint", "show")).toContain("192.168.0.2");
    // Written through sudo: root's files, not the user's.
    expect(onHost("server1", "stat", "-c", "%U", "/etc/mptcp-pulumi/apply.sh").trim()).toBe("root");
  });

  it("2. refresh reads everything back and finds no drift", () => {
    const r = project.pulumi("preview", "--refresh", "--expect-no-changes");
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it("3. destroy removes everything", () => {
    project.ok("destroy", "--yes", "--skip-preview");
    for (const server of SERVERS) {
      expect(onHost(server, "ip", "mptcp", "endpoint", "show").trim()).toBe("");
      expect(onHost(server, "sh", "-c", "ls /etc/mptcp-pulumi /etc/sysctl.d/90-mptcp-pulumi-* 2>&1 || true")).toMatch(/No such file/);
    }
  });
});
