# shellcheck shell=sh
# ifupdown on the host: the probe reads which interfaces it brought up ($MPTCP_PULUMI_IFSTATE).
# Needs lib.sh.

probe_ifupdown() {
  [ -f "$MPTCP_PULUMI_IFSTATE" ] && { section ifupdown; cat "$MPTCP_PULUMI_IFSTATE"; }
  return 0
}
