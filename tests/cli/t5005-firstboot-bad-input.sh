#!/bin/sh
# t5005-firstboot-bad-input.sh - bad input gives a clear error and leaves
# the system as it was (the transaction undone), and the next run, once the
# input is right, converges: corrupt and truncated state, a missing
# repository, a missing package file, a package the catalog does not list,
# a package signed by an unknown key, a catalog whose signature fails, a
# failing initrd build after the packages went in, an unknown profile.
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
. "$ENLIGHTEN_SRCDIR/tests/fixtures/firstboot/lib.sh"

fb_fixture || skip_all "cannot build the payload fixture (rpmbuild, gpg)"
fb_root template >/dev/null 2>&1 || skip_all "cannot make a test root"
cp -a template ref
fb --root ref --profile kvm-guest >/dev/null 2>&1 || skip_all "cannot activate kvm-guest"
want=$(fb_tree ref)
repo=var/lib/enlighten/repo
state=var/lib/enlighten/state.json

fresh() { rm -rf r; cp -a template r; before=$(fb_tree r); }
retry() { # name: the next run converges
	ok "$1: the next run converges" fb --root r --profile kvm-guest
	fb_same "$1: to the same tree" "$(fb_tree r)" "$want"
}

# State: corrupt or truncated is "unknown", replanned from scratch.
for kind in corrupt truncated; do
	rm -rf r
	cp -a ref r
	if [ $kind = corrupt ]; then printf '\001\002 not json' >r/$state; else head -c 20 ref/$state >r/$state; fi
	ok "$kind state: the run goes on" fb --root r --profile kvm-guest
	like "$kind state: says so" "$(last_output)" "state '/$state' is corrupt: .*planning from scratch"
	fb_same "$kind state: tree as converged" "$(fb_tree r)" "$want"
	is "$kind state: state rewritten" "$(fb_state r)" '"profile": "kvm-guest" "result": "complete" "journal": null '
done

fresh
mv r/$repo r/repo.away
exits 1 "missing repository: refused" fb --root r --profile kvm-guest
like "missing repository: clear error" "$(last_output)" "repository '/$repo' is missing"
fb_same "missing repository: nothing changed" "$(fb_tree r | grep -v repo.away)" "$(echo "$before" | grep -v "$repo")"
mv r/repo.away r/$repo
retry "missing repository"

fresh
mv r/$repo/linux/qemu-guest-agent-1.0-1.noarch.rpm r/qga.rpm
exits 1 "missing package: refused" fb --root r --profile kvm-guest
like "missing package: clear error" "$(last_output)" "package 'qemu-guest-agent' is missing from the repository"
fb_same "missing package: nothing changed, rpmdb included" "$(fb_tree r | grep -v qga.rpm)" \
	"$(echo "$before" | grep -v qemu-guest-agent-1.0-1.noarch.rpm)"
like "missing package: state says failed" "$(fb_state r)" '"result": "failed"'
mv r/qga.rpm r/$repo/linux/qemu-guest-agent-1.0-1.noarch.rpm
retry "missing package"

# The catalog does not list a package the profile names.
fresh
cp r/$repo/catalog.json r/good.json
cp r/$repo/catalog.json.minisig r/good.sig
sed -i 's/,{"name":"qemu-guest-agent"[^}]*}}//' r/$repo/catalog.json
enlighten payload sign --key "$FB_FX/keys/test.key" r/$repo/catalog.json >/dev/null 2>&1
before=$(fb_tree r)
exits 1 "package not in the catalog: refused" fb --root r --profile kvm-guest
like "package not in the catalog: clear error" "$(last_output)" \
	"package 'qemu-guest-agent' of profile 'kvm-guest' is not installed and not in the repository"
fb_same "package not in the catalog: nothing changed" "$(fb_tree r)" "$before"
mv r/good.json r/$repo/catalog.json
mv r/good.sig r/$repo/catalog.json.minisig
retry "package not in the catalog"

# A package signed by a key the rpmdb does not trust, in a catalog that
# lists it correctly (so only the rpm signature can catch it).
fresh
pkg=$repo/linux/qemu-guest-agent-1.0-1.noarch.rpm
cp r/$pkg r/good.rpm
cp r/$repo/catalog.json r/good.json
cp r/$repo/catalog.json.minisig r/good.sig
cp "$FB_FX/bad.rpm" r/$pkg
old_sum=$(sha256sum <r/good.rpm | cut -d' ' -f1) new_sum=$(sha256sum <r/$pkg | cut -d' ' -f1)
old_len=$(stat -c %s r/good.rpm) new_len=$(stat -c %s r/$pkg)
sed -i "s/\"length\":$old_len,\"sha256\":\"$old_sum\"/\"length\":$new_len,\"sha256\":\"$new_sum\"/" r/$repo/catalog.json
enlighten payload sign --key "$FB_FX/keys/test.key" r/$repo/catalog.json >/dev/null 2>&1
before=$(fb_tree r)
exits 1 "bad package signature: refused" fb --root r --profile kvm-guest
like "bad package signature: clear error" "$(last_output)" "qemu-guest-agent-1.0-1.noarch.rpm' does not verify"
fb_same "bad package signature: nothing changed, rpmdb included" "$(fb_tree r)" "$before"
mv r/good.rpm r/$pkg
mv r/good.json r/$repo/catalog.json
mv r/good.sig r/$repo/catalog.json.minisig
retry "bad package signature"

fresh
sed -i 's/"version":1,/"version":2,/' r/$repo/catalog.json
exits 1 "catalog with a failing signature: refused" fb --root r --profile kvm-guest
like "catalog with a failing signature: clear error" "$(last_output)" "repository '/$repo': .*signature"
fb_same "catalog with a failing signature: nothing changed" "$(fb_tree r)" "$(echo "$before" | sed "s|^F ./$repo/catalog.json .*|$(fb_tree r | grep "^F ./$repo/catalog.json ")|")"
cp template/$repo/catalog.json r/$repo/catalog.json
retry "catalog with a failing signature"

# The packages go in, then the initrd build fails: everything is undone.
fresh
exits 1 "failing initrd build: refused" env ENLIGHTEN_TEST_DRACUT_FAIL=1 enlighten-firstboot --root r --profile kvm-guest
like "failing initrd build: clear error" "$(last_output)" "initrd rebuild with 'dracut' failed: dracut: failing as asked"
fb_same "failing initrd build: packages, files and units undone" "$(fb_files r)" \
	"$(echo "$before" | grep -v '^D ')"
retry "failing initrd build"

fresh
exits 2 "unknown profile: refused" fb --root r --profile hyperv-gust
like "unknown profile: suggests one" "$(last_output)" "unknown profile 'hyperv-gust' \(did you mean 'hyperv-guest'\?\)"
fb_same "unknown profile: nothing changed" "$(fb_tree r)" "$before"
ok "unknown profile: no state written" test ! -e r/$state
retry "unknown profile"

done_testing
