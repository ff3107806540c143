#!/bin/sh
# t7100-boot-test-boot.sh - real boots under QEMU/OVMF (slow: skipped with
# ENLIGHTEN_SKIP_BOOT=1). The disk is made here: GPT, an ESP with
# systemd-boot, the host's Debian kernel and a busybox initramfs standing in
# for the agent (tests/fixtures/make-boot-image.sh). Covers: kvm detected
# (not forced), the second boot's fast path, a forced identity and the
# migration back, the image left unchanged, JSON, a failing boot that
# keeps its console log, and the stages each boot reached (a kernel that
# panics: the stage and its line). On failure the logs are copied to
# $ENLIGHTEN_BUILDDIR/test-logs/ and their path printed.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"

[ "${ENLIGHTEN_SKIP_BOOT:-0}" = 1 ] && skip_all "ENLIGHTEN_SKIP_BOOT=1"
command -v qemu-system-x86_64 >/dev/null || skip_all "qemu-system-x86_64 missing"
[ -r /usr/share/OVMF/OVMF_CODE.fd ] || skip_all "OVMF missing"
"$FIXTURES/make-boot-image.sh" disk.raw >mk.log 2>&1
rc=$?
[ $rc -eq 77 ] && skip_all "$(cat mk.log)"
[ $rc -eq 0 ] || { echo "not ok 1 - make the boot fixture"; sed 's/^/#   /' mk.log; echo "1..1"; exit 1; }

logs_kept=$ENLIGHTEN_BUILDDIR/test-logs/t7100
rm -rf "$logs_kept"
keep_on_failure() { # name status
	[ "$2" -eq 0 ] && return 0
	mkdir -p "$logs_kept/$1"
	cp -r logs-"$1"/. "$logs_kept/$1/" 2>/dev/null
	echo "#   console logs kept in $logs_kept/$1"
}

before=$(sha256sum disk.raw)

# 1. kvm: detected from what QEMU shows (never forced), twice: fast path.
# This run probes KVM (--accel auto); the others use TCG, to stay quick where
# KVM opens but cannot run guests.
# The stand-in has no QEMU guest agent: --line-only everywhere but in 6.
ok "boot as kvm twice" enlighten boot-test disk.raw --as kvm --boots 2 --timeout 120 \
	--keep-log logs-kvm --line-only
keep_on_failure kvm $?
out=$(last_output)
like "first boot activates kvm-guest, detected" "$out" "result: PASS: kvm-guest activated, detected \(hypervisor=(kvm|qemu) role=guest\), changed=yes"
like "second boot takes the fast path" "$out" "boot 2/2 as kvm.*
.*changed=no
  result: PASS: kvm-guest activated, detected \(hypervisor=(kvm|qemu) role=guest\), changed=no"
like "reports the time to the agent's line" "$out" "time: +[0-9]+\.[0-9] s to the agent's line"
like "reports the accelerator" "$out" "accelerator (kvm|tcg)"
like "overall pass" "$out" "boot-test: PASS, 2 of 2 boots matched"
like "says that only the line was checked" "$out" "not asked \(--line-only\): the summary line is all that was checked"
like "without the guest agent, what the console says of the agent's work" "$out" "changes: not read \(no guest agent\), and the console has no line of the agent's but its summary"
like "the stages the console showed, timed" "$out" "stages: firmware 0\.0 s, boot loader [0-9]+\.[0-9] s, agent's line [0-9]+\.[0-9] s"
unlike "stdout is no terminal: no stage line redrawn" "$out" "$(printf '\r')"
unlike "and no stage lines without -v" "$out" "stage:  "
ok "console log kept with --keep-log" test -s logs-kvm/boot-1-kvm.console.log
like "the console log holds the agent's line" "$(cat logs-kvm/boot-1-kvm.console.log)" "enlighten: hypervisor="

# 2. hyperv then kvm, as JSON: forced under TCG, then migration back.
enlighten boot-test disk.raw --as hyperv --then kvm --json --timeout 120 --keep-log logs-move --accel tcg \
	--line-only \
	>move.json 2>move.err
rc=$?
is "boot as hyperv then kvm exits 0" $rc 0
keep_on_failure move $rc
[ $rc -eq 0 ] || sed 's/^/#   /' move.err
j() { jq -r "$1" move.json; }
is "json: result pass" "$(j .result)" pass
accel=$(j .accelerator)
if [ "$accel" = tcg ]; then
	is "hyperv under TCG is forced" "$(j '.boots[0].forced')" true
	is "forced boot is a direct kernel boot" "$(j '.boots[0].mode')" direct
	is "the agent says forced=yes" "$(j '.boots[0].agent.forced')" true
