/**
 * The host library (provider/host/lib.sh, session.sh) run for real: the provider's folder that
 * no other user can write, the host lock, whole-or-nothing file writes, the settling of change
 * sets whose timer died, and the preconditions a change set checks under the lock.
 */
import { writeFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hostProgram, runIsolated, scratch, type Scratch } from "../../support/hostRun";

const NS = 'ns=$(ns_dir)';
const lib = (...main: string[]) => hostProgram(["lib", "session", "ops"], main);

let tmp: Scratch;
beforeEach(() => (tmp = scratch()));
afterEach(() => tmp.remove());

describe("the provider's folder on a host", () => {
  it("is made root's alone, per network namespace, with a pending folder and the login's work folder", () => {
    const r = runIsolated(lib('w=$(work_dir) || exit 1', NS, 'stat -c "%n %u %a" "$MPTCP_PULUMI_RUN" "$ns" "$ns/pending" "$w"'));
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n").map((l) => l.split(" ").slice(1).join(" "));
    expect(lines).toEqual(["0 755", "0 755", "0 755", "0 755"]);
    expect(r.stdout).toMatch(/\/run\/mptcp-pulumi\/ns-\d+\/work-0 /);
  });

  it("refuses a folder others may write, or a symbolic link planted in its place", () => {
    const writable = runIsolated(lib("take_lock 1"), { setup: "mkdir -m 0777 /run/mptcp-pulumi" });
    expect(writable.status).toBe(2);
    expect(writable.stderr).toContain("/run/mptcp-pulumi belongs to uid 0 with mode 777 (wanted uid 0, writable by it alone); refusing to use it");
    const link = runIsolated(lib("take_lock 1"), { setup: "mkdir /run/elsewhere && ln -s /run/elsewhere /run/mptcp-pulumi" });
    expect(link.status).toBe(2);
    expect(link.stderr).toContain("/run/mptcp-pulumi is not a plain directory; refusing to use it");
  });

  it("is found once per program: after ns_ready, later subshells name it without running stat again", () => {
    const r = runIsolated(lib("ns_ready || exit 1", "a=$(ns_dir)", "stat() { echo stat-ran; }", 'b=$(ns_dir); [ "$a" = "$b" ] && echo "same $b"'));
    expect(r.stdout).toMatch(/^same \/run\/mptcp-pulumi\/ns-\d+\n$/);
  });

  it("is checked with one stat, not three, once it is ready (every change set starts there)", () => {
    const counted = 'stat() { echo stat >&3; command stat "$@"; }';
    const r = runIsolated(lib("ns_ready || exit 1", counted, `ns_ready 3>${tmp.dir}/calls || exit 1`, `wc -l <${tmp.dir}/calls`));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe("1");
  });

  it("gives a folder of the right owner its mode back (an older version's umask)", () => {
    const r = runIsolated(lib("ns_ready || exit 1", 'stat -c %a "$MPTCP_PULUMI_RUN"'), { setup: "mkdir -m 0700 /run/mptcp-pulumi" });
    expect(r.stdout.trim()).toBe("755");
  });
});

