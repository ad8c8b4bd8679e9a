package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/fixture"
)

// airGap is the demo's last act: export on the connected side, cut it off,
// verify and import inside. step runs the binary and returns its exit code
// and output; every step's code and output are checked, and the first one
// that is not as expected is returned as an error.
func airGap(f *fixture.Fixture, dir string, paths *[]string, step func(title string, args ...string) (int, string)) error {
	// The bundle and the trusted root are named relative to dir, where
	// step runs the binary; its output then names them as the commands do.
	bundle, root := "bundle", filepath.Base(f.TrustedRoot)
	inside := filepath.Join(dir, "inside-bucket")
	if err := os.MkdirAll(inside, 0o700); err != nil {
		return err
	}
	*paths = append(*paths, inside)
	fmt.Printf(`
=== Across an air gap
Now the same images go to a network with no route to Docker Hub or Atlan: a
connected machine writes a bundle, the bundle crosses, and the inside imports
it, checking every signature again against a trusted root it got on its own.
`)
	expect := func(code int, want, title string, args ...string) error {
		got, out := step(title, args...)
		if got != code {
			return fmt.Errorf("%s exited %d, want %d", args[0], got, code)
		}
		if !regexp.MustCompile(want).MatchString(out) {
			return fmt.Errorf("%s printed no line matching %q", args[0], want)
		}
		return nil
	}

	// The unsigned app is needed but not verified: the export leaves it out
	// and exits 1, as sync does.
	if err := expect(1, `(?m)^bundle .*: 2 images`,
		"Connected side: verify and export the needed images (the unsigned app is left out)",
		"sync", "--to-bundle", bundle, "--atlan-url", f.AtlanURL, "--registry-mirror", "docker.io="+f.Source,
		"--trusted-root", root); err != nil {
		return err
	}

	fmt.Printf("\n== Cross the gap: stop the Docker Hub stand-in and latest-releases\n")
	f.StopConnected()
	for _, host := range []string{f.Source, strings.TrimPrefix(f.AtlanURL, "http://")} {
		if c, err := net.DialTimeout("tcp", host, time.Second); err == nil {
			_ = c.Close()
			return fmt.Errorf("%s still answers after being stopped", host)
		}
	}
	fmt.Println("$HUB and $ATLAN_URL now refuse connections; inside are only $REGISTRY, the bundle and trusted_root.json.")

	if err := expect(0, `checksums ok, 2 images`,
		"Inside: check the bundle offline, against the trusted root obtained apart from it",
		"verify", "--bundle", bundle, "--trusted-root", root); err != nil {
		return err
	}
	// The bundle's needed set still names the unsigned app: the import
	// reports it missing and exits 1, after mirroring and mapping the rest.
	if err := expect(1, `(?m)^sync: 2 verified, 2 copied; wrote the image map: 2 added`,
		"Inside: verify again, mirror and map from the bundle (the unsigned app is reported missing)",
		"sync", "--from-bundle", bundle, "--bucket", "file://"+inside, "--image-map-path", "sdr/image-map.yaml",
		"--target", f.Dest+"/inside", "--trusted-root", root); err != nil {
		return err
	}
	return expect(0, `(?s)atlan-postgres-app": "`+regexp.QuoteMeta(f.Dest)+`/inside/atlan-postgres-app".*atlan-teradata-app": "`+regexp.QuoteMeta(f.Dest)+`/inside/atlan-teradata-app"`,
		"The image map inside",
		"map", "get", "--raw", "--bucket", "file://"+inside, "--image-map-path", "sdr/image-map.yaml")
}
