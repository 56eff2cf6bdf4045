#!/usr/bin/env bash
# A real MTA for mailtui's interop tests (tests/interop/test_postfix.py): Postfix with Dovecot
# SASL, listening on loopback only, delivering every accepted message, whatever its recipient
# domain, into one local Maildir. Nothing ever leaves the machine: there is no SMTP client
# transport at all (the "smtp" and "relay" services are error(8)), and no DNS lookups.
#
#   127.0.0.1:2525  "the ISP": relays without login for mynetworks (127.0.0.1/32) only; a client
#                   from 127.0.0.2 gets "554 5.7.1 <rcpt>: Relay access denied". No AUTH.
#   127.0.0.1:5587  "the portal's submission port": STARTTLS required, then SASL AUTH (PLAIN,
#                   LOGIN) to relay.
#   127.0.0.1:4465  implicit TLS (wrapper mode) with SASL AUTH.
#   127.0.0.1:1143  Dovecot IMAP with STARTTLS, for the Sent copy.
#   127.0.0.1:1993  Dovecot IMAP with implicit TLS.
#                   IMAP users, Maildirs under $ROOT/imap/<user> (emptied on every run), all
#                   with the SASL user's password: jane, whose "Sent" has the \Sent
#                   special-use attribute; items, whose Sent is "Sent Items" without it; nosent,
#                   with "Archiv" and "Entwürfe" (modified UTF-7 on the server) and no Sent.
#
# Run as root; idempotent: installs what is missing (Debian packages), rewrites the whole
# configuration, (re)starts both daemons and waits until the ports answer. The tests read
# $ROOT/env.json (ports, CA, user, password file, Maildir, Postfix log).
set -euo pipefail

ROOT=${MAILTUI_POSTFIX_ROOT:-/var/tmp/mailtui-postfix}
HOST=127.0.0.1
ISP_PORT=2525
SUBMISSION_PORT=5587
SMTPS_PORT=4465
TRUSTED_NETWORK=127.0.0.1/32
UNTRUSTED_SOURCE=127.0.0.2
SASL_USER=jane
IMAP_STARTTLS_PORT=1143
IMAPS_PORT=1993
IMAP_SENT_USER=$SASL_USER              # "Sent", with the \Sent attribute
IMAP_ITEMS_USER=items                  # "Sent Items", no attribute
IMAP_NOSENT_USER=nosent                # no Sent folder at all
SINK_USER=mailtui-sink                 # owns the Maildir; virtual(8) delivers as this user
QUEUE_DIR=/var/spool/postfix
AUTH_SOCKET=private/mailtui-auth       # Dovecot's SASL socket, relative to the queue directory
DOVECOT_BASE=/run/mailtui-dovecot
PACKAGES=(postfix dovecot-core dovecot-imapd openssl)
WAIT_SECONDS=30

say() { echo "--- setup_postfix: $*"; }
die() {
    echo "setup_postfix: ERROR: $*" >&2
    exit 1
}

[ "$(id -u)" = 0 ] || die "must run as root (it installs packages and starts Postfix)"

# --- 1. packages ----------------------------------------------------------------------------
missing=()
for package in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # No questions, and no configuration of Postfix's own: this script writes all of it.
    debconf-set-selections <<'EOF'
postfix postfix/main_mailer_type select No configuration
postfix postfix/mailname string mailtui-test.invalid
EOF
    # Never let the packages start their daemons with a default configuration.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    apt_options=(-o DPkg::Lock::Timeout=120 -o Dpkg::Options::=--force-confold)
    apt-get "${apt_options[@]}" update -qq || die "apt-get update failed"
    apt-get "${apt_options[@]}" install -y -qq --no-install-recommends "${missing[@]}" \
        >/dev/null || die "apt-get install ${missing[*]} failed"
    if [ -f /usr/sbin/policy-rc.d ] && trap -p EXIT | grep -q policy-rc.d; then
        rm -f /usr/sbin/policy-rc.d
        trap - EXIT
    fi
fi
for tool in postfix postconf dovecot doveadm openssl; do
    command -v "$tool" >/dev/null || die "$tool is not installed"
done

# --- 2. stop what an earlier run started ------------------------------------------------------
if postfix status >/dev/null 2>&1; then
    say "stopping the running Postfix"
    postfix stop </dev/null >/dev/null 2>&1 || true
    for _ in $(seq 50); do
        postfix status >/dev/null 2>&1 || break
        sleep 0.1
    done
