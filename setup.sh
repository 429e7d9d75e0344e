#!/usr/bin/env bash
# Wharf's one entry point for newcomers and CI, on Debian 12 as root:
#   ./setup.sh start           install packages, build, run wharfd on etc/wharf.ini
#   ./setup.sh test            install packages, build, run every test
#   ./setup.sh test-sanitized  the same suite built by clang with ASan+UBSan (in
#                              build-sanitized/); this is the Debug build type, at -O1 for the
#                              suite's speed
#   ./setup.sh build-types     the Release build (build-release/), the Debian packages from it,
#                              and their test
#   ./setup.sh test-tsan       ThreadSanitizer (in build-tsan/): the unit tests and most integration
#                              tests; a race reported in any wharfd process fails its test
#   ./setup.sh fuzz [SECONDS]  the libFuzzer targets (clang, in build-fuzz/), each run for
#                              SECONDS (default 30) from its seed corpus
#   ./setup.sh soak [MINUTES]  bench/soak for MINUTES (default 2): fails if wharfd's memory,
#                              descriptors, threads or plugin copies grow, or a session fails
#   ./setup.sh prepare-examples  what etc/wharf.ini names in /tmp (start does it first)
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(cmake g++ make pkgconf binutils clang-format abigail-tools libpoco-dev libgtest-dev
  libcrypt-dev libssl-dev libcap-ng-dev libsystemd-dev
  python3 socat rdate ntpdate faketime curl wget lftp openssl systemd
  lintian dpkg-dev adduser prometheus logrotate chromium haproxy iproute2 python3-yaml
  clang libclang-rt-14-dev nginx libnginx-mod-stream gnuplot-nox cargo redis-server redis-tools
  man-db)

install_packages() {
  if ! dpkg-query -W -f='${Status}\n' "${PACKAGES[@]}" 2>/dev/null | grep -qv 'install ok installed' &&
    [ "$(dpkg-query -W -f='${Status}\n' "${PACKAGES[@]}" 2>/dev/null | wc -l)" -eq "${#PACKAGES[@]}" ]; then
    return
  fi
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${PACKAGES[@]}"
}

# What etc/wharf.ini's listeners need: the folder its FTP listener serves,
# with a sample file, the one its xfer listener stores files in, and a
# self-signed certificate for its TLS listener (kept once made).
prepare_examples() {
  mkdir -p /tmp/wharf-ftp/pub /tmp/wharf-xfer /tmp/wharf-tls
  echo "Served by Wharf's ftp plugin." > /tmp/wharf-ftp/pub/welcome.txt
  [ -f /tmp/wharf-tls/cert.pem ] && [ -f /tmp/wharf-tls/key.pem ] && return
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost \
    -keyout /tmp/wharf-tls/key.pem -out /tmp/wharf-tls/cert.pem 2>/dev/null
  chmod 600 /tmp/wharf-tls/key.pem
}

build() {
  local dir=$1
  shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWHARF_WERROR=ON "$@"
  cmake --build "$dir" -j"$(nproc)"
}

case "${1:-}" in
  start)
    install_packages
    build build
    prepare_examples
    exec build/bin/wharfd --config etc/wharf.ini
    ;;
  test)
    install_packages
    build build
    # Two at a time: the tests wait on clients and timers more than they
    # compute, and they pick free ports and folders of their own (the whole
    # suite passes so, twice, with both cores kept busy by `yes`).
    ctest --test-dir build --output-on-failure -j2
    ;;
  test-sanitized)
    install_packages
    # clang: it builds this twice as fast as GCC (the plain and package builds are GCC's).
    # Line tables are all a sanitizer's report needs: full debug info costs build time.
    CC=clang CXX=clang++ build build-sanitized -DWHARF_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug \
      -DCMAKE_C_FLAGS_DEBUG="-gline-tables-only -O1" -DCMAKE_CXX_FLAGS_DEBUG="-gline-tables-only -O1"
    # Fewer reloads in a row and shorter churn than the plain run: loading a
    # plugin and serving a session are many times slower under a sanitizer,
    # and the plain run has the full counts.
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      WHARF_FAIL_ON_SANITIZER_REPORT=1 WHARF_RELOADS=50 WHARF_CHURN_SECONDS=5 \
      ctest --test-dir build-sanitized --output-on-failure -j2
    ;;
  build-types)
    install_packages
    build build-release -DCMAKE_BUILD_TYPE=Release -DWHARF_BUILD_TESTS=OFF -DCMAKE_INSTALL_PREFIX=/usr \
      -DWHARF_HARDEN=ON
    (cd tests/package && WHARF_PACKAGE_BUILD=../../build-release python3 -m unittest -v test_package)
    ;;
  test-tsan)
    install_packages
    # -O1 -g1: a third less build time than -O2 -g, and reports keep their file:line.
    build build-tsan -DWHARF_SANITIZE=thread -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
      -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG"
    # handle_segv=0: the tests' deliberately crashing plugins die by SIGSEGV, as without TSan.
    export TSAN_OPTIONS="halt_on_error=1 handle_segv=0" WHARF_FAIL_ON_SANITIZER_REPORT=1
    export WHARF_RELOADS=50 WHARF_CHURN_SECONDS=5  # as for test-sanitized
    ctest --test-dir build-tsan --output-on-failure -j2 -E '^(integration|style|sdk|monitoring|plugins)\.'
    ctest --test-dir build-tsan --output-on-failure -j2 \
      -R '^integration\.test_(echo|reload|wharfctl|proxy_protocol|limits|xfer|plugin_sessions|scheduling|zones|fork|workers|crash_attribution|metrics|balancer|time|churn|stale_handles|plugin_mistakes|supervision|tls|tls_tickets|migration|migration_workers)$'
    ;;
  fuzz)
    install_packages
    CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWHARF_WERROR=ON \
      -DWHARF_FUZZ=ON -DWHARF_BUILD_TESTS=OFF
    cmake --build build-fuzz -j"$(nproc)" --target fuzzers
    tests/fuzz/run --build build-fuzz --seconds "${2:-30}"
    ;;
  prepare-examples)
    prepare_examples
    ;;
  soak)
    install_packages
    build build
    bench/soak --build build --minutes "${2:-2}" --check --out build/soak
    ;;
  *)
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
