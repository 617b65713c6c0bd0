#!/bin/bash
# install-test-servers.sh: install the real FTP servers that the integration tests run on
# loopback (package internal/ftpservers). Idempotent; run as root:
#
#   sudo bash scripts/install-test-servers.sh
#
# vsftpd, pure-ftpd, proftpd and inetutils-ftpd all Conflict: ftp-server in Debian, so apt
# installs only one. vsftpd comes from apt (/usr/sbin/vsftpd); pure-ftpd, pure-ftpd-common,
# proftpd-core, proftpd-mod-crypto (proftpd's mod_tls) and inetutils-ftpd are fetched with
# `apt-get download` and unpacked with `dpkg-deb -x` into $FTPMIRROR_TEST_SERVERS (default
# /opt/ftpmirror-test/root), after their libraries are installed with apt. inetutils ftpd has
# no daemon mode worth using: the tests run it from tcpserver (ucspi-tcp). pyftpdlib comes
# from apt (python3-pyftpdlib, with python3-openssl for its FTPS) and runs under
# /usr/bin/python3, Debian's interpreter, whatever python3 comes first on PATH. Nothing is configured under /etc: the tests write their
# own configs. The vsftpd service that the package would start is kept from starting (a
# temporary policy-rc.d), then stopped and disabled should it run anyway.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

PREFIX=${FTPMIRROR_TEST_SERVERS:-/opt/ftpmirror-test/root}
# Unpacked, not installed: their Debian versions must match each other (apt's candidates).
UNPACKED=(pure-ftpd pure-ftpd-common proftpd-core proftpd-mod-crypto inetutils-ftpd)
# Installed with apt: vsftpd; openssl (password hashes); mount and util-linux (pure-ftpd runs
# in a mount namespace); passwd (useradd); and what the unpacked binaries link against
# (their Depends, less the ones about services and debconf); ucspi-tcp (tcpserver runs
# inetutils ftpd); python3-pyftpdlib and python3-openssl; iproute2 and nftables (the NAT test:
# namespaces behind a masquerading router).
INSTALLED=(vsftpd openssl mount util-linux passwd libacl1 libcap2 libcrypt1 libhiredis0.14
  libidn2-0 libmemcached11 libmemcachedutil2 libncursesw6 libpam0g libpcre2-8-0
  libpcre2-posix3 libsodium23 libssl3 libtinfo6 libwrap0 zlib1g ucspi-tcp python3-pyftpdlib
  python3-openssl iproute2 nftables)
APT_OPTS=(-q -y -o DPkg::Lock::Timeout=300 -o Dpkg::Options::=--force-confdef
  -o Dpkg::Options::=--force-confold --no-install-recommends)