fi
if [ -f "$DOVECOT_BASE/master.pid" ]; then
    pid=$(cat "$DOVECOT_BASE/master.pid")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        say "stopping the earlier Dovecot (pid $pid)"
        kill "$pid"
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
fi

# --- 3. folders, the Maildir and its owner ----------------------------------------------------
if ! id -u "$SINK_USER" >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
        --user-group "$SINK_USER"
fi
SINK_UID=$(id -u "$SINK_USER")
SINK_GID=$(id -g "$SINK_USER")
install -d -m 0755 -o root -g root "$ROOT" "$ROOT/postfix"
install -d -m 0700 -o root -g root "$ROOT/tls"
rm -rf "$ROOT/Maildir"
install -d -m 0750 -o "$SINK_USER" -g "$SINK_USER" \
    "$ROOT/Maildir" "$ROOT/Maildir/new" "$ROOT/Maildir/cur" "$ROOT/Maildir/tmp"
rm -f "$ROOT/postfix.log" "$ROOT/dovecot.log"
# IMAP mailboxes (Maildir++: a folder is a ".Name" directory, its name in modified UTF-7).
rm -rf "$ROOT/imap"
install -d -m 0755 -o root -g root "$ROOT/imap"
imap_folders() { # user folder…: an empty Maildir with these folders, owned by the sink user
    local user=$1 home=$ROOT/imap/$1
    shift
    for folder in "" "$@"; do
        install -d -m 0700 -o "$SINK_USER" -g "$SINK_USER" "$home" "$home/Maildir" \
            "$home/Maildir/$folder" "$home/Maildir/$folder/cur" "$home/Maildir/$folder/new" \
            "$home/Maildir/$folder/tmp"
    done
}
imap_folders "$IMAP_SENT_USER" .Sent .Drafts
imap_folders "$IMAP_ITEMS_USER" ".Sent Items" .Drafts
imap_folders "$IMAP_NOSENT_USER" .Archiv ".Entw&APw-rfe"

# --- 4. TLS: a CA of our own and a certificate for localhost / 127.0.0.1 ---------------------
TLS=$ROOT/tls
cat >"$TLS/openssl.cnf" <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = mailtui interop test
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
tls_usable() {
    [ -s "$TLS/ca.pem" ] && [ -s "$TLS/server.pem" ] && [ -s "$TLS/server.key" ] &&
        openssl x509 -in "$TLS/server.pem" -noout -checkend 604800 >/dev/null 2>&1 &&
        openssl verify -CAfile "$TLS/ca.pem" "$TLS/server.pem" >/dev/null 2>&1
}
if ! tls_usable; then
    say "creating a test CA and a server certificate"
    (
        umask 077
        openssl req -x509 -new -config "$TLS/openssl.cnf" -extensions ca_ext \
            -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -subj "/CN=mailtui interop test CA" -days 3650 \
            -keyout "$TLS/ca.key" -out "$TLS/ca.pem" 2>/dev/null
        openssl req -new -config "$TLS/openssl.cnf" \
            -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -subj "/CN=localhost" -keyout "$TLS/server.key" -out "$TLS/server.csr" 2>/dev/null
        openssl x509 -req -in "$TLS/server.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca.key" \
            -set_serial "0x$(openssl rand -hex 16)" -days 825 \
            -extfile "$TLS/openssl.cnf" -extensions server_ext -out "$TLS/server.pem" 2>/dev/null
        rm -f "$TLS/server.csr"
    )
    tls_usable || die "the generated certificate does not verify against the generated CA"
fi
chmod 0644 "$TLS/ca.pem" "$TLS/server.pem"
chmod 0600 "$TLS/ca.key" "$TLS/server.key"

# --- 5. the SASL user: a random password, kept in one file that the tests read ---------------
PASSWORD_FILE=$ROOT/password
if [ ! -s "$PASSWORD_FILE" ]; then
    (
        umask 077
        echo "pf-$(openssl rand -hex 12)" >"$PASSWORD_FILE"
    )
fi
chmod 0600 "$PASSWORD_FILE"
hash=$(head -n 1 "$PASSWORD_FILE" | tr -d '\n' | openssl passwd -6 -stdin)
(
    umask 027
    for user in "$SASL_USER" "$IMAP_ITEMS_USER" "$IMAP_NOSENT_USER"; do
        echo "$user:{SHA512-CRYPT}$hash::::::"
    done >"$ROOT/users"
)
chgrp dovecot "$ROOT/users"
chmod 0640 "$ROOT/users"