fi
is "hyperv boot activates hyperv-guest" "$(j '.boots[0].agent.profile')" hyperv-guest
is "kvm after hyperv is not forced" "$(j '.boots[1].forced')" false
is "migration back activates kvm-guest" "$(j '.boots[1].agent.profile')" kvm-guest
is "migration reports changed=yes" "$(j '.boots[1].agent.changed')" yes
is "the image itself is unchanged" "$(sha256sum disk.raw)" "$before"
is "json: the stage reached is past the agent's line" "$(j '.boots[0].stage_reached' | grep -cE '^(agent|shutdown)$')" 1
is "json: the firmware at power-on" "$(j '.boots[0].stages.firmware')" 0
like "json: the agent's line timed" "$(j '.boots[1].stages.agent')" "^[0-9.]+$"
is "json: the agent's line time is the summary's" "$(j '.boots[1].stages.agent == .boots[1].seconds_to_summary')" true

# 3. A boot that does not report in time fails, keeps its log, says where.
exits 1 "no summary within the timeout fails with 1" enlighten boot-test disk.raw --as kvm --timeout 1 --accel tcg --line-only
out=$(last_output)
like "says what failed" "$out" "result: FAIL: no agent summary line within 1 s"
like "says the stage it reached" "$out" "reached: firmware, at 0\.0 s"
unlike "no time to an agent's line that never came" "$out" "s to the agent's line"
like "says there was no line" "$out" "time:   no agent line; [0-9.]+ s in all"
like "prints where the logs are" "$out" "console logs kept in /"
dir=$(printf '%s\n' "$out" | sed -n 's/^boot-test: console logs kept in //p')
ok "the failed boot's console log is there" test -f "$dir/boot-1-kvm.console.log"
ok "the overlay is not left behind" test ! -e "$dir/overlay.qcow2"
[ -n "$dir" ] && rm -rf "$dir"

# 4. An agent that fails: the report shows what the console said about it.
"$FIXTURES/make-boot-image.sh" fail.raw --fail >mk.log 2>&1
exits 1 "an agent without a summary line fails with 1" enlighten boot-test fail.raw --as kvm \
	--timeout 120 --keep-log logs-fail --accel tcg --line-only
out=$(last_output)
like "says the guest stopped before the summary" "$out" "result: FAIL: the guest stopped \(QEMU exit 0\) before the agent's summary line"
like "shows the agent's error from the console" "$out" "console: enlighten-firstboot: cannot plan profile kvm-guest: test failure"
like "prints the --keep-log directory" "$out" "console logs kept in logs-fail"

# 4b. A kernel that panics: the report names the stage and the panic, -v
# prints each stage as it comes.
"$FIXTURES/make-boot-image.sh" panic.raw --panic >mk.log 2>&1
enlighten boot-test panic.raw --as kvm --timeout 120 --accel tcg --line-only --json -v \
	>panic.json 2>panic.err
is "a kernel panic fails with 1" $? 1
out=$(cat panic.err)
like "-v: the loader's stage, with its line" "$out" "stage:  boot loader +at +[0-9.]+ s: BdsDxe: starting Boot0001"
like "-v: the kernel's stage, with its line" "$out" "stage:  kernel +at +[0-9.]+ s: EFI stub: "
like "the stage it reached" "$out" "reached: kernel, at [0-9.]+ s: EFI stub: "
like "the line that stopped it" "$out" "stopped: \[ *[0-9.]+\] Kernel panic - not syncing: "
like "the console's last lines" "$out" "last:   \[ *[0-9.]+\] Kernel Offset: "
unlike "no time to an agent's line" "$out" "s to the agent's line"
is "json: stage_reached kernel" "$(jq -r '.boots[0].stage_reached' panic.json)" kernel
is "json: no userspace, no agent's line" "$(jq -r '[.boots[0].stages.userspace, .boots[0].stages.agent] | map(tostring) | join(" ")' panic.json)" "null null"
dir=$(jq -r .log_dir panic.json)
[ -n "$dir" ] && [ "$dir" != null ] && rm -rf "$dir"

# 5. QEMU does not outlive boot-test, even when it is killed outright.
mkdir -p tmp
TMPDIR=$TEST_DIR/tmp enlighten boot-test disk.raw --as kvm --accel tcg --line-only >kill.out 2>&1 &
bt=$!
sleep 3
kill -9 $bt 2>/dev/null
wait $bt 2>/dev/null
sleep 1
left=$(pgrep -f "file=$TEST_DIR/tmp/enlighten-boot-test" | tr '\n' ' ')
is "no QEMU left after kill -9 of boot-test" "$left" ""
[ -n "$left" ] && kill -9 $left 2>/dev/null

# 6. Without --line-only a guest must answer through the QEMU guest agent:
# a right summary line alone is no pass.
exits 1 "a guest without the QEMU guest agent fails" enlighten boot-test disk.raw --as kvm \
	--timeout 120 --accel tcg
out=$(last_output)
like "the line itself matched" "$out" "agent:  enlighten: hypervisor=(kvm|qemu) role=guest profile=kvm-guest"
like "says the guest agent did not answer, and what to do" "$out" "result: FAIL: the QEMU guest agent did not answer .*--line-only"

done_testing
