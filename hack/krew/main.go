// Command krew renders the .krew.yaml template as krew-release-bot does and
// checks krew plugin manifests against krew's rules: the name, a version
// with a leading v, platforms with os and arch selectors, a uri, a sha256
// and a bin each, the six platforms of a release, files that install the
// binary and kubectl's completion script (kubectl_complete-<name>), and,
// with --archives, that each archive's checksum matches and that it holds
// the binary, the completion script and every file named.
//
//	go run ./hack/krew render --tag v1.2.3 --archives dist .krew.yaml > manifest.yaml
//	go run ./hack/krew validate --archives dist dist/krew/sdr-mirror.yaml manifest.yaml
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "krew:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: krew render|validate [flags] FILE")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	archives := fs.String("archives", "", "directory holding the release archives the manifests name")
	tag := fs.String("tag", "", "release tag to render the template with")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	switch args[0] {
	case "render":
		if fs.NArg() != 1 || *tag == "" || *archives == "" {
			return errors.New("usage: krew render --tag vX.Y.Z --archives DIR .krew.yaml")
		}
		tmpl, err := os.ReadFile(fs.Arg(0))
		if err != nil {
			return err
		}
		out, err := Render(string(tmpl), *tag, *archives)
		if err != nil {
			return fmt.Errorf("rendering %s: %w", fs.Arg(0), err)
		}
		_, err = os.Stdout.Write(out)
		return err
	case "validate":
		if fs.NArg() == 0 {
			return errors.New("usage: krew validate [--archives DIR] MANIFEST [MANIFEST]")
		}
		for _, f := range fs.Args() {
			data, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			if err := Validate(data, *archives); err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			fmt.Printf("%s: valid krew manifest\n", f)
		}
		return nil
	}
	return fmt.Errorf("unknown command %q: want render or validate", args[0])
}