# --- 6. Dovecot: SASL for Postfix, and IMAP on loopback for the Sent copy ---------------------
cat >"$ROOT/dovecot.conf" <<EOF
# Written by tests/interop/setup_postfix.sh: SASL for the test Postfix, IMAP on loopback.
base_dir = $DOVECOT_BASE
instance_name = mailtui-dovecot
protocols = imap
listen = $HOST
log_path = $ROOT/dovecot.log
auth_mechanisms = plain login
# Postfix offers AUTH only inside TLS (smtpd_tls_auth_only, wrapper mode).
disable_plaintext_auth = no
ssl = yes
ssl_cert = <$TLS/server.pem
ssl_key = <$TLS/server.key
passdb {
  driver = passwd-file
  args = scheme=SHA512-CRYPT $ROOT/users
}
userdb {
  driver = static
  args = uid=$SINK_UID gid=$SINK_GID home=$ROOT/imap/%u
}
first_valid_uid = $SINK_UID
mail_location = maildir:~/Maildir
namespace inbox {
  inbox = yes
  mailbox Sent {
    special_use = \\Sent
  }
}
service imap-login {
  inet_listener imap {
    address = $HOST
    port = $IMAP_STARTTLS_PORT
  }
  inet_listener imaps {
    address = $HOST
    port = $IMAPS_PORT
    ssl = yes
  }
}
service auth {
  unix_listener $QUEUE_DIR/$AUTH_SOCKET {
    mode = 0660
    user = postfix
    group = postfix
  }
}
EOF
rm -f "$QUEUE_DIR/$AUTH_SOCKET"
# Daemons get no inherited stdio: a caller reading this script's output through a pipe (CI)
# would otherwise wait for them to exit.
dovecot -c "$ROOT/dovecot.conf" </dev/null >/dev/null 2>&1 ||
    die "Dovecot did not start; see $ROOT/dovecot.log"

# --- 7. Postfix -------------------------------------------------------------------------------
echo '/^/ Maildir/' >"$ROOT/postfix/catchall.regexp"
cat >/etc/postfix/main.cf <<EOF
# Written by tests/interop/setup_postfix.sh: a loopback-only test MTA for mailtui's interop
# tests. Every accepted message goes to $ROOT/Maildir; nothing is relayed off this machine.
compatibility_level = 3.6
myhostname = mailtui-test.invalid
myorigin = \$myhostname
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = $TRUSTED_NETWORK

# No local domains: every recipient domain is "remote", so reject_unauth_destination applies.
mydestination =
relay_domains =
virtual_alias_domains =
virtual_mailbox_domains =
alias_maps =
alias_database =

# ...and every "remote" message is delivered by virtual(8) into the one catch-all Maildir.
default_transport = virtual
relay_transport = virtual
local_transport = error:local delivery is disabled on this test MTA
virtual_mailbox_base = $ROOT
virtual_mailbox_maps = regexp:$ROOT/postfix/catchall.regexp
virtual_minimum_uid = 100
virtual_uid_maps = static:$SINK_UID
virtual_gid_maps = static:$SINK_GID

# No network: no DNS, no reverse lookups of clients, no SMTP client TLS.
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
smtp_tls_security_level = none
append_dot_mydomain = no
biff = no

# Relaying (each listener in master.cf narrows this down).
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions =

# SASL through Dovecot; enabled per listener.
smtpd_sasl_type = dovecot
smtpd_sasl_path = $AUTH_SOCKET
smtpd_sasl_auth_enable = no
smtpd_sasl_security_options = noanonymous

# TLS; required per listener.
smtpd_tls_chain_files = $TLS/server.key, $TLS/server.pem
smtpd_tls_security_level = none
smtpd_tls_loglevel = 1

# No syslog in a container: postlogd writes this file.
maillog_file = $ROOT/postfix.log
EOF

cp /usr/share/postfix/master.cf.dist /etc/postfix/master.cf
postconf -MX smtp/inet                                       # no port 25
postconf -M "smtp/unix=smtp unix - - n - - error"            # no SMTP client at all
postconf -M "relay/unix=relay unix - - n - - error"
postconf -M "lmtp/unix=lmtp unix - - n - - error"
postconf -MX maildrop/unix uucp/unix ifmail/unix bsmtp/unix scalemail-backend/unix mailman/unix
postconf -F '*/*/chroot = n'
cat >>/etc/postfix/master.cf <<EOF
# --- mailtui interop listeners (tests/interop/setup_postfix.sh) ---
# "the ISP": relays without login for mynetworks only; no TLS, no AUTH.
$HOST:$ISP_PORT inet n - n - - smtpd
  -o syslog_name=postfix/isp
  -o smtpd_tls_security_level=none
  -o smtpd_sasl_auth_enable=no
  -o smtpd_relay_restrictions=permit_mynetworks,reject_unauth_destination