say() { echo "install-test-servers: $*"; }
die() { echo "install-test-servers: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (sudo bash $0)"

updated=
apt_update() {
  [ -n "$updated" ] && return 0
  say "apt-get update"
  apt-get -q -o DPkg::Lock::Timeout=300 update </dev/null >/dev/null
  updated=1
}

have_lists() { compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null; }

installed() { dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null | grep -qx installed; }

# policy-rc.d answering 101 keeps maintainer scripts from starting services during apt.
POLICY=/usr/sbin/policy-rc.d
own_policy=
cleanup() { if [ -n "$own_policy" ]; then rm -f "$POLICY"; fi; }
trap cleanup EXIT

apt_install() {
  if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\n# written by ftpmirror scripts/install-test-servers.sh\nexit 101\n' >"$POLICY"
    chmod 755 "$POLICY"
    own_policy=1
  fi
  apt-get "${APT_OPTS[@]}" install "$@" </dev/null >/dev/null
}

missing=()
for p in "${INSTALLED[@]}"; do installed "$p" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  apt_update # lists may be stale: an install from them can 404
  say "apt-get install ${missing[*]}"
  apt_install "${missing[@]}"
fi

# The unpacked tree is complete when its stamp names exactly the packages of UNPACKED.
stamp=$PREFIX/.ftpmirror-packages
if [ -x "$PREFIX/usr/sbin/pure-ftpd" ] && [ -x "$PREFIX/usr/sbin/proftpd" ] &&
  [ -x "$PREFIX/usr/sbin/ftpd" ] &&
  [ "$(cat "$stamp" 2>/dev/null)" = "${UNPACKED[*]}" ]; then
  say "unpacked servers already in $PREFIX"
else
  have_lists || apt_update
  mkdir -p "$(dirname "$PREFIX")"
  tmp=$(mktemp -d "$(dirname "$PREFIX")/.unpack.XXXXXX")
  trap 'cleanup; rm -rf "$tmp"' EXIT
  mkdir "$tmp/debs" "$tmp/root"
  say "apt-get download ${UNPACKED[*]}"
  # APT::Sandbox::User=root: _apt may not write to our temporary directory.
  if ! (cd "$tmp/debs" && apt-get -q -o APT::Sandbox::User=root download "${UNPACKED[@]}" </dev/null >/dev/null); then
    updated= # the lists may name versions the mirror no longer has
    apt_update
    (cd "$tmp/debs" && apt-get -q -o APT::Sandbox::User=root download "${UNPACKED[@]}" </dev/null >/dev/null)
  fi
  for deb in "$tmp"/debs/*.deb; do dpkg-deb -x "$deb" "$tmp/root"; done
  echo "${UNPACKED[*]}" >"$tmp/root/.ftpmirror-packages"
  chmod 755 "$tmp/root"
  rm -rf "$PREFIX"
  mv "$tmp/root" "$PREFIX"
  say "unpacked into $PREFIX: $(cd "$tmp/debs" && echo *.deb)"
fi

# Every server drops privileges to "ftp" (vsftpd, pure-ftpd anonymous, proftpd anonymous);
# pure-ftpd serves anonymous users the home of "ftp", which must exist.
if ! getent passwd ftp >/dev/null; then
  say "creating system user ftp"
  useradd --system --user-group --home-dir /srv/ftp --no-create-home --shell /usr/sbin/nologin ftp
fi
ftphome=$(getent passwd ftp | cut -d: -f6)
if [ ! -d "$ftphome" ]; then
  mkdir -p "$ftphome"
  chmod 755 "$ftphome"
fi
getent group nogroup >/dev/null || die "group nogroup missing"

# The vsftpd package wants a service on port 21 with /etc/vsftpd.conf; the tests start their
# own. Stop and disable it whichever init system there is.
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
  systemctl stop vsftpd.service >/dev/null 2>&1 || true
  systemctl disable vsftpd.service >/dev/null 2>&1 || true
else
  if command -v systemctl >/dev/null; then
    systemctl disable vsftpd.service >/dev/null 2>&1 || true # offline: removes the links
  fi
  if command -v invoke-rc.d >/dev/null; then
    invoke-rc.d vsftpd stop >/dev/null 2>&1 || true
  elif command -v service >/dev/null; then
    service vsftpd stop >/dev/null 2>&1 || true
  fi
  if command -v update-rc.d >/dev/null; then
    update-rc.d vsftpd disable >/dev/null 2>&1 || true
  fi
fi
# Last resort: a vsftpd still running with the stock config (none of ours, whose configs
# live in temporary directories), ended by PID.
for d in /proc/[0-9]*; do
  cmd=$(tr '\0' ' ' <"$d/cmdline" 2>/dev/null) || continue
  case $cmd in
    "/usr/sbin/vsftpd " | "/usr/sbin/vsftpd /etc/vsftpd.conf ")
      say "stopping the vsftpd service (pid ${d#/proc/})"
      kill -TERM "${d#/proc/}" 2>/dev/null || true ;;
  esac
done

say "vsftpd: /usr/sbin/vsftpd ($(dpkg-query -W -f='${Version}' vsftpd))"
say "pure-ftpd: $PREFIX/usr/sbin/pure-ftpd ($("$PREFIX/usr/sbin/pure-ftpd" --help 2>&1 | head -1))"
say "proftpd: $PREFIX/usr/sbin/proftpd ($("$PREFIX/usr/sbin/proftpd" -v 2>&1))"
[ -f "$PREFIX/usr/lib/proftpd/mod_tls.so" ] || die "proftpd mod_tls.so missing in $PREFIX"
say "inetutils ftpd: $PREFIX/usr/sbin/ftpd ($("$PREFIX/usr/sbin/ftpd" --version 2>&1 | head -1)), tcpserver: $(command -v tcpserver)"
say "pyftpdlib: $(/usr/bin/python3 -c 'import pyftpdlib, OpenSSL; print(pyftpdlib.__ver__, "pyOpenSSL", OpenSSL.__version__)')"