describe("the host lock", () => {
  it("refuses, at once, a lock path that is not a regular file: a FIFO there cannot hang it", () => {
    const setup = 'mkdir -p /run/mptcp-pulumi/ns-$(stat -L -c %i /proc/self/ns/net) && mkfifo /run/mptcp-pulumi/ns-$(stat -L -c %i /proc/self/ns/net)/lock';
    const started = Date.now();
    const r = runIsolated(lib("take_lock 30; echo status $?"), { setup, timeoutMs: 10_000 });
    expect(r.stdout.trim()).toBe("status 2");
    expect(r.stderr).toMatch(/lock is not a regular file; refusing to open it/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("reports busy after its wait while another program holds it", () => {
    writeFileSync(`${tmp.dir}/holder`, lib("take_lock 5 || exit 9", "sleep 3"));
    const r = runIsolated(lib("take_lock 1; echo status $?"), { setup: `sh ${tmp.dir}/holder >/dev/null 2>&1 & sleep 0.5` });
    expect(r.stdout.trim()).toBe("status 1");
  });
});

describe("write_file", () => {
  it("writes whole, with its mode, through a temporary file", () => {
    const path = `${tmp.dir}/a/b.conf`;
    const r = runIsolated(lib(`printf 'x = 1\\n' | write_file ${path} 0640 || exit 1`, `stat -c %a ${path}; cat ${path}; ls ${tmp.dir}/a`));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe("640\nx = 1\nb.conf\n");
  });

  it("makes its folder only when missing, with no dirname (each command costs the host a process)", () => {
    const counted = 'mkdir() { echo mkdir >&3; command mkdir "$@"; }; dirname() { echo dirname >&3; command dirname "$@"; }';
    const write = (path: string) => `printf 'x\\n' | write_file ${path} 0644 3>>${tmp.dir}/calls || exit 1`;
    const r = runIsolated(lib(counted, write(`${tmp.dir}/new/a.conf`), write(`${tmp.dir}/new/b.conf`), `cat ${tmp.dir}/calls ${tmp.dir}/new/b.conf`));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe("mkdir\nx\n");
  });

  it("as root, writes the text with the shell itself: no tee or chmod, the mode from the umask, every byte kept", () => {
    const counted = 'tee() { echo tee >&3; command tee "$@"; }; chmod() { echo chmod >&3; command chmod "$@"; }';
    const text = "a = 1\\n  b\\t \\\\x $HOME `x`\\n\\n";
    const write = (name: string, mode: string) => `printf '${text}' | write_file ${tmp.dir}/${name} ${mode} 3>>${tmp.dir}/calls || exit 1`;
    const r = runIsolated(lib(counted, "umask 0", write("p.part", "0644"), write("n.yaml", "0600"), write("apply.sh", "0755"), `stat -c '%n %a' ${tmp.dir}/p.part ${tmp.dir}/n.yaml ${tmp.dir}/apply.sh`, `cat ${tmp.dir}/calls`, `printf '${text}' | cmp - ${tmp.dir}/p.part && echo same`));
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.replaceAll(`${tmp.dir}/`, "")).toBe("p.part 644\nn.yaml 600\napply.sh 755\ntee\nchmod\nsame\n");
  });

  it("fails on a full filesystem and leaves the file it would replace as it was", () => {
    // A 64 KiB filesystem holding the old part, then filled up: the new text cannot be written.
    const setup = `mount -t tmpfs -o size=64k none ${tmp.dir} && printf 'endpoint address=192.168.0.2 dev=eno2 flags=subflow\\n' > ${tmp.dir}/part && (dd if=/dev/zero of=${tmp.dir}/fill bs=4k 2>/dev/null || true)`;
    const big = "endpoint address=192.168.0.2 dev=eno2 flags=subflow\n".repeat(4000);
    const r = runIsolated(lib(`write_file ${tmp.dir}/part 0644; echo "status $?"`, `cat ${tmp.dir}/part; ls ${tmp.dir}`), { setup, input: big });
    expect(r.stdout).toMatch(/^status 1\n/);
    expect(r.stdout).toContain("endpoint address=192.168.0.2 dev=eno2 flags=subflow\nfill\npart\n");
    expect(r.stdout).not.toContain("mptcp-pulumi-tmp");
  });
});

describe("change sets that were never confirmed", () => {
  // A rollback program for token t1 that records that it ran.
  const rollback = (log: string) => hostProgram(["lib", "session", "ops"], ["undo() {", `echo undone >> ${log}`, "}", 'rollback_main "$0" "$@"']);

  it("are rolled back under the lock when their timer died, and the change set is told the host changed", () => {
    const log = `${tmp.dir}/log`;
    const program = `${tmp.dir}/t1.rollback`;
    // The pending mark names a process that has exited: its timer is gone.
    const setup = `cat > ${program} <<'EOF'\n${rollback(log)}EOF\nsh -c 'exit 0' & wait; dead=$!; ${"ns=/run/mptcp-pulumi/ns-$(stat -L -c %i /proc/self/ns/net)"}; mkdir -p $ns/pending && echo "$dead 1 ${tmp.dir}" > $ns/pending/t1`;
    const r = runIsolated(lib("begin_change 1; echo status $?", `cat ${log}`, 'ls "$(ns_dir)/pending"'), { setup });
    expect(r.stdout).toContain(`@@mptcp-pulumi@@ changed pending\nstatus 77\nundone\n`);
    expect(r.stderr).toMatch(/change set t1 was never confirmed and its rollback timer \(pid \d+\) is gone; rolling it back now/);
  });

  it("wait for their confirm or rollback while their timer lives", () => {
    const setup = `sleep 5 >/dev/null 2>&1 & p=$!; ns=/run/mptcp-pulumi/ns-$(stat -L -c %i /proc/self/ns/net); mkdir -p $ns/pending && echo "$p $(sed 's/.*) //' /proc/$p/stat | cut -d' ' -f20) ${tmp.dir}" > $ns/pending/t2`;
    const r = runIsolated(lib("begin_change 1; echo status $?"), { setup });
    expect(r.stdout.trim()).toBe("status 76");
    expect(r.stderr).toContain("awaiting its confirm or its rollback");
  });

  it("arm a timer that rolls back unless confirmed; a confirm after it fired says expired", () => {
    const fired = runIsolated(lib("take_lock 1 || exit 1", `arm t3 1 <<'EOF' || exit 4\n${rollback(`${tmp.dir}/fired`)}EOF`, "exec 9<&-", "sleep 2.5", `cat ${tmp.dir}/fired`, "confirm t3"));
    expect(fired.stdout).toContain("@@mptcp-pulumi@@ armed\nundone\n@@mptcp-pulumi@@ expired\n");
    const log = `${tmp.dir}/confirmed`;
    const confirmed = runIsolated(lib("take_lock 1 || exit 1", `arm t4 2 <<'EOF' || exit 4\n${rollback(log)}EOF`, "confirm t4", "exec 9<&-", "sleep 3", `cat ${log} 2>/dev/null; ls "$(ns_dir)/pending"`));
    expect(confirmed.stdout).toBe("@@mptcp-pulumi@@ armed\n@@mptcp-pulumi@@ confirmed\n");
  }, 15_000);
});

describe("files read as state sections", () => {
  it("come from one awk however many there are, empty ones and one without its last newline included", () => {
    const d = tmp.dir;
    writeFileSync(`${d}/a`, "one\n\n");
    writeFileSync(`${d}/b`, "");
    writeFileSync(`${d}/c`, "no final newline");
    const counted = 'awk() { echo awk >&3; command awk "$@"; }; cat() { echo cat >&3; command cat "$@"; }';
    const r = runIsolated(lib(counted, `file_sections file ${d}/a ${d}/b ${d}/c ${d}/missing 3>${d}/calls`, `echo calls; cat ${d}/calls`));
    expect(r.status, r.stderr).toBe(0);
    const mark = "@@mptcp-pulumi@@ section file";
    expect(r.stdout).toBe(`${mark} ${d}/b\n${mark} ${d}/a\none\n\n${mark} ${d}/c\nno final newline\ncalls\nawk\n`);
  });
});

describe("preconditions", () => {
  it("pass while the parts a plan read are unchanged, and name the parts that changed", () => {
    const r = runIsolated(
      lib(
        "before=$(part_text rules | checksum); mptcp=$(part_text mptcp | checksum)",
        'expect_unchanged rules=$before mptcp=$mptcp && echo unchanged',
        "ip rule add from 10.0.0.2 table 102",
        'changed=$(expect_unchanged rules=$before mptcp=$mptcp) || echo "changed:$changed"',
      ),
    );
    expect(r.stdout).toBe("unchanged\nchanged: rules\n");
  });

  it("are the policy tables' routes without expiry, and md5sum's first word", () => {
    const setup = "ip link add v0 type veth peer name v1 && ip link set v0 up && ip route add 10.9.0.0/24 dev v0 table 102 && ip route add 10.8.0.0/24 dev v0";
    const r = runIsolated(
      lib(
        '[ "$(part_text routes)" = "$({ ip -N -4 route show table all; ip -N -6 route show table all; } 2>&1 | grep -E \' table [0-9]+( |$)\' | grep -v -E \' table (253|254|255)( |$)\' | sed \'s/ expires [0-9]*sec//\')" ] && echo same-routes',
        'part_text routes',
        '[ "$(echo x | checksum)" = "$(echo x | md5sum | cut -d" " -f1)" ] && echo same-sum',
      ),
      { setup },
    );
    expect(r.stdout).toBe("same-routes\n10.9.0.0/24 dev v0 table 102 scope 253 linkdown \nsame-sum\n");
  });

  it("ignore what changes by itself: route expiry and address lifetimes", () => {
    const r = runIsolated(lib("a=$(part_text addrs | checksum); sleep 1.1; b=$(part_text addrs | checksum)", '[ "$a" = "$b" ] && echo same'), {
      setup: "ip link add v0 type veth peer name v1 && ip link set v0 up && ip addr add 10.0.0.2/24 dev v0 valid_lft 100 preferred_lft 50",
    });
    expect(r.stdout.trim()).toBe("same");
  });
});