# "the portal's submission port": STARTTLS required, then AUTH to relay.
$HOST:$SUBMISSION_PORT inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_tls_auth_only=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
# implicit TLS with AUTH.
$HOST:$SMTPS_PORT inet n - n - - smtpd
  -o syslog_name=postfix/smtps
  -o smtpd_tls_wrappermode=yes
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
EOF

postfix check || die "postfix check found a problem in the configuration"
postfix start </dev/null >/dev/null 2>&1 || die "postfix start failed; see $ROOT/postfix.log"

# --- 8. wait until it answers -----------------------------------------------------------------
greets() { # port: the first bytes of the greeting are "220"
    timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1 && head -c 3 <&3" 2>/dev/null | grep -q '^220$'
}
imap_greets() { # port: the first bytes of the greeting are "* OK"
    timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1 && head -c 4 <&3" 2>/dev/null | grep -q '^\* OK$'
}
opens() { # port: a TCP connection is accepted (implicit TLS: the greeting comes after TLS)
    timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null
}
ready=no
for _ in $(seq $((WAIT_SECONDS * 4))); do
    if [ -S "$QUEUE_DIR/$AUTH_SOCKET" ] && greets $ISP_PORT && greets $SUBMISSION_PORT &&
        opens $SMTPS_PORT && imap_greets $IMAP_STARTTLS_PORT && opens $IMAPS_PORT; then
        ready=yes
        break
    fi
    sleep 0.25
done
if [ $ready != yes ]; then
    echo "setup_postfix: ERROR: Postfix/Dovecot did not answer on $HOST:$ISP_PORT," \
        "$SUBMISSION_PORT, $SMTPS_PORT, $IMAP_STARTTLS_PORT, $IMAPS_PORT (or no SASL socket)" \
        "within ${WAIT_SECONDS}s" >&2
    tail -n 20 "$ROOT/postfix.log" "$ROOT/dovecot.log" >&2 2>/dev/null || true
    exit 1
fi
password=$(head -n 1 "$PASSWORD_FILE")
if ! doveadm -c "$ROOT/dovecot.conf" auth test -x service=smtp "$SASL_USER" "$password" \
    >/dev/null 2>&1; then
    die "Dovecot does not accept $SASL_USER with the password in $PASSWORD_FILE"
fi
for user in "$IMAP_SENT_USER" "$IMAP_ITEMS_USER" "$IMAP_NOSENT_USER"; do
    doveadm -c "$ROOT/dovecot.conf" mailbox list -u "$user" >/dev/null 2>&1 ||
        die "Dovecot cannot open the mailboxes of $user; see $ROOT/dovecot.log"
done

# --- 9. what the tests read -------------------------------------------------------------------
cat >"$ROOT/env.json" <<EOF
{
  "host": "$HOST",
  "isp_port": $ISP_PORT,
  "submission_port": $SUBMISSION_PORT,
  "smtps_port": $SMTPS_PORT,
  "trusted_network": "$TRUSTED_NETWORK",
  "untrusted_source": "$UNTRUSTED_SOURCE",
  "ca_file": "$TLS/ca.pem",
  "server_cert": "$TLS/server.pem",
  "user": "$SASL_USER",
  "password_file": "$PASSWORD_FILE",
  "maildir": "$ROOT/Maildir",
  "imap_starttls_port": $IMAP_STARTTLS_PORT,
  "imaps_port": $IMAPS_PORT,
  "imap_sent_user": "$IMAP_SENT_USER",
  "imap_items_user": "$IMAP_ITEMS_USER",
  "imap_nosent_user": "$IMAP_NOSENT_USER",
  "postfix_log": "$ROOT/postfix.log"
}
EOF
chmod 0644 "$ROOT/env.json"
say "ready: Postfix $(postconf -h mail_version) on $HOST:$ISP_PORT (ISP)," \
    "$SUBMISSION_PORT (STARTTLS+AUTH), $SMTPS_PORT (TLS+AUTH); Dovecot IMAP on" \
    "$IMAP_STARTTLS_PORT (STARTTLS), $IMAPS_PORT (TLS); env in $ROOT/env.json"
