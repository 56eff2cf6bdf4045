#!/usr/bin/env bash
# The mail programs that tests/interop/test_clients.py drives through mailtui-sendmail, and the
# benchmark's msmtp: git send-email, neomutt, bsd-mailx and msmtp (Debian packages), with the
# Perl module git send-email cannot start without (Mail::Address, only "recommended").
#
# Run as root; idempotent: when all four are installed it only checks and returns. It never
# configures a mail system: msmtp's AppArmor question is answered "no" and msmtp-mta (which
# would own /usr/sbin/sendmail) is not installed. bsd-mailx needs some MTA package; when none
# is installed, Postfix is installed unconfigured and not started, as setup_postfix.sh does
# before writing its own configuration, rather than letting apt pick Exim and start it.
set -euo pipefail

PACKAGES=(git-email libmailtools-perl neomutt bsd-mailx msmtp swaks)
COMMANDS=(neomutt mailx msmtp)

say() { echo "--- setup_clients: $*"; }
die() {
    echo "setup_clients: ERROR: $*" >&2
    exit 1
}

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

missing=()
for package in "${PACKAGES[@]}"; do
    installed "$package" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || die "must run as root to install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    debconf-set-selections <<'EOF'
msmtp msmtp/apparmor boolean false
postfix postfix/main_mailer_type select No configuration
postfix postfix/mailname string mailtui-test.invalid
EOF
    if ! dpkg-query -W -f='${db:Status-Abbrev} ${Provides}\n' 2>/dev/null |
        grep -q '^ii .*mail-transport-agent'; then
        missing+=(postfix)
    fi
    # No package starts a daemon of its own here.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    say "installing ${missing[*]}"
    apt_options=(-o DPkg::Lock::Timeout=120 -o Dpkg::Options::=--force-confold)
    apt-get "${apt_options[@]}" update -qq || die "apt-get update failed"
    apt-get "${apt_options[@]}" install -y -qq --no-install-recommends "${missing[@]}" \
        </dev/null >/dev/null || die "apt-get install ${missing[*]} failed"
fi

{ git send-email -h 2>&1 || true; } | grep -q -- --sendmail-cmd ||
    die "git send-email does not run, or is older than 2.33 (no --sendmail-cmd)"
perl -MMail::Address -e 1 2>/dev/null || die "git send-email lacks Perl's Mail::Address"
for tool in "${COMMANDS[@]}"; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done
say "ready: $(git --version), $(neomutt -v 2>/dev/null | head -n 1)," \
    "bsd-mailx $(dpkg-query -W -f='${Version}' bsd-mailx), $(msmtp --version | head -n 1)"
