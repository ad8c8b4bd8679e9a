// Command demo runs the whole mirroring loop on loopback, with nothing but
// this machine: a source registry standing in for Docker Hub with three
// Atlan-style apps (two signed keyless, one unsigned), an empty private
// registry, Atlan's latest-releases endpoint and a file:// bucket for the
// SDR's image map. It runs diff, sync, diff again and shows the map and its
// lock file. Then it crosses an air gap: it exports the verified images to
// a bundle, stops the source registry and the latest-releases endpoint,
// verifies the bundle and imports it into a second repository prefix and a
// second bucket, and shows that map. Last it stops everything and removes
// its files; any step of the air gap going wrong makes it exit 1.
//
//	go run ./hack/demo [path/to/kubectl-sdr_mirror]
package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/sdr-mirror/kubectl-sdr-mirror/internal/fixture"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	bin := "bin/kubectl-sdr_mirror"
	if len(os.Args) > 1 {
		bin = os.Args[1]
	}
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "sdr-mirror-demo")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	f, err := fixture.Start(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Publish(
		fixture.App{Name: "atlan-teradata-app", Version: "3.1.4"},
		fixture.App{Name: "atlan-postgres-app", Version: "2.0.1"},
		fixture.App{Name: "atlan-sketchy-app", Version: "0.9.0", Unsigned: true},
	); err != nil {
		return err
	}
	bucket := filepath.Join(dir, "bucket")
	if err := os.MkdirAll(bucket, 0o700); err != nil {
		return err
	}
	fmt.Printf(`kubectl-sdr-mirror demo, all on 127.0.0.1:
  Docker Hub stand-in   %s   (3 apps; atlan-sketchy-app is unsigned)
  private registry      %s   (empty)
  latest-releases       %s
  image map bucket      file://%s, key sdr/image-map.yaml
`, f.Source, f.Dest, f.AtlanURL, bucket)

	env := append(os.Environ(), "ATLAN_API_TOKEN="+f.Token)
	common := []string{
		"--atlan-url", f.AtlanURL,
		"--registry-mirror", "docker.io=" + f.Source,
		"--bucket", "file://" + bucket, "--image-map-path", "sdr/image-map.yaml",
		"--target", f.Dest + "/atlan",
		"--trusted-root", f.TrustedRoot,
	}
	paths := []string{bucket}
	step := func(title string, args ...string) (int, string) {
		fmt.Printf("\n== %s\n$ kubectl sdr-mirror %s\n", title, strings.Join(shorten(args, f, paths), " "))
		var out bytes.Buffer
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir // the air gap names its bundle and trusted root relative to it
		w := io.MultiWriter(os.Stdout, &out)
		cmd.Env, cmd.Stdout, cmd.Stderr = env, w, w
		if err := cmd.Run(); err != nil {
			code := cmd.ProcessState.ExitCode()
			fmt.Printf("(exit status %d)\n", code)
			return code, out.String()
		}
		return 0, out.String()
	}
	step("What does the SDR need that is not mirrored yet?", append([]string{"diff"}, common...)...)
	step("Verify, mirror and map it (the unsigned app is refused)", append([]string{"sync"}, common...)...)
	step("And now?", append([]string{"diff"}, common...)...)
	step("The image map the SDR reads", "map", "get", "--raw", "--bucket", "file://"+bucket, "--image-map-path", "sdr/image-map.yaml")
	step("What the SDR will pull for the teradata app", "resolve", "docker.io/atlanhq/atlan-teradata-app:3.1.4", "--bucket", "file://"+bucket, "--image-map-path", "sdr/image-map.yaml")
	lock, err := os.ReadFile(filepath.Join(bucket, "sdr", "image-map.yaml.lock.json"))
	if err == nil {
		fmt.Printf("\n== Provenance beside the map (sdr/image-map.yaml.lock.json)\n%s", lock)
	}
	if err := airGap(f, dir, &paths, step); err != nil {
		return fmt.Errorf("air gap: %w", err)
	}
	fmt.Println("\ndemo done; registries stopped and files removed.")
	return nil
}

// shorten replaces long loopback values with names, for reading: the
// registries, the endpoint, the trusted root and paths, each path by its
// base name in capitals ($BUCKET, $BUNDLE, …).
func shorten(args []string, f *fixture.Fixture, paths []string) []string {
	pairs := []string{f.Source, "$HUB", f.Dest, "$REGISTRY", f.AtlanURL, "$ATLAN_URL", f.TrustedRoot, "trusted_root.json"}
	for _, p := range paths {
		pairs = append(pairs, p, "$"+strings.ToUpper(strings.ReplaceAll(filepath.Base(p), "-", "_")))
	}
	r := strings.NewReplacer(pairs...)
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = r.Replace(a)
	}
	return out
}
